"""The calling commands as processes: calls create/hangup, voicemails list, recordings download."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chirp_async import AsyncChirp
from chirp_async.testing import Fault

from .conftest import ServerFactory
from .helpers import (
    SECRET_KEY,
    WAIT,
    ServerThread,
    assert_no_secret,
    cli_env,
    invoke,
    parse_lines,
    run_cli,
    subprocess_env,
)

FROM = "+15551234567"
TO = "+15559876543"
UNKNOWN_OUTCOME = (
    "note: the request may have taken effect although it failed (outcome unknown); "
    "check before running this again\n"
)


def created(server: ServerThread) -> list[str]:
    return server.call(lambda s: s.calling.created_calls())


def place_call(server: ServerThread) -> str:
    async def main() -> str:
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            return (await client.calls.create(from_=FROM, to=TO)).id

    return asyncio.run(main())


def completed_recording(server: ServerThread) -> str:
    """A call recorded from +5 s to +65 s and processed: its recording's ID."""

    async def main() -> str:
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            call = await client.calls.create(from_=FROM, to=TO)
            server.call(lambda s: s.advance(5))
            await client.calls.start_recording(call.id)
            server.call(lambda s: s.advance(60))
            await client.calls.hangup(call.id)
            server.call(lambda s: s.advance(5))
            (recording,) = (await client.recordings.list(call.id)).data
            return recording.id

    return asyncio.run(main())


# -- calls create ------------------------------------------------------------------------------


def test_create_prints_the_new_call_as_one_json_line(server: ServerThread) -> None:
    result = run_cli(
        ["calls", "create", "--from", FROM, "--to", TO, "--metadata", '{"order": "A-1"}'],
        env=cli_env(server),
    )

    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    (call,) = parse_lines(result.stdout)
    (call_id,) = created(server)
    assert call == server.call_json(call_id)
    assert (call["status"], call["metadata"]) == ("initiated", {"order": "A-1"})


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--to", "555-1234"], "error: InvalidParameterError: invalid to '555-1234' for channel"),
        (["--to-channel", "PSTN"], "error: InvalidParameterError: invalid to_channel 'PSTN'"),
        (["--metadata", "{oops"], "error: ValueError: --metadata is not JSON: "),
        (["--metadata", "[1, 2]"], "error: ValueError: --metadata must be a JSON object, got"),
    ],
)
def test_create_with_a_bad_argument_exits_2_and_sends_nothing(
    make_server: ServerFactory, options: list[str], error: str
) -> None:
    server = make_server()
    arguments = ["calls", "create", "--from", FROM, "--to", TO, *options]

    result = invoke(arguments, env=cli_env(server))

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(error)
    assert result.stderr.count("\n") == 1
    assert server.call(lambda s: s.request_count) == 0


def test_create_whose_answer_is_lost_exits_1_and_says_the_outcome_is_unknown(
    server: ServerThread,
) -> None:
    server.call(lambda s: s.script_route("POST /v1/calls", Fault.drop_response()))

    result = run_cli(["calls", "create", "--from", FROM, "--to", TO], env=cli_env(server))

    assert (result.returncode, result.stdout) == (1, "")
    first, note = result.stderr.splitlines(keepends=True)
    assert first.startswith("error: APIConnectionError: ")
    assert note == UNKNOWN_OUTCOME
    assert len(created(server)) == 1
    assert server.call(lambda s: s.requests_to("POST /v1/calls")) == 1


def test_create_with_an_unknown_channel_warns_on_one_line(server: ServerThread) -> None:
    result = run_cli(
        ["calls", "create", "--from", FROM, "--to", "sip:a@b", "--to-channel", "sip"],
        env=cli_env(server),
    )

    assert result.returncode == 1  # the mock knows three channels: 400
    warning, error = result.stderr.splitlines()
    assert warning == (
        "warning: to_channel='sip' is not a channel the API documents "
        "(pstn, webrtc, whatsapp); sending it anyway"
    )
    assert error.startswith("error: BadRequestError: HTTP 400")


def test_create_with_a_rejected_key_exits_3(server: ServerThread) -> None:
    env = cli_env(server, CHIRP_API_KEY="sk_test_app_WRONGkey0123456789abcdefgh")

    result = run_cli(["calls", "create", "--from", FROM, "--to", TO], env=env)

    assert result.returncode == 3
    assert result.stderr.startswith("error: AuthenticationError: HTTP 401")
    assert created(server) == []


# -- calls hangup ------------------------------------------------------------------------------


def test_hangup_prints_the_command_result_then_a_second_one_fails(server: ServerThread) -> None:
    call_id = place_call(server)

    first = run_cli(["calls", "hangup", call_id], env=cli_env(server))
    second = run_cli(["calls", "hangup", call_id], env=cli_env(server))

    assert (first.returncode, first.stderr) == (0, "")
    expected = {"callId": call_id, "command": "hangup", "status": "accepted"}
    assert json.loads(first.stdout) == expected
    assert server.call_json(call_id)["status"] == "canceled"
    assert (second.returncode, second.stdout) == (1, "")
    assert second.stderr.startswith("error: ConflictError: HTTP 409")
    assert UNKNOWN_OUTCOME not in second.stderr
    assert_no_secret(first.stdout, first.stderr, second.stderr)


def test_hangup_with_a_malformed_id_exits_2(server: ServerThread) -> None:
    result = invoke(["calls", "hangup", "call_\x1b]0;pwned\x07"], env=cli_env(server))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: InvalidCallIdError: invalid call ID")
    assert "\x1b" not in result.stderr
    assert server.call(lambda s: s.request_count) == 0


# -- voicemails list ---------------------------------------------------------------------------


def test_voicemails_list_prints_a_page(make_server: ServerFactory) -> None:
    server = make_server()
    ids = server.call(lambda s: s.calling.add_voicemails(25))

    default = run_cli(["voicemails", "list"], env=cli_env(server))
    page = run_cli(["voicemails", "list", "--limit", "5", "--offset", "20"], env=cli_env(server))

    assert default.returncode == 0
    assert [v["id"] for v in parse_lines(default.stdout)] == ids[::-1][:20]
    assert default.stderr == "listed 20 of 25 voicemails (offset 0)\n"
    assert [v["id"] for v in parse_lines(page.stdout)] == ids[::-1][20:]
    assert page.stderr == "listed 5 of 25 voicemails (offset 20)\n"
    first = parse_lines(default.stdout)[0]
    assert set(first) >= {"id", "callId", "callerNumber", "isRead", "createdAt"}


def test_voicemails_list_all_pages_through_every_voicemail_once(
    make_server: ServerFactory,
) -> None:
    server = make_server()
    ids = server.call(lambda s: s.calling.add_voicemails(250))

    result = run_cli(["voicemails", "list", "--all"], env=cli_env(server))

    assert (result.returncode, result.stderr) == (0, "listed 250 voicemails\n")
    assert [v["id"] for v in parse_lines(result.stdout)] == ids[::-1]
    assert server.call(lambda s: s.requests_to("GET /v1/calls/voicemails")) == 3


@pytest.mark.parametrize(
    "options", [["--all", "--limit", "3"], ["--all", "--offset", "1"], ["--limit", "0"]]
)
def test_voicemails_list_usage_errors_exit_2(
    make_server: ServerFactory, options: list[str]
) -> None:
    server = make_server()

    result = invoke(["voicemails", "list", *options], env=cli_env(server))

    assert (result.exit_code, result.stdout) == (2, "")
    assert server.call(lambda s: s.request_count) == 0


def test_voicemails_list_all_stops_quietly_when_stdout_closes(make_server: ServerFactory) -> None:
    server = make_server()
    server.call(lambda s: s.calling.add_voicemails(1000))  # far more than a pipe holds
    process = subprocess.Popen(
        [sys.executable, "-m", "chirp_async", "voicemails", "list", "--all"],
        env=subprocess_env(cli_env(server)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        process.stdout.close()
        _, stderr = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert json.loads(first)["id"].startswith("call_vm_test_")
    assert (process.returncode, stderr) == (141, b"")


# -- recordings download -----------------------------------------------------------------------


def test_download_writes_the_file_and_keeps_the_key_from_storage(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server(record_requests=True)
    recording_id = completed_recording(server)
    destination = tmp_path / "call.mp4"

    result = run_cli(
        ["recordings", "download", recording_id, "-o", str(destination)], env=cli_env(server)
    )

    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"wrote 1,048,576 bytes to {destination}\n"
    expected = server.call(lambda s: s.calling.recording_content(recording_id))
    assert destination.read_bytes() == expected
    storage = server.call(lambda s: s.storage_requests)
    assert len(storage) == 1
    assert all("authorization" not in {n.lower() for n in r.headers} for r in storage)
    assert all(SECRET_KEY not in value for r in storage for value in r.headers.values())


def test_download_to_stdout(make_server: ServerFactory) -> None:
    server = make_server()
    recording_id = completed_recording(server)

    result = subprocess.run(
        [sys.executable, "-m", "chirp_async", "recordings", "download", recording_id, "-o", "-"],
        env=subprocess_env(cli_env(server)),
        capture_output=True,
        timeout=WAIT,
        check=False,
    )

    assert (result.returncode, result.stderr) == (0, b"wrote 1,048,576 bytes to stdout\n")
    assert result.stdout == server.call(lambda s: s.calling.recording_content(recording_id))


def test_download_of_a_recording_not_completed_exits_1(
    server: ServerThread, tmp_path: Path
) -> None:
    async def main() -> str:
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            call = await client.calls.create(from_=FROM, to=TO)
            await client.calls.start_recording(call.id)
            (recording,) = (await client.recordings.list(call.id)).data
            return recording.id

    recording_id = asyncio.run(main())

    result = run_cli(
        ["recordings", "download", recording_id, "-o", str(tmp_path / "f.mp4")],
        env=cli_env(server),
    )

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: RecordingDownloadError: recording {recording_id} has no file to download: "
        "it is 'recording', not completed"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("recording_id", "output", "error"),
    [
        ("call_rec_nope", "f.mp4", "error: InvalidParameterError: invalid recording_id"),
        (None, "missing/f.mp4", "error: FileNotFoundError: "),
    ],
)
def test_download_usage_errors_exit_2(
    server: ServerThread,
    tmp_path: Path,
    recording_id: str | None,
    output: str,
    error: str,
) -> None:
    recording_id = recording_id or completed_recording(server)

    result = invoke(
        ["recordings", "download", recording_id, "-o", str(tmp_path / output)],
        env=cli_env(server),
    )

    assert result.exit_code == 2
    assert result.stderr.startswith(error)


@pytest.mark.parametrize(
    "command",
    [("calls", "create"), ("calls", "hangup"), ("voicemails", "list"), ("recordings", "download")],
)
def test_help_of_the_new_commands_lists_the_exit_statuses(command: tuple[str, ...]) -> None:
    result = run_cli([*command, "--help"], env={"COLUMNS": "300", "NO_COLOR": "1"})

    assert (result.returncode, result.stderr) == (0, "")
    text = " ".join(result.stdout.split())
    assert "Exit status: 0 " in text
    assert "3 when the API rejected the key" in text
    assert "<bool>" not in text
