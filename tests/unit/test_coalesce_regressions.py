"""Regression tests: coalesce bugs found by the unit suite (each failed before its fix)."""

from __future__ import annotations

from chirp_async._coalesce import copy_exception


def test_copies_do_not_share_the_notes_list() -> None:
    original = ValueError("boom")
    vars(original)["__notes__"] = ["added by the work"]  # what add_note() does (3.11+)
    first, second = copy_exception(original), copy_exception(original)
    vars(first)["__notes__"].append("added by follower 1")
    assert vars(original)["__notes__"] == ["added by the work"]
    assert vars(second)["__notes__"] == ["added by the work"]


def test_copy_of_an_os_error_keeps_its_filename() -> None:
    original = FileNotFoundError(2, "No such file or directory", "calls.csv")
    clone = copy_exception(original)
    assert clone.filename == "calls.csv"  # actual: None
    assert str(clone) == str(original)  # actual: "[Errno 2] No such file or directory"


def test_copy_of_a_unicode_decode_error_keeps_its_attributes() -> None:
    try:
        b"\xff".decode()
    except UnicodeDecodeError as exc:
        original = exc
    clone = copy_exception(original)
    assert (clone.encoding, clone.start, clone.end) == ("utf-8", 0, 1)  # actual: (None, 0, 0)
    assert str(clone) == str(original)  # actual: ""
