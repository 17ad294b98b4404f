"""benchmarks._nginx: nginx serves byte for byte the builtin benchmark server's responses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks._nginx import find_nginx, nginx_config, nginx_server
from benchmarks._server import response_for

IDS = ("call_000000000000000000000000000", "call_000000000000000000000000042", "abc_XYZ_9")
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "1000000",
    "X-RateLimit-Remaining": "1000000",
    "X-RateLimit-Reset": "4102444800",
    "x-request-id": "req_bench",
}


def builtin_body(call_id: str) -> bytes:
    """The body the builtin server sends for ``call_id``."""
    head, _, body = response_for(call_id.encode()).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    return body


def test_config_listens_on_loopback_only_and_serves_the_builtin_body(tmp_path: Path) -> None:
    config = nginx_config(54321, tmp_path)
    listens = re.findall(r"^\s*listen\s+([^;\s]+)", config, flags=re.MULTILINE)
    assert listens == ["127.0.0.1:54321"]
    assert "daemon off;" in config
    assert "access_log off;" in config
    assert f'pid "{tmp_path}/nginx.pid";' in config
    returns = re.findall(r"^\s*return 200 '([^']*)';$", config, flags=re.MULTILINE)
    assert len(returns) == 1
    template = returns[0]
    assert template.count("$") == 1  # nginx would expand any other "$"
    for call_id in IDS:
        assert template.replace("$call_id", call_id).encode() == builtin_body(call_id)
    for name, value in RATE_LIMIT_HEADERS.items():
        assert f'add_header {name} "{value}" always;' in config
    assert 'default_type "application/json";' in config


def test_config_leaves_out_the_temp_paths_of_missing_modules(tmp_path: Path) -> None:
    config = nginx_config(54321, tmp_path, without={"fastcgi", "uwsgi", "scgi"})
    assert "client_body_temp_path" in config
    assert "proxy_temp_path" in config
    assert "fastcgi" not in config
    assert "uwsgi" not in config
    assert "scgi" not in config


@pytest.fixture
def nginx_url() -> Iterator[str]:
    with nginx_server(start_timeout=5.0) as base_url:
        yield base_url


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (apt-get install nginx)")
@pytest.mark.timeout(20)
async def test_nginx_serves_the_builtin_responses(nginx_url: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", nginx_url)
    connections: list[object] = []

    async def created(*args: object) -> None:
        connections.append(args)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(created)
    connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection for every request
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(
        nginx_url, connector=connector, timeout=timeout, trace_configs=[trace]
    ) as session:
        for call_id in IDS:
            async with session.get(f"/v1/calls/{call_id}") as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "application/json"
                for name, value in RATE_LIMIT_HEADERS.items():
                    assert response.headers[name] == value
                assert await response.read() == builtin_body(call_id)
        async with session.get("/v1/other") as response:
            assert response.status == 404
            await response.read()
    assert len(connections) == 1
