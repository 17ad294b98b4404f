"""The public surface: __all__, public module paths, version, py.typed."""

from __future__ import annotations

import re
import types
from pathlib import Path

import chirp_async

PACKAGE_DIR = Path(chirp_async.__file__).parent


def test_all_is_sorted() -> None:
    assert chirp_async.__all__ == sorted(chirp_async.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(set(chirp_async.__all__)) == len(chirp_async.__all__)


def test_every_name_in_all_is_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from chirp_async import *", namespace)
    for name in chirp_async.__all__:
        assert getattr(chirp_async, name) is namespace[name]


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(chirp_async).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(chirp_async.__all__) - {"__version__"}


def test_public_classes_report_the_public_module() -> None:
    classes = [
        value
        for name in chirp_async.__all__
        if isinstance(value := getattr(chirp_async, name), type)
    ]
    # everything but __version__ and the one function, rejects_key
    assert len(classes) == len(chirp_async.__all__) - 2
    for cls in classes:
        assert cls.__module__ == "chirp_async", cls


def test_the_version_is_the_one_the_build_reads_from_version_py() -> None:
    text = (PACKAGE_DIR / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    assert match is not None
    assert chirp_async.__version__ == match.group(1)


def test_version_is_pep440_like() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?", chirp_async.__version__)


def test_package_ships_py_typed_marker() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()
