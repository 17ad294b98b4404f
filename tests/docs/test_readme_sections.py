"""README prose that states facts about the code: the Call model's leniency, the pytest
configuration it recommends, the CLI's exit statuses and the examples' arguments."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any, Final

import msgspec
import pytest
from readme_blocks import REPO, Block, code_spans, parse_blocks, read_readme

from chirp_async import Call
from chirp_async.cli import _runtime as runtime
from chirp_async.testing import generate_call

TEXT: Final = read_readme()
BLOCKS: Final = parse_blocks(TEXT)
MODEL: Final = "The `Call` model"
TESTING: Final = "Testing your code with the mock server"
COMMAND_LINE: Final = "Command line"
LENIENT: Final = "decode as `None`"
STRICT: Final = "is not guessed"


def section(heading: str) -> str:
    """The README's text under ``## heading``, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", TEXT, re.M | re.S)
    assert match is not None, f"no section {heading!r}"
    return match[1]


def sentence_with(text: str, marker: str) -> str:
    (found,) = [s for s in re.split(r"(?<=[.:])\s+(?=[A-Z])", text) if marker in s]
    return found


def wire_fields() -> tuple[set[str], set[str]]:
    """The Call's camelCase fields that have a default, and those that are required."""
    info = msgspec.inspect.type_info(Call)
    assert isinstance(info, msgspec.inspect.StructType)
    optional = {f.encode_name for f in info.fields if not f.required}
    required = {f.encode_name for f in info.fields if f.required}
    return optional, required


def test_model_section_lists_exactly_the_fields_that_may_be_missing() -> None:
    text = " ".join(section(MODEL).split())
    optional, required = wire_fields()

    lenient = set(code_spans(sentence_with(text, LENIENT))) - {"None", "null", "{}"}
    strict = set(code_spans(sentence_with(text, STRICT))) - {"APIResponseValidationError", "null"}

    assert lenient == optional
    assert strict == required


@pytest.mark.parametrize("missing", sorted(wire_fields()[0]))
def test_a_body_without_a_nullable_field_decodes(missing: str) -> None:
    body = generate_call("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
    del body[missing]

    call = msgspec.json.decode(msgspec.json.encode(body), type=Call)

    expected: Any = {} if missing == "metadata" else None
    assert msgspec.to_builtins(call)[missing] == expected


def test_the_model_methods_the_readme_names_exist_or_are_awaited() -> None:
    names = {span for span in code_spans(section(MODEL)) if span.startswith("call.to_")}
    assert names == {"call.to_dict()", "call.to_json()"}


def test_to_dict_and_to_json_give_the_apis_json() -> None:
    body = generate_call("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
    call = msgspec.json.decode(msgspec.json.encode(body), type=Call)

    assert call.to_dict() == body
    assert list(call.to_dict()) == list(body)  # the API's key order
    assert call.to_json() == msgspec.json.encode(body)


def toml_blocks() -> list[Block]:
    return [block for block in BLOCKS if block.language == "toml"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_the_pytest_configuration_is_valid_and_is_what_this_project_uses() -> None:
    if sys.version_info >= (3, 11):  # for mypy, which checks against Python 3.10
        import tomllib

        (block,) = toml_blocks()
        assert block.heading == TESTING
        readme = tomllib.loads(block.code)["tool"]["pytest"]["ini_options"]
        with (REPO / "pyproject.toml").open("rb") as project:
            ours = tomllib.load(project)["tool"]["pytest"]["ini_options"]
        assert readme == {key: ours[key] for key in readme}
        assert readme["asyncio_mode"] == "auto"


def test_the_testing_section_names_both_ways_to_run_async_tests() -> None:
    text = " ".join(section(TESTING).split())

    assert "needs pytest-asyncio" in text
    assert "`@pytest.mark.asyncio`" in text
    assert "[tool.pytest.ini_options]" in section(TESTING)


def test_the_exit_status_table_matches_the_cli() -> None:
    rows = re.findall(r"^\| (\d+) \| ", section(COMMAND_LINE), re.M)
    statuses = {
        runtime.EXIT_OK,
        runtime.EXIT_FAILED,
        runtime.EXIT_USAGE,
        runtime.EXIT_KEY_REJECTED,
        128 + 2,  # Ctrl-C
        runtime.EXIT_BROKEN_PIPE,
    }

    assert [int(status) for status in rows] == sorted(statuses)


@pytest.mark.parametrize(
    "script", ["worker.py", "demo.py", "bot.py", "web_service.py", "calling_bot.py"]
)
def test_each_examples_usage_matches_the_readme(script: str) -> None:
    (row,) = [line for line in TEXT.splitlines() if line.startswith(f"| `{script}` |")]
    (command,) = [span for span in code_spans(row) if span.startswith("python examples/")]
    usage = subprocess.run(
        [sys.executable, f"examples/{script}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    for word in command.split()[2:]:
        if word.startswith("--") or word.isupper():
            assert word.strip("[]") in usage, (word, usage)
