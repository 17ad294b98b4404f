"""Helpers for the CLI tests: a mock server on its own thread, and ways to run the CLI."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import msgspec
from typer.testing import CliRunner, Result

from chirp_async import Call
from chirp_async.cli._app import build_app
from chirp_async.testing import MockChirpServer

# Distinctive, so that a leak is unmistakable in any captured output.
SECRET_KEY: Final = "sk_test_app_CLIs3cr3tKEYq8Zt3LmV0xK5pR2wN7aJ"
WAIT: Final = 15.0  # seconds: the bound of every wait in these tests
CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
OTHER_ID: Final = "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C"
MISSING_ID: Final = "call_000000000000000000000000000"
READY_LINE: Final = "Press Ctrl-C to stop."  # the last line of the mock serve banner
_CLEARED_ENV: Final = ("CHIRP_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")

_T = TypeVar("_T")


class ServerThread:
    """A `MockChirpServer` running in its own event loop on a daemon thread.

    The CLI under test runs ``asyncio.run`` on the main thread (in-process) or in a
    subprocess, so the server cannot share its loop. Change the server with `call`,
    which runs a function on the server's thread.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: MockChirpServer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="mock-chirp-server", daemon=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            async with MockChirpServer(**self._options) as server:
                self._server = server
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # reported by start() on the test's thread
            self._error = exc
            self._ready.set()

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(WAIT):
            raise TimeoutError("the mock server did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the mock server did not stop"

    @property
    def server(self) -> MockChirpServer:
        assert self._server is not None
        return self._server

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_key(self) -> str:
        return self.server.api_key

    def call(self, fn: Callable[[MockChirpServer], _T]) -> _T:
        """Run ``fn(server)`` on the server's thread and return its result."""
        assert self._loop is not None
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(self.server))
            except Exception as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(WAIT)

    def call_json(self, call_id: str) -> dict[str, Any]:
        return self.call(lambda server: server.call_json(call_id))


def cli_env(server: ServerThread | None = None, **extra: str) -> dict[str, str]:
    """Return the variables the CLI should see: the server's URL and key, plus ``extra``."""
    env = {}
    if server is not None:
        env = {"CHIRP_BASE_URL": server.base_url, "CHIRP_API_KEY": server.api_key}
    env.update(extra)
    return env


def invoke(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, input: str | None = None
) -> Result:
    """Run the CLI in-process with typer's CliRunner (stdout and stderr kept apart)."""
    return CliRunner().invoke(build_app(), list(args), env=dict(env or {}), input=input)


def subprocess_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_CLEARED_ENV)}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chirp_async ARGS`` as a real process, bounded by `WAIT`."""
    return subprocess.run(
        [sys.executable, "-m", "chirp_async", *args],
        env=subprocess_env(env or {}),
        input=input,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def spawn_cli(
    args: Sequence[str], *, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``python -m chirp_async ARGS`` without waiting (stdout and stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "chirp_async", *args],
        env=subprocess_env(env or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def call_record(call_id: str, server: ServerThread) -> dict[str, Any]:
    """The JSON Lines record ``get-many`` writes for a call the server serves."""
    return {"id": call_id, "call": server.call_json(call_id)}


def call_line(call_json: Mapping[str, Any]) -> str:
    """The exact compact JSON ``calls get`` prints: the Call's fields in the model's order."""
    call = msgspec.json.decode(json.dumps(call_json), type=Call)
    return msgspec.json.encode(call).decode()


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Parse JSON Lines, checking each line is compact JSON (one record, no padding)."""
    records = []
    for line in text.splitlines():
        record = json.loads(line)
        assert json.dumps(record, separators=(",", ":"), ensure_ascii=False) == line
        records.append(record)
    return records


def assert_no_secret(*outputs: str) -> None:
    for output in outputs:
        assert SECRET_KEY not in output
        assert SECRET_KEY[len("sk_test_app_") :] not in output


def read_banner(process: subprocess.Popen[str]) -> list[str]:
    """Collect stdout lines up to the ready line, each wait bounded."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    banner: list[str] = []
    while not banner or banner[-1] != READY_LINE:
        banner.append(lines.get(timeout=WAIT))
    return banner


def banner_exports(banner: list[str]) -> dict[str, str]:
    """The ``export NAME=value`` lines of a ``mock serve`` banner."""
    pairs = (line.strip().removeprefix("export ").split("=", 1) for line in banner)
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def stop_server(process: subprocess.Popen[str]) -> str:
    """Ctrl-C a ``mock serve`` process; return its stderr (killed if it does not stop)."""
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return stderr
