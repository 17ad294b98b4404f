"""``mock serve --rate-limit`` and ``--host 0.0.0.0``; the CLI's ``--allow-insecure-http``."""

from __future__ import annotations

import pytest
import typer

from chirp_async import AsyncChirp, RateLimitError
from chirp_async.cli._mock import RateLimit, client_base_url, parse_rate_limit

from .helpers import (
    CALL_ID,
    ServerThread,
    banner_exports,
    call_line,
    invoke,
    read_banner,
    run_cli,
    spawn_cli,
    stop_server,
)

# Long windows aligned to the wall clock: a test would have to straddle a boundary to see
# two of them, and then it reads the same X-RateLimit-Reset twice and starts over.
LONG_WINDOW = "2/3600s"
ATTEMPTS = 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20/1s", RateLimit(20, 1)),
        ("120/60s", RateLimit(120, 60)),
        ("120/1m", RateLimit(120, 60)),
        ("5/s", RateLimit(5, 1)),
        ("5/m", RateLimit(5, 60)),
        (" 7/2M ", RateLimit(7, 120)),
    ],
)
def test_parse_rate_limit(text: str, expected: RateLimit) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize(
    "text", ["20", "20/", "/1s", "20/1h", "20/1.5s", "a/1s", "-1/1s", "20 / 1s", "20/1s/2"]
)
def test_parse_rate_limit_rejects_other_forms_with_the_expected_ones(text: str) -> None:
    with pytest.raises(typer.BadParameter) as raised:
        parse_rate_limit(text)

    assert str(raised.value) == (
        f"{text!r} is not REQUESTS/WINDOW: use e.g. 20/1s, 120/60s or 120/1m "
        "(s: seconds, m: minutes)"
    )


@pytest.mark.parametrize("text", ["0/1s", "5/0s", "5/0m"])
def test_parse_rate_limit_rejects_zero(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="must both be at least 1"):
        parse_rate_limit(text)


def test_a_bad_rate_limit_is_a_usage_error_naming_the_option() -> None:
    result = invoke(["mock", "serve", "--rate-limit", "20 per second"])

    assert result.exit_code == 2
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "Invalid value for '--rate-limit': '20 per second' is not REQUESTS/WINDOW" in message


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("", "http://127.0.0.1:8080"),
        ("::", "http://[::1]:8080"),
        ("::1", "http://[::1]:8080"),
        ("localhost", "http://localhost:8080"),
        ("192.0.2.7", "http://192.0.2.7:8080"),
    ],
)
def test_client_base_url_is_one_a_local_client_can_use(host: str, url: str) -> None:
    assert client_base_url(host, 8080) == url


async def test_mock_serve_rate_limit_counts_down_then_answers_429() -> None:
    process = spawn_cli(["mock", "serve", "--rate-limit", LONG_WINDOW])
    try:
        banner = read_banner(process)
        env = banner_exports(banner)
        # Not paced by the headers: this client asks for the third request anyway.
        async with AsyncChirp(
            env["CHIRP_API_KEY"],
            base_url=env["CHIRP_BASE_URL"],
            max_retries=0,
            pace_by_headers=False,
        ) as client:
            for _ in range(ATTEMPTS):
                first = await client.calls.with_raw_response.get(CALL_ID)
                second = await client.calls.with_raw_response.get(CALL_ID)
                with pytest.raises(RateLimitError) as limited:
                    await client.calls.get(CALL_ID)
                if first.rate_limit.reset == second.rate_limit.reset:
                    break
            else:
                pytest.fail("every attempt straddled a window boundary")
    finally:
        stderr = stop_server(process)

    assert banner[0].endswith("(latency 0 ms, error rate 0%, rate limit 2 per 3600 s)")
    assert (first.rate_limit.limit, first.rate_limit.remaining) == (2, 1)
    assert (second.rate_limit.limit, second.rate_limit.remaining) == (2, 0)
    assert limited.value.status_code == 429
    assert limited.value.headers["X-RateLimit-Remaining"] == "0"
    assert limited.value.retry_after is not None
    assert 1 <= limited.value.retry_after <= 3600
    assert process.returncode == 0
    assert stderr.startswith("stopped after ")


def test_mock_serve_on_every_address_prints_a_url_that_works() -> None:
    process = spawn_cli(["mock", "serve", "--host", "0.0.0.0"])
    try:
        banner = read_banner(process)
        env = banner_exports(banner)
        found = run_cli(["calls", "get", CALL_ID], env=env)
    finally:
        stop_server(process)

    port = env["CHIRP_BASE_URL"].rsplit(":", 1)[1]
    assert env["CHIRP_BASE_URL"] == f"http://127.0.0.1:{port}"
    assert banner[0].startswith(f"Mock Chirp server listening on http://0.0.0.0:{port} (")
    assert (
        banner[2] == f"Point the SDK or the CLI at it (from this machine: http://127.0.0.1:{port}):"
    )
    assert not any("--allow-insecure-http" in line for line in banner)
    assert (found.returncode, found.stderr) == (0, "")


def test_plain_http_to_a_non_loopback_host_needs_the_opt_in(server: ServerThread) -> None:
    # 0.0.0.0 is not a loopback address to the SDK, yet connecting to it reaches this host.
    url = f"http://0.0.0.0:{server.server.port}"
    env = {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": url}

    refused = run_cli(["calls", "get", CALL_ID], env=env)
    requests_after_refusal = server.call(lambda s: s.request_count)
    allowed = run_cli(["--allow-insecure-http", "calls", "get", CALL_ID], env=env)

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr == (
        f"error: InsecureBaseURLError: base_url {url!r} is plain http "
        "on a non-loopback host: the API key would travel in cleartext. Use https, or pass "
        "allow_insecure_http=True if you must (on the command line: --allow-insecure-http)\n"
    )
    assert requests_after_refusal == 0
    assert (allowed.returncode, allowed.stderr) == (0, "")
    assert allowed.stdout == call_line(server.call_json(CALL_ID)) + "\n"
    assert server.call(lambda s: s.request_count) == 1


def test_an_unknown_chirp_log_is_a_usage_error_naming_the_variable(server: ServerThread) -> None:
    env = {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}

    result = invoke(["calls", "get", CALL_ID], env={**env, "CHIRP_LOG": "verbose"})
    chosen = run_cli(["calls", "get", CALL_ID], env={**env, "CHIRP_LOG": "DEBUG"})

    assert result.exit_code == 2
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "Invalid value for '--log-level' (env var: 'CHIRP_LOG'): " in message
    assert "'verbose' is not one of 'debug', 'info', 'warning'" in message
    assert server.call(lambda s: s.request_count) == 1  # only the second run sent one
    assert chosen.returncode == 0
    assert f"DEBUG chirp_async: GET /v1/calls/{CALL_ID} -> 200" in chosen.stderr
