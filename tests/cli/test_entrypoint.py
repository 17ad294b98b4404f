"""How the command starts: ``python -m``, the console script, and the missing ``cli`` extra."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

import chirp_async
from chirp_async.cli import INSTALL_HINT, main

from .helpers import WAIT, invoke, run_cli, subprocess_env


@pytest.mark.parametrize("blocked", ["typer", "rich"])
def test_without_the_cli_extra_prints_one_install_line_and_exits_2(blocked: str) -> None:
    code = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from chirp_async.cli import main\n"
        "main(['calls', 'get', 'call_2DbBs7GWhGvVNJGrDXr5RG0mBWI'])\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env({}),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == INSTALL_HINT + "\n"
    assert "pip install -e '.[cli]'" in result.stderr


def test_without_typer_in_process_the_hint_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "typer", None)
    monkeypatch.delitem(sys.modules, "chirp_async.cli._app", raising=False)

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    assert exit_info.value.code == 2
    assert capsys.readouterr() == ("", INSTALL_HINT + "\n")


def test_an_unrelated_missing_module_is_not_blamed_on_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "chirp_async.cli._app", None)

    with pytest.raises(ModuleNotFoundError):
        main(["--help"])


def test_python_dash_m_runs_the_cli() -> None:
    result = run_cli(["--version"])

    assert result.returncode == 0
    assert result.stdout == f"chirp-async {chirp_async.__version__}\n"


def test_main_runs_the_app_and_exits_with_its_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"chirp-async {chirp_async.__version__}\n"


def test_console_script_points_at_main() -> None:
    scripts = metadata.entry_points(group="console_scripts")

    assert [ep.value for ep in scripts if ep.name == "chirp-async"] == ["chirp_async.cli:main"]


def test_help_lists_the_commands_and_global_options() -> None:
    result = invoke(["--help"])

    assert result.exit_code == 0
    for text in ("calls", "mock", "demo", "--api-key", "CHIRP_API_KEY", "--log-level"):
        assert text in result.stdout


@pytest.mark.parametrize("group", ["calls", "mock"])
def test_group_help_lists_its_commands(group: str) -> None:
    result = invoke([group, "--help"])

    assert result.exit_code == 0
    assert "serve" in result.stdout if group == "mock" else "get-many" in result.stdout
