"""Every command's ``--help`` as a person sees it: values as values, flags bare, CALL_ID plain."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from chirp_async import AsyncChirp
from chirp_async.defaults import BASE_URL as DEFAULT_BASE_URL

from .helpers import SECRET_KEY, WAIT, subprocess_env

COMMANDS = [(), ("calls",), ("calls", "get"), ("calls", "get-many"), ("mock",), ("mock", "serve")]
COMMANDS.append(("demo",))
WIDE = "300"  # columns: no option's help wraps, so each one reads as one line


def render_help(*command: str) -> str:
    """``python -m chirp_async COMMAND --help`` as a real process on a wide, plain terminal."""
    env = subprocess_env({"COLUMNS": WIDE, "TERM": "dumb", "NO_COLOR": "1"})
    env.pop("FORCE_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "chirp_async", *command, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def option_row(help_text: str, option: str) -> str:
    """The help panel's row for ``option``, without the box drawing and padding."""
    for line in help_text.splitlines():
        cells = line.strip("│ ").split()
        if option in cells:
            return " ".join(cells)
    raise AssertionError(f"{option} is not in the help:\n{help_text}")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_shows_flags_bare_and_no_braces(command: tuple[str, ...]) -> None:
    text = render_help(*command)

    assert "<bool>" not in text
    (usage,) = [line for line in text.splitlines() if "Usage: chirp-async" in line]
    assert "{" not in usage
    assert option_row(text, "--help") == "--help -h Show this message and exit."
    assert "\x1b" not in text


def test_top_level_help_renders_the_default_url_and_the_options() -> None:
    text = render_help()

    assert f"[default: {DEFAULT_BASE_URL}]" in text
    assert "https, api" not in text
    assert option_row(text, "--base-url").startswith(
        f"--base-url URL API root [default: {DEFAULT_BASE_URL}]."
    )
    assert option_row(text, "--api-key").startswith("--api-key KEY App key")
    assert option_row(text, "--allow-insecure-http").startswith(
        "--allow-insecure-http Allow a plain http:// base URL"
    )
    assert option_row(text, "--timeout").startswith("--timeout SECONDS Seconds per attempt")
    assert option_row(text, "--max-retries").startswith("--max-retries N [x>=0] Retries")
    assert option_row(text, "--version") == "--version Print the version and exit."
    assert "[env var: CHIRP_LOG]" in text
    assert SECRET_KEY not in text


def test_the_default_url_in_the_help_is_the_sdks() -> None:
    assert AsyncChirp(SECRET_KEY).base_url == DEFAULT_BASE_URL


def test_top_level_help_lists_every_exit_status() -> None:
    text = " ".join(render_help().split())

    assert (
        "Exit status: 0 success; 1 the API call failed (get-many: some IDs failed); 2 usage "
        "error; 3 the API rejected the key (nothing more was sent); 130 Ctrl-C; 141 stdout "
        "was closed early (| head)."
    ) in text


def test_calls_get_help_names_call_id_plainly_and_lists_exit_3() -> None:
    text = render_help("calls", "get")

    assert re.search(r"Usage: chirp-async calls get \[OPTIONS\] CALL_ID\s*$", text, re.M)
    assert "3 when the API rejected the key (401, or 403 for a restricted account)" in " ".join(
        text.split()
    )


def test_get_many_help_describes_comments_and_every_exit_status() -> None:
    text = " ".join(render_help("calls", "get-many").split())

    assert "'#' starts a comment anywhere on a line" in text
    assert '"request_id": ...' in text
    assert (
        "Exit status: 0 when every ID succeeded; 1 when some failed; 2 for usage errors; 3 "
        "when the API rejected the key (401, or 403 for a restricted account); 130 on Ctrl-C"
    ) in text
    assert "141 when stdout was closed early (| head), quietly." in text


def test_mock_serve_help_names_values_and_explains_the_rate_limit() -> None:
    text = render_help("mock", "serve")

    assert option_row(text, "--rate-limit").startswith(
        "--rate-limit N/WINDOW Enforce a rate limit, e.g. 20/1s, 120/60s or 120/1m:"
    )
    assert option_row(text, "--missing").startswith("--missing CALL_ID Answer 404")
    assert option_row(text, "--host").startswith("--host ADDRESS Address to listen on")
    assert "[default: 127.0.0.1]" in text
