"""A rejected key stops the batch: exit 3, one line on stderr, no lines for IDs not sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chirp_async import (
    AuthenticationError,
    BatchAbortedError,
    ChirpError,
    NotFoundError,
    PermissionDeniedError,
    rejects_key,
)
from chirp_async.cli._batch import _Stop
from chirp_async.cli._rejection import KeyRejection
from chirp_async.testing import Fault

from .conftest import ServerFactory
from .helpers import (
    CALL_ID,
    SECRET_KEY,
    ServerThread,
    assert_no_secret,
    call_record,
    cli_env,
    invoke,
    parse_lines,
    run_cli,
)

WRONG_KEY = "sk_test_app_WRONG"
ID_COUNT = 3000
NOT_KEY_LEVEL_403 = Fault.status(
    403, body={"error": {"type": "invalid_request_error", "message": "not yours"}}
)


def _ids(count: int) -> list[str]:
    return [f"call_{n:027d}" for n in range(count)]


def _ids_file(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("# to export\n" + "\n".join(ids) + "\n")
    return path


def _requests(server: ServerThread) -> int:
    return server.call(lambda s: s.request_count)


def test_wrong_key_sends_one_request_and_reports_the_rest_as_not_sent(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids_file = _ids_file(tmp_path, _ids(ID_COUNT))
    env = cli_env(server, CHIRP_API_KEY=WRONG_KEY)

    result = run_cli(["calls", "get-many", "-i", str(ids_file), "-c", "1"], env=env)

    assert result.returncode == 3
    assert result.stdout == ""  # the 401 says nothing about the ID: no line for it either
    assert result.stderr == (
        "error: the API key was rejected (401) after 1 request; 2,999 IDs not sent; "
        "check --api-key or CHIRP_API_KEY\n"
    )
    assert _requests(server) == 1


def test_wrong_key_at_default_concurrency_counts_requests_and_ids_not_sent(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids_file = _ids_file(tmp_path, _ids(ID_COUNT))

    result = run_cli(
        ["calls", "get-many", "-i", str(ids_file)], env=cli_env(server, CHIRP_API_KEY=WRONG_KEY)
    )

    requests = _requests(server)
    assert result.returncode == 3
    assert result.stdout == ""
    assert 1 <= requests <= 16  # at most what was in flight when the first 401 came back
    plural = "request" if requests == 1 else "requests"
    assert result.stderr == (
        f"error: the API key was rejected (401) after {requests} {plural}; "
        f"{ID_COUNT - requests:,} IDs not sent; check --api-key or CHIRP_API_KEY\n"
    )
    assert_no_secret(result.stdout, result.stderr)


def test_calls_fetched_before_the_rejection_are_written(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids = _ids(5)
    server.call(lambda s: s.script(ids[2], 401))  # the key is revoked mid-run
    ids_file = _ids_file(tmp_path, ids)

    result = run_cli(["calls", "get-many", "-i", str(ids_file), "-c", "1"], env=cli_env(server))

    assert result.returncode == 3
    assert parse_lines(result.stdout) == [call_record(i, server) for i in ids[:2]]
    assert result.stderr == (
        "error: the API key was rejected (401) after 3 requests (2 lines written); "
        "2 IDs not sent; check --api-key or CHIRP_API_KEY\n"
    )
    assert _requests(server) == 3


def test_a_restricted_account_stops_the_batch_too(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids = _ids(5)
    server.call(lambda s: s.script(ids[0], 403))  # code account_restricted
    ids_file = _ids_file(tmp_path, ids)

    result = run_cli(["calls", "get-many", "-i", str(ids_file), "-c", "1"], env=cli_env(server))

    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (
        "error: the API key was rejected (403 account_restricted) after 1 request; "
        "4 IDs not sent; the key may not be used for this account\n"
    )
    assert _requests(server) == 1


def test_a_403_about_the_id_is_an_ordinary_failure(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids = _ids(3)
    server.call(lambda s: s.script(ids[0], NOT_KEY_LEVEL_403))
    ids_file = _ids_file(tmp_path, ids)

    result = run_cli(["calls", "get-many", "-i", str(ids_file), "-c", "1"], env=cli_env(server))

    assert result.returncode == 1
    records = {record["id"]: record for record in parse_lines(result.stdout)}
    assert records[ids[0]]["error"]["type"] == "PermissionDeniedError"
    assert records[ids[0]]["error"]["status"] == 403
    assert [records[i] for i in ids[1:]] == [call_record(i, server) for i in ids[1:]]
    assert result.stderr.splitlines()[-1] == "  by error:  PermissionDeniedError 1"


def test_calls_get_with_a_rejected_key_prints_its_error_line_and_exits_3(
    server: ServerThread,
) -> None:
    result = run_cli(["calls", "get", CALL_ID], env=cli_env(server, CHIRP_API_KEY=WRONG_KEY))

    assert result.returncode == 3
    assert result.stdout == ""
    assert re.fullmatch(r"error: AuthenticationError: HTTP 401 [^\n]*\n", result.stderr)


def test_calls_get_on_a_restricted_account_exits_3(server: ServerThread) -> None:
    server.call(lambda s: s.script(CALL_ID, 403))

    result = run_cli(["calls", "get", CALL_ID], env=cli_env(server))

    assert result.returncode == 3
    assert result.stderr.startswith("error: PermissionDeniedError: HTTP 403 ")
    assert "code=account_restricted" in result.stderr


@pytest.mark.parametrize(
    ("error", "rejected"),
    [
        (AuthenticationError("x", status_code=401), True),
        (AuthenticationError("x", status_code=401, type="invalid_request_error"), True),
        (PermissionDeniedError("x", status_code=403, code="account_restricted"), True),
        (PermissionDeniedError("x", status_code=403, type="authentication_error"), True),
        (PermissionDeniedError("x", status_code=403, type="invalid_request_error"), False),
        (PermissionDeniedError("x", status_code=403), False),
        (NotFoundError("x", status_code=404, type="authentication_error"), False),
        (ChirpError("x"), False),
    ],
)
def test_a_rejected_key_is_a_401_or_a_key_level_403(error: ChirpError, rejected: bool) -> None:
    assert rejects_key(error) is rejected


def test_the_key_is_never_echoed(make_server: ServerFactory, tmp_path: Path) -> None:
    server = make_server()
    ids_file = _ids_file(tmp_path, _ids(3))
    wrong = SECRET_KEY[:-4] + "ZZZZ"

    result = run_cli(
        ["--api-key", wrong, "calls", "get-many", "-i", str(ids_file)],
        env=cli_env(server, CHIRP_API_KEY=""),
    )

    assert result.returncode == 3
    assert wrong not in result.stderr
    assert wrong[len("sk_test_app_") :] not in result.stderr


def test_in_process_the_same_batch_stops_the_same_way(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids_file = _ids_file(tmp_path, _ids(10))

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "-c", "1"],
        env=cli_env(server, CHIRP_API_KEY=WRONG_KEY),
    )

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        "error: the API key was rejected (401) after 1 request; 9 IDs not sent; "
        "check --api-key or CHIRP_API_KEY\n"
    )


def test_the_rejection_is_known_even_when_an_id_not_sent_comes_first() -> None:
    rejection = AuthenticationError("HTTP 401", status_code=401)
    stop = _Stop()

    assert stop.take(BatchAbortedError("call_a", rejection))
    assert stop.take(AuthenticationError("HTTP 401", status_code=401))
    assert not stop.take(NotFoundError("HTTP 404", status_code=404))

    assert (stop.rejection, stop.not_sent) == (rejection, 1)


@pytest.mark.parametrize(
    ("error", "requests", "not_sent", "written", "expected"),
    [
        (
            AuthenticationError("x", status_code=401),
            1,
            1,
            0,
            "(401) after 1 request; 1 ID not sent; check --api-key or CHIRP_API_KEY",
        ),
        (
            PermissionDeniedError("x", status_code=403, code="account_restricted"),
            1_234,
            56_789,
            1,
            "(403 account_restricted) after 1,234 requests (1 line written); 56,789 IDs not "
            "sent; the key may not be used for this account",
        ),
        (
            PermissionDeniedError("x", status_code=403, type="authentication_error"),
            2,
            0,
            0,
            "(403) after 2 requests; 0 IDs not sent; the key may not be used for this account",
        ),
    ],
)
def test_the_rejection_line(
    error: AuthenticationError | PermissionDeniedError,
    requests: int,
    not_sent: int,
    written: int,
    expected: str,
) -> None:
    line = KeyRejection(error, requests, not_sent, written).message()

    assert line == "error: the API key was rejected " + expected
