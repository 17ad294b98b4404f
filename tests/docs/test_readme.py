"""Every code block in README.md runs here, against the mock server, so the manual cannot rot.

- ```python blocks, by kind (`classify`):

  * programs (they call ``asyncio.run``) run as a subprocess, with ``CHIRP_API_KEY`` and
    ``CHIRP_BASE_URL`` pointing at a `MockChirpServer` on this test's event loop;
  * test modules (they define ``test_*`` functions) are executed and each test is awaited;
  * fragments (top-level ``await``) run in a namespace holding only `CONTEXT_NAMES`, the
    names the README says they assume: an `AsyncChirp` bound to the mock server, IDs.

  Each block has a test below that also checks what it printed or returned;
  `test_every_python_block_has_a_test` fails for a block under a new heading.
- ```sh blocks: every line is either run (``chirp-async ...``, offline, against the mock
  server, with a check of its output per subcommand in `CLI_CHECKS`) or listed in `NOT_RUN`
  with the reason; `test_every_shell_line_is_run_or_not_run_for_a_reason` enforces it.
- The configuration table against ``AsyncChirp.__init__`` (names, defaults, environment
  variables) and the errors table against the exception classes in ``chirp_async.__all__``
  (names, bases, which status raises which class and whether it is retried).

Subprocesses get ``PYTHONWARNINGS=default``, so "no stderr" also means no warning.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import dataclasses
import inspect
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import msgspec
import pytest
from readme_blocks import (
    SHELL_OPERATORS,
    Block,
    ShellLine,
    classify,
    code_spans,
    free_names,
    parse_blocks,
    read_readme,
    shell_lines,
    table_under,
)

import chirp_async
from chirp_async import (
    APIStatusError,
    AsyncChirp,
    Call,
    ChirpError,
    ConfigurationError,
    RecordingList,
    RetryPolicy,
    Webhook,
)
from chirp_async.testing import DEFAULT_TEST_API_KEY, Fault, MockChirpServer

TEXT: Final = read_readme()
BLOCKS: Final = parse_blocks(TEXT)
LANGUAGES: Final = frozenset({"python", "sh", "toml"})  # toml: test_readme_sections.py
WAIT: Final = 20.0  # seconds: the bound of every wait on a process (two fit in the 60 s timeout)
FAST_RETRIES: Final = RetryPolicy(initial_delay=0.001, max_delay=0.002)
CALL_ID_PATTERN: Final = re.compile(r"call_(?:test_)?[a-zA-Z0-9]{27}")
SAMPLE_CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"  # the README's example ID

# -- Python blocks: one test per heading ------------------------------------------------------

QUICKSTART: Final = "Quickstart"
MANY_CALLS: Final = "Many calls at once: `get_many` and `iter_many`"
RAW_RESPONSES: Final = "Raw responses"
TESTING: Final = "Testing your code with the mock server"
PLACING: Final = "Placing and controlling calls"
AROUND_CALLS: Final = "Recordings, voicemails and webhooks"
TESTING_CALLS: Final = "Testing calling code"
TESTED_HEADINGS: Final = frozenset(
    {QUICKSTART, MANY_CALLS, RAW_RESPONSES, TESTING, PLACING, AROUND_CALLS, TESTING_CALLS}
)

# What the README's fragments may assume (it says so in prose before the first one).
CONTEXT_NAMES: Final = ("client", "ids", "id_stream", "call_id")

# -- Shell lines --------------------------------------------------------------------------

CLI: Final = "chirp-async"
# Lines that are not run, by their leading words, and why. Every other line must start
# with `CLI` and have a check in CLI_CHECKS.
NOT_RUN: Final[Mapping[tuple[str, ...], str]] = {
    ("make", "demo"): (
        "pip-installs into .venv, which needs the network; its last step, "
        "`chirp-async demo --n 10000`, is run from the Command line block"
    ),
    ("make", "test"): "runs this very test suite (with ruff and mypy), so it would recurse",
    ("pip", "install"): (
        "installs (from a checkout, git or PyPI), which needs the network; the SDK is installed"
    ),
}
# commands that take a subcommand
CLI_GROUPS: Final = frozenset({"calls", "mock", "voicemails", "recordings"})
GET_MANY_IDS: Final = (SAMPLE_CALL_ID, "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C")
READY_LINE: Final = "Press Ctrl-C to stop."
# Environment variables of the configuration table, and a value to set each to.
ENV_SAMPLES: Final[Mapping[str, str]] = {
    "CHIRP_API_KEY": DEFAULT_TEST_API_KEY,
    "CHIRP_BASE_URL": "http://127.0.0.1:9",
}

# -- Errors table -------------------------------------------------------------------------

# Statuses tried for rows that give a range rather than codes (plus any the row names).
OTHER_STATUSES: Final = (302, 402, 418)  # "any other non-2xx"
RANGE_WIDTH: Final = 5  # ">= 500": 500..504, and the top of the range
NOT_FOLLOWED: Final = "http://127.0.0.1:9/elsewhere"  # a redirect's target: must not be fetched


# == helpers ===============================================================================


def python_block(heading: str) -> Block:
    assert heading in TESTED_HEADINGS
    found = [b for b in BLOCKS if b.language == "python" and b.heading == heading]
    assert len(found) == 1, f"expected one python block under {heading!r}, found {len(found)}"
    return found[0]


def served_call(server: MockChirpServer, call_id: str) -> Call:
    """The Call the server serves for ``call_id``, decoded like the SDK does."""
    return msgspec.json.decode(json.dumps(server.call_json(call_id)), type=Call)


def readme_ids(count: int, label: str) -> list[str]:
    """Distinct valid call IDs (the server generates a call for each)."""
    ids = [f"call_{label}{n:0{27 - len(label)}d}" for n in range(count)]
    assert all(CALL_ID_PATTERN.fullmatch(i) for i in ids)
    return ids


@dataclasses.dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def process_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without Chirp or proxy settings, plus ``extra``."""
    cleared = ("CHIRP_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(cleared)}
    env.update(PYTHONWARNINGS="default", PYTHONUNBUFFERED="1", **extra)
    return env


async def run_process(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> Finished:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=process_env(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


def cli_argv(argv: Sequence[str]) -> list[str]:
    """The README's ``chirp-async ...`` as this venv's console script (or ``-m chirp_async``)."""
    assert argv[0] == CLI
    script = Path(sys.executable).with_name(CLI)
    command = [str(script)] if script.exists() else [sys.executable, "-m", "chirp_async"]
    return [*command, *argv[1:]]


def subcommand(argv: Sequence[str]) -> tuple[str, ...]:
    return tuple(argv[1:3]) if argv[1] in CLI_GROUPS else tuple(argv[1:2])


def option(argv: Sequence[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in ``argv``, if present."""
    for index, token in enumerate(argv):
        if token == name:
            return argv[index + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    return None


def not_run_reason(line: ShellLine) -> str | None:
    for words, reason in NOT_RUN.items():
        if line.argv[: len(words)] == words:
            return reason
    return None


def all_shell_lines() -> list[ShellLine]:
    return [line for b in BLOCKS if b.language == "sh" for line in shell_lines(b)]


RUN_LINES: Final = [line for line in all_shell_lines() if line.argv[0] == CLI]


async def run_fragment(block: Block, namespace: dict[str, Any]) -> None:
    """Run a fragment with top-level ``await`` in ``namespace``, as if inside a coroutine."""
    missing = free_names(block.code) - set(CONTEXT_NAMES)
    assert not missing, f"{block.where} uses {sorted(missing)}: import them in the block"
    code = compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    outcome = eval(code, namespace)
    if inspect.isawaitable(outcome):
        await outcome


class CountingStream:
    """An async iterable of IDs without ``len()``, counting what the consumer pulled."""

    def __init__(self, ids: Iterable[str]) -> None:
        self._ids = iter(ids)
        self.pulled = 0
        self.exhausted = False

    def __aiter__(self) -> CountingStream:
        return self

    async def __anext__(self) -> str:
        try:
            call_id = next(self._ids)
        except StopIteration:
            self.exhausted = True
            raise StopAsyncIteration from None
        self.pulled += 1
        return call_id


@dataclasses.dataclass
class Context:
    """The names the README's fragments assume, bound to a mock server."""

    client: AsyncChirp
    ids: list[str]
    id_stream: CountingStream
    stream_ids: list[str]
    call_id: str

    def namespace(self) -> dict[str, Any]:
        names = {name: getattr(self, name) for name in CONTEXT_NAMES}
        return {"__name__": "readme_fragment", "__builtins__": builtins, **names}


@pytest.fixture
async def context(chirp_mock_server: MockChirpServer) -> AsyncIterator[Context]:
    server = chirp_mock_server
    ids = readme_ids(3, "ReadmeIds")
    ids.append(ids[0])  # a duplicate: fetched once, returned in both slots
    stream_ids = readme_ids(20, "ReadmeStream")
    async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
        yield Context(client, ids, CountingStream(stream_ids), stream_ids, SAMPLE_CALL_ID)


# == the document's shape ==================================================================


def test_every_block_has_a_known_language() -> None:
    assert BLOCKS
    for block in BLOCKS:
        assert block.language in LANGUAGES, f"{block.where}: ```{block.language} is not run"


def test_the_first_screen_shows_make_demo_and_make_test() -> None:
    first = BLOCKS[0]
    assert first.language == "sh"
    assert [line.argv for line in shell_lines(first)] == [("make", "demo"), ("make", "test")]
    assert first.line + len(first.code.splitlines()) <= 24  # within one terminal screen


def test_every_python_block_has_a_test() -> None:
    headings = [b.heading for b in BLOCKS if b.language == "python"]
    assert len(headings) == len(set(headings)), "one python block per heading, please"
    assert set(headings) == TESTED_HEADINGS


def test_fragments_use_only_the_context_the_readme_announces() -> None:
    fragments = [b for b in BLOCKS if b.language == "python" and classify(b) == "fragment"]
    assert fragments
    announced = "\n".join(TEXT.splitlines()[: fragments[0].line])
    for name in CONTEXT_NAMES:
        assert f"`{name}`" in announced, f"the README must say what `{name}` is"
    used = set().union(*(free_names(b.code) for b in fragments))
    assert used == set(CONTEXT_NAMES)  # no name provided here that no fragment needs
    for block in BLOCKS:
        if block.language == "python" and block not in fragments:
            assert free_names(block.code) == set(), f"{block.where} must be self-contained"


# == Python blocks =========================================================================


async def test_quickstart_prints_the_call_then_no_such_call(
    chirp_mock_server: MockChirpServer, tmp_path: Path
) -> None:
    server = chirp_mock_server
    block = python_block(QUICKSTART)
    assert classify(block) == "program"
    (call_id,) = set(CALL_ID_PATTERN.findall(block.code))
    script = tmp_path / "quickstart.py"
    script.write_text(block.code, encoding="utf-8")
    env = {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}

    call = served_call(server, call_id)

    found = await run_process([sys.executable, str(script)], env=env, cwd=tmp_path)
    server.mark_missing(call_id)
    missing = await run_process([sys.executable, str(script)], env=env, cwd=tmp_path)

    assert (found.returncode, found.stderr) == (0, "")
    assert found.stdout == f"{call.status} {call.duration} {call.started_at}\n"
    assert (missing.returncode, missing.stderr, missing.stdout) == (0, "", "no such call\n")
    assert server.requests_for(call_id) == 2


async def test_get_many_and_iter_many_return_every_id(
    context: Context, chirp_mock_server: MockChirpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = chirp_mock_server
    block = python_block(MANY_CALLS)
    assert classify(block) == "fragment"
    namespace = context.namespace()

    await run_fragment(block, namespace)

    calls, outcomes = namespace["calls"], namespace["outcomes"]
    assert all(isinstance(call, Call) for call in [*calls, *outcomes])
    assert [call.id for call in calls] == [call.id for call in outcomes] == context.ids
    for call_id in set(context.ids):  # duplicates fetched once, by each get_many
        assert server.requests_for(call_id) == 2
    assert context.id_stream.exhausted
    assert context.id_stream.pulled == len(context.stream_ids)
    assert all(server.requests_for(call_id) == 1 for call_id in context.stream_ids)
    last_id, last = namespace["call_id"], namespace["result"]
    assert isinstance(last, Call)
    assert last.id == last_id
    assert last_id in context.stream_ids
    assert capsys.readouterr() == ("", "")


async def test_raw_response_prints_status_request_id_attempts_and_budget(
    context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    block = python_block(RAW_RESPONSES)
    assert classify(block) == "fragment"
    namespace = context.namespace()

    await run_fragment(block, namespace)

    raw, call = namespace["raw"], namespace["call"]
    assert isinstance(call, Call)
    assert call.id == context.call_id
    assert raw.status_code == 200
    assert raw.attempts == 1
    assert raw.request_id.startswith("req_")
    assert isinstance(raw.rate_limit.remaining, int)
    expected = f"200 {raw.request_id} 1 {raw.rate_limit.remaining}\n"
    assert capsys.readouterr() == (expected, "")


async def test_the_example_test_passes(capsys: pytest.CaptureFixture[str]) -> None:
    block = python_block(TESTING)
    assert classify(block) == "tests"
    namespace: dict[str, Any] = {"__name__": "readme_tests"}
    exec(compile(block.code, block.where, "exec"), namespace)
    tests = {name: fn for name, fn in namespace.items() if name.startswith("test_")}
    assert tests
    for name, test in tests.items():
        assert callable(test)
        assert not inspect.signature(test).parameters, f"{name}: fixtures are not provided here"
        outcome = test()
        if inspect.isawaitable(outcome):
            await outcome
    assert capsys.readouterr() == ("", "")


async def run_tests_block(heading: str) -> None:
    """Execute a block of ``test_*`` functions and await each (they take no fixtures)."""
    block = python_block(heading)
    assert classify(block) == "tests"
    namespace: dict[str, Any] = {"__name__": "readme_tests"}
    exec(compile(block.code, block.where, "exec"), namespace)
    tests = {name: fn for name, fn in namespace.items() if name.startswith("test_")}
    assert tests
    for name, test in tests.items():
        assert callable(test)
        assert not inspect.signature(test).parameters, f"{name}: fixtures are not provided here"
        outcome = test()
        if inspect.isawaitable(outcome):
            await outcome


async def test_placing_a_call_records_and_hangs_up_the_call_with_the_token(
    context: Context, chirp_mock_server: MockChirpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = chirp_mock_server
    block = python_block(PLACING)
    assert classify(block) == "fragment"
    namespace = context.namespace()

    await run_fragment(block, namespace)

    call, token = namespace["call"], namespace["token"]
    assert isinstance(call, Call)
    assert server.calling.created_calls() == [call.id]
    assert server.call_json(call.id)["metadata"] == {"requestToken": token}
    assert server.calling.commands(call.id) == [
        {"type": "start_recording", "format": "ogg"},
        {"type": "hangup"},
    ]
    assert server.call_json(call.id)["status"] == "canceled"
    assert capsys.readouterr() == ("", "")


async def test_placing_a_call_whose_answer_is_lost_places_nothing_more(
    context: Context, chirp_mock_server: MockChirpServer
) -> None:
    server = chirp_mock_server
    server.script_route("POST /v1/calls", Fault.drop_response())
    namespace = context.namespace()

    await run_fragment(python_block(PLACING), namespace)  # the unknown outcome is handled

    assert "call" not in namespace
    (call_id,) = server.calling.created_calls()  # placed once, by the lost request
    assert server.calling.commands(call_id) == []
    assert server.requests_to("POST /v1/calls") == 1


async def test_voicemails_are_marked_read_and_the_webhook_created(
    context: Context, chirp_mock_server: MockChirpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = chirp_mock_server
    server.calling.add_voicemails(3)
    block = python_block(AROUND_CALLS)
    assert classify(block) == "fragment"
    namespace = context.namespace()

    await run_fragment(block, namespace)

    assert [voicemail["isRead"] for voicemail in server.calling.voicemails()] == [True] * 3
    webhook = namespace["webhook"]
    assert isinstance(webhook, Webhook)
    assert server.webhooks.subscriptions() == [json.loads(msgspec.json.encode(webhook))]
    assert webhook.headers == {"X-Webhook-Secret": "a-long-random-secret"}
    recordings = namespace["recordings"]
    assert isinstance(recordings, RecordingList)
    assert recordings.total_count == 0  # a generated call has none
    assert capsys.readouterr() == ("", "")


async def test_the_calling_test_passes(capsys: pytest.CaptureFixture[str]) -> None:
    await run_tests_block(TESTING_CALLS)
    assert capsys.readouterr() == ("", "")


# == shell lines ===========================================================================


def test_every_shell_line_is_run_or_not_run_for_a_reason() -> None:
    lines = all_shell_lines()
    assert lines
    used: set[tuple[str, ...]] = set()
    for line in lines:
        reason = not_run_reason(line)
        if line.argv[0] == CLI:
            assert reason is None
            assert not SHELL_OPERATORS & set(line.argv), f"{line.where}: run without a shell"
            assert subcommand(line.argv) in CLI_CHECKS, f"{line.where}: add a check to CLI_CHECKS"
        else:
            assert reason, f"{line.where}: neither run nor listed in NOT_RUN"
            used.update(words for words in NOT_RUN if line.argv[: len(words)] == words)
    assert used == set(NOT_RUN), "NOT_RUN lists lines the README no longer has"
    assert {subcommand(line.argv) for line in RUN_LINES} == set(CLI_CHECKS)


async def run_cli(line: ShellLine, server: MockChirpServer, cwd: Path) -> Finished:
    env = {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}
    return await run_process(cli_argv(line.argv), env=env, cwd=cwd)


async def check_calls_get(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    call_id = line.argv[3]
    call = served_call(server, call_id)
    done = await run_cli(line, server, cwd)
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    if option(line.argv, "--format") == "table":
        assert call_id in done.stdout
        assert f" {call.status} " in done.stdout
    else:  # one compact JSON line, the API's camelCase JSON
        assert done.stdout == msgspec.json.encode(call).decode() + "\n"


def write_ids_file(path: Path, ids: Iterable[str]) -> None:
    path.write_text("# IDs to fetch\n\n" + "\n".join(ids) + "\n", encoding="utf-8")


async def check_calls_get_many(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    ids_file, output = option(line.argv, "--ids-file"), option(line.argv, "--output")
    assert ids_file is not None
    assert output is not None
    write_ids_file(cwd / ids_file, GET_MANY_IDS)  # with a comment and a blank line: skipped
    done = await run_cli(line, server, cwd)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    summary = done.stderr.splitlines()  # the summary by status, and nothing else
    assert summary[0].startswith(f"done: {len(GET_MANY_IDS)} IDs in ")
    assert summary[0].endswith(f": {len(GET_MANY_IDS)} ok, 0 failed")
    assert all(line.startswith("  by status: ") for line in summary[1:])
    records = [json.loads(text) for text in (cwd / output).read_text().splitlines()]
    expected = {i: json.loads(msgspec.json.encode(served_call(server, i))) for i in GET_MANY_IDS}
    assert {record["id"]: record["call"] for record in records} == expected
    assert len(records) == len(GET_MANY_IDS)
    assert all(server.requests_for(call_id) == 1 for call_id in GET_MANY_IDS)


async def check_mock_serve(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    del server  # this line starts its own
    process = await asyncio.create_subprocess_exec(
        *cli_argv(line.argv),
        cwd=cwd,
        env=process_env({}),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        banner: list[str] = []
        while not banner or banner[-1] != READY_LINE:
            raw = await asyncio.wait_for(process.stdout.readline(), WAIT)
            assert raw, f"the server exited before it was ready: {banner}"
            banner.append(raw.decode().rstrip("\n"))
        exports = dict(
            text.strip().removeprefix("export ").split("=", 1)
            for text in banner
            if text.strip().startswith("export ")
        )
        base_url, api_key = exports["CHIRP_BASE_URL"], exports["CHIRP_API_KEY"]
        assert banner[0].startswith(f"Mock Chirp server listening on {base_url} ")
        latency = option(line.argv, "--latency-ms")
        if latency is not None:
            assert f"(latency {float(latency):g} ms," in banner[0]
        async with AsyncChirp(api_key, base_url=base_url, max_retries=0) as client:
            call = await client.calls.get(SAMPLE_CALL_ID)
        assert call.id == SAMPLE_CALL_ID
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), WAIT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0
    assert stderr.decode() == "stopped after 1 requests\n"


async def check_demo(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    done = await run_cli(line, server, cwd)  # the demo starts its own server
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    count = int(option(line.argv, "--n") or "0")
    assert re.search(rf"calls fetched\s+│\s+{count:,} of {count:,}", done.stdout), done.stdout


async def check_calls_create(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    done = await run_cli(line, server, cwd)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    (call_id,) = server.calling.created_calls()
    assert json.loads(done.stdout) == server.call_json(call_id)
    metadata = option(line.argv, "--metadata")
    assert metadata is not None
    assert server.call_json(call_id)["metadata"] == json.loads(metadata)


async def placed_call(server: MockChirpServer) -> str:
    async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
        return (await client.calls.create(from_="+15551234567", to="+15559876543")).id


async def completed_recording(server: MockChirpServer) -> str:
    async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
        call = await client.calls.create(from_="+15551234567", to="+15559876543")
        server.advance(5)
        await client.calls.start_recording(call.id)
        await client.calls.hangup(call.id)
        server.advance(5)
        (recording,) = (await client.recordings.list(call.id)).data
        return recording.id


def with_id(argv: Sequence[str], placeholder_index: int, real_id: str) -> list[str]:
    """The README's example ID stands for one the mock made: commands need a real one."""
    replaced = list(argv)
    replaced[placeholder_index] = real_id
    return replaced


async def check_calls_hangup(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    assert CALL_ID_PATTERN.fullmatch(line.argv[3])
    call_id = await placed_call(server)
    env = {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}
    done = await run_process(cli_argv(with_id(line.argv, 3, call_id)), env=env, cwd=cwd)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert json.loads(done.stdout) == {"callId": call_id, "command": "hangup", "status": "accepted"}
    assert server.call_json(call_id)["status"] == "canceled"


async def check_voicemails_list(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    ids = server.calling.add_voicemails(7)
    done = await run_cli(line, server, cwd)
    assert done.returncode == 0, done.stderr
    listed = [json.loads(text)["id"] for text in done.stdout.splitlines()]
    if "--all" in line.argv:
        assert listed == ids[::-1]
        assert done.stderr == "listed 7 voicemails\n"
    else:
        limit = int(option(line.argv, "--limit") or "20")
        assert listed == ids[::-1][:limit]
        assert done.stderr == f"listed {limit} of 7 voicemails (offset 0)\n"


async def check_recordings_download(line: ShellLine, server: MockChirpServer, cwd: Path) -> None:
    assert re.fullmatch(r"call_rec_[A-Za-z0-9]{27}", line.argv[3])
    recording_id = await completed_recording(server)
    output = option(line.argv, "-o")
    assert output is not None
    env = {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}
    done = await run_process(cli_argv(with_id(line.argv, 3, recording_id)), env=env, cwd=cwd)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert done.stderr == f"wrote 1,048,576 bytes to {output}\n"
    assert (cwd / output).read_bytes() == server.calling.recording_content(recording_id)
    assert all("Authorization" not in r.headers for r in server.storage_requests)


CliCheck = Callable[[ShellLine, MockChirpServer, Path], Awaitable[None]]
CLI_CHECKS: Final[Mapping[tuple[str, ...], CliCheck]] = {
    ("calls", "get"): check_calls_get,
    ("calls", "get-many"): check_calls_get_many,
    ("calls", "create"): check_calls_create,
    ("calls", "hangup"): check_calls_hangup,
    ("voicemails", "list"): check_voicemails_list,
    ("recordings", "download"): check_recordings_download,
    ("mock", "serve"): check_mock_serve,
    ("demo",): check_demo,
}


@pytest.mark.parametrize(
    "line", RUN_LINES, ids=[f"L{line.line}-{'-'.join(subcommand(line.argv))}" for line in RUN_LINES]
)
async def test_command_line(
    line: ShellLine, chirp_mock_server: MockChirpServer, tmp_path: Path
) -> None:
    await CLI_CHECKS[subcommand(line.argv)](line, chirp_mock_server, tmp_path)


# == tables ================================================================================


def documented_arguments() -> dict[str, dict[str, str]]:
    rows = table_under(TEXT, "Configuration")
    documented: dict[str, dict[str, str]] = {}
    for row in rows:
        if not row["argument"]:
            assert code_spans(row["environment"]), f"a row without argument or variable: {row}"
            continue
        (name,) = code_spans(row["argument"])
        assert name not in documented, f"`{name}` is documented twice"
        documented[name] = row
    return documented


def init_parameters() -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(AsyncChirp.__init__).parameters
    return {name: p for name, p in parameters.items() if name != "self"}


def test_configuration_table_lists_every_argument() -> None:
    assert sorted(documented_arguments()) == sorted(init_parameters())


async def test_configuration_table_defaults_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    parameters = init_parameters()
    for name, row in documented_arguments().items():
        param, default = parameters[name], row["default"]
        if default == "(required)":
            assert param.default is None
            with pytest.raises(ConfigurationError):
                AsyncChirp()
            continue
        (text,) = code_spans(default)
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            # Not a literal: ``None`` in the signature stands for it. It is either what the
            # client reports (a URL) or an expression of the public API (RetryPolicy()).
            assert param.default is None, name
            async with AsyncChirp(DEFAULT_TEST_API_KEY) as client:
                if hasattr(client, name):
                    assert getattr(client, name) == text
                else:
                    eval(text, vars(chirp_async))
        else:
            assert param.default == value, name
            assert type(param.default) is type(value), name
    for name, row in documented_arguments().items():
        for variable in code_spans(row["environment"]):
            monkeypatch.setenv(variable, ENV_SAMPLES[variable])
            if name != "api_key":
                monkeypatch.setenv("CHIRP_API_KEY", DEFAULT_TEST_API_KEY)
            async with AsyncChirp() as client:  # no ConfigurationError: the variable is read
                if hasattr(client, name):
                    assert getattr(client, name) == ENV_SAMPLES[variable]
            monkeypatch.delenv(variable)
            monkeypatch.delenv("CHIRP_API_KEY", raising=False)


def exported_exceptions() -> dict[str, type[BaseException]]:
    names = (getattr(chirp_async, name) for name in chirp_async.__all__)
    return {
        cls.__name__: cls
        for cls in names
        if isinstance(cls, type) and issubclass(cls, BaseException)
    }


def documented_exceptions() -> list[tuple[str, dict[str, str]]]:
    return [(code_spans(row["exception"])[0], row) for row in table_under(TEXT, "Errors")]


def test_errors_table_lists_every_exported_exception() -> None:
    names = [name for name, _ in documented_exceptions()]
    assert len(names) == len(set(names)), "an exception is documented twice"
    assert sorted(names) == sorted(exported_exceptions())


def test_errors_table_bases() -> None:
    exported = exported_exceptions()
    status_rows: list[type[BaseException]] = []
    for name, row in documented_exceptions():
        cls = exported[name]
        assert issubclass(cls, ChirpError)  # "All derive from `ChirpError`"
        for base in code_spans(row["exception"])[1:]:  # `InvalidCallIdError` (`ValueError`)
            assert issubclass(cls, getattr(builtins, base)), (name, base)
        when = row["when"]
        if "base of the above" in when:
            assert status_rows
            assert all(issubclass(sub, cls) for sub in status_rows), name
        elif when.startswith("base of every error"):
            assert all(issubclass(sub, cls) for sub in exported.values()), name
        elif when.startswith("base of"):
            named = [exported[n] for n in code_spans(when) if n in exported]
            assert named
            assert all(issubclass(sub, cls) for sub in named), name
        if statuses_of(row):
            status_rows.append(cls)


def statuses_of(row: Mapping[str, str]) -> set[int]:
    """The statuses a row of the errors table is about (a sample for ranges)."""
    when = row["when"]
    numbers = {int(n) for n in re.findall(r"\b[1-5]\d\d\b", when + " " + row["retried"])}
    if when.startswith("any other"):
        return numbers | set(OTHER_STATUSES)
    if lower := re.match(r">=\s*([1-5]\d\d)\b", when):
        start = int(lower[1])
        return numbers | set(range(start, start + RANGE_WIDTH)) | {start // 100 * 100 + 99}
    return {int(n) for n in re.findall(r"\b[1-5]\d\d\b", when)}


def status_cases() -> list[tuple[int, str, bool]]:
    """``(status, exception name, retried)`` for every status the errors table covers."""
    cases: list[tuple[int, str, bool]] = []
    for name, row in documented_exceptions():
        retried = row["retried"]
        listed = {int(n) for n in re.findall(r"\b[1-5]\d\d\b", retried)}
        assert retried.startswith(("yes", "no")) or listed or not statuses_of(row), row
        for status in sorted(statuses_of(row)):
            cases.append((status, name, retried.startswith("yes") or status in listed))
    return cases


async def test_errors_table_statuses_raise_and_retry_as_documented(
    chirp_mock_server: MockChirpServer,
) -> None:
    server = chirp_mock_server
    exported = exported_exceptions()
    cases = status_cases()
    assert {name for _, name, _ in cases} >= {"NotFoundError", "APIStatusError"}
    async with AsyncChirp(
        server.api_key, base_url=server.base_url, max_retries=1, retry_policy=FAST_RETRIES
    ) as client:
        for status, name, retried in cases:
            (call_id,) = readme_ids(1, f"Status{status}")
            headers = {"Location": NOT_FOLLOWED} if status < 400 else None
            fault = Fault.status(status, retry_after_ms=1, headers=headers)
            server.script(call_id, fault, fault)  # fails again if retried: both attempts seen
            with pytest.raises(APIStatusError) as raised:
                await client.calls.get(call_id)
            assert type(raised.value) is exported[name], status
            assert raised.value.status_code == status
            assert server.requests_for(call_id) == (2 if retried else 1), status
