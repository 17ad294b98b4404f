"""``chirp-async calls get``: output formats, errors as one line, exit statuses, the key."""

from __future__ import annotations

import json

from chirp_async.testing import Fault

from .conftest import ServerFactory
from .helpers import (
    CALL_ID,
    MISSING_ID,
    SECRET_KEY,
    ServerThread,
    assert_no_secret,
    call_line,
    cli_env,
    invoke,
    run_cli,
)

SERVER_DELAY = 5.0  # seconds; the client's --timeout gives up long before


def test_get_prints_the_call_as_one_compact_json_line(server: ServerThread) -> None:
    result = invoke(["calls", "get", CALL_ID], env=cli_env(server))

    assert result.exit_code == 0
    expected = server.call_json(CALL_ID)
    assert result.stdout == call_line(expected) + "\n"
    assert json.loads(result.stdout) == expected
    assert result.stderr == ""


def test_get_as_table_shows_the_id_and_camelcase_fields(server: ServerThread) -> None:
    result = invoke(["calls", "get", CALL_ID, "--format", "table"], env=cli_env(server))

    assert result.exit_code == 0
    expected = server.call_json(CALL_ID)
    assert CALL_ID in result.stdout
    for field in ("appId", "fromChannel", "createdAt"):
        assert field in result.stdout
    assert expected["status"] in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_get_unknown_id_prints_one_error_line_and_exits_1(
    make_server: ServerFactory,
) -> None:
    server = make_server(generate=False)

    result = invoke(["calls", "get", MISSING_ID], env=cli_env(server))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: NotFoundError: HTTP 404 Not Found: Call not found")
    assert result.stderr.count("\n") == 1


def test_get_malformed_id_is_a_usage_error_and_sends_nothing(
    make_server: ServerFactory,
) -> None:
    server = make_server(record_requests=True)

    result = invoke(["calls", "get", "call_../../admin"], env=cli_env(server))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: InvalidCallIdError: invalid call ID 'call_../../admin'")
    assert server.call(lambda s: s.request_count) == 0


def test_get_without_a_key_prints_the_sdk_message_and_exits_2() -> None:
    result = invoke(["calls", "get", CALL_ID])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ConfigurationError: No API key: ")
    assert "CHIRP_API_KEY" in result.stderr
    assert result.stderr.count("\n") == 1


def test_get_with_a_wrong_key_reports_authentication_error_and_exits_3_without_the_key(
    server: ServerThread,
) -> None:
    wrong = SECRET_KEY[:-4] + "XXXX"

    result = invoke(["--api-key", wrong, "--base-url", server.base_url, "calls", "get", CALL_ID])

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("error: AuthenticationError: HTTP 401")
    assert result.stderr.count("\n") == 1
    assert wrong not in result.output
    assert_no_secret(result.output)


def test_get_options_beat_the_environment(server: ServerThread) -> None:
    env = cli_env(CHIRP_API_KEY="sk_test_app_notthekey", CHIRP_BASE_URL="http://127.0.0.1:9")

    result = invoke(
        ["--api-key", server.api_key, "--base-url", server.base_url, "calls", "get", CALL_ID],
        env=env,
    )

    assert result.exit_code == 0
    assert json.loads(result.stdout)["id"] == CALL_ID


def test_get_retries_a_503_unless_max_retries_is_0(server: ServerThread) -> None:
    server.call(lambda s: s.script(CALL_ID, Fault.status(503, retry_after_ms=1)))
    retried = invoke(["calls", "get", CALL_ID], env=cli_env(server))
    server.call(lambda s: s.script(CALL_ID, Fault.status(503, retry_after_ms=1)))
    not_retried = invoke(["--max-retries", "0", "calls", "get", CALL_ID], env=cli_env(server))

    assert retried.exit_code == 0
    assert not_retried.exit_code == 1
    assert not_retried.stderr.startswith("error: InternalServerError: HTTP 503")


def test_get_times_out_per_attempt_with_timeout_option(server: ServerThread) -> None:
    server.call(lambda s: s.script(CALL_ID, Fault.delay(SERVER_DELAY)))

    result = invoke(
        ["--timeout", "0.05", "--max-retries", "0", "calls", "get", CALL_ID], env=cli_env(server)
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: APITimeoutError: ")


def test_get_rejects_an_invalid_timeout_as_usage_error(server: ServerThread) -> None:
    result = invoke(["--timeout", "-1", "calls", "get", CALL_ID], env=cli_env(server))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ConfigurationError: ")


def test_get_rejects_an_unknown_format(server: ServerThread) -> None:
    result = invoke(["calls", "get", CALL_ID, "--format", "xml"], env=cli_env(server))

    assert result.exit_code == 2
    assert result.stdout == ""


def test_get_debug_log_goes_to_stderr_without_the_key(server: ServerThread) -> None:
    result = run_cli(
        ["--log-level", "debug", "calls", "get", CALL_ID, "--format", "table"],
        env=cli_env(server),
    )

    assert result.returncode == 0
    assert f"DEBUG chirp_async: GET /v1/calls/{CALL_ID} -> 200" in result.stderr
    assert CALL_ID in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_get_key_given_as_option_is_never_printed(server: ServerThread) -> None:
    for args in (
        ["--api-key", SECRET_KEY, "--base-url", server.base_url, "calls", "get", CALL_ID],
        ["--api-key", SECRET_KEY, "--base-url", server.base_url, "calls", "get", MISSING_ID],
        ["--api-key", SECRET_KEY, "--base-url", "ftp://nowhere", "calls", "get", CALL_ID],
        ["--api-key", SECRET_KEY, "--timeout", "nan", "calls", "get", CALL_ID],
        ["--api-key", SECRET_KEY, "--help"],
    ):
        result = invoke(args)
        assert result.exit_code in (0, 1, 2, 3)
        assert_no_secret(result.output)


def test_loop_option_picks_the_event_loop_and_rejects_unknown_ones(server: ServerThread) -> None:
    for choice in ("asyncio", "uvloop", "AUTO"):
        result = invoke(["--loop", choice, "calls", "get", CALL_ID], env=cli_env(server))
        assert result.exit_code == 0, (choice, result.stderr)
        assert json.loads(result.stdout) == server.call_json(CALL_ID)

    result = invoke(["--loop", "trio", "calls", "get", CALL_ID], env=cli_env(server))
    assert result.exit_code == 2
    message = " ".join(result.stderr.replace("│", " ").split())  # unwrap the error box
    assert "Invalid value for '--loop'" in message
    assert "'trio' is not one of 'auto', 'asyncio', 'uvloop'" in message


def test_chirp_loop_environment_variable_is_read(server: ServerThread) -> None:
    env = {**cli_env(server), "CHIRP_LOOP": "nonsense"}
    result = invoke(["calls", "get", CALL_ID], env=env)
    assert result.exit_code == 2
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "'nonsense' is not one of" in message
