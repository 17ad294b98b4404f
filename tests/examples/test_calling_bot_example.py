"""examples/calling_bot.py end to end against the mock: webhooks, a call, its recording."""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from chirp_async import AsyncChirp, RetryPolicy
from chirp_async.testing import Fault, MockChirpServer
from chirp_async.webhooks import CallAnswered, CallEventData, WebhookApp, WebhookCall
from examples.calling_bot import (
    EVENTS,
    TOKEN_KEY,
    BotReport,
    CallingBot,
    mock_server,
    run_bot,
    serve_receiver,
)

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0
SECRET = "bot-secret-0123456789abcdef"
FROM = "+15551234567"
TO = "+15559876543"
LIFECYCLE = ["calls.initiated", "calls.answered", "calls.completed", "calls.recording.completed"]


class Harness:
    def __init__(self, server: MockChirpServer, client: AsyncChirp, bot: CallingBot, url: str):
        self.server, self.client, self.bot, self.url = server, client, bot, url


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    bot = CallingBot("token-of-this-test")
    async with mock_server() as server:
        runner, url = await serve_receiver(bot, SECRET, host="127.0.0.1", port=0)
        try:
            async with AsyncChirp(
                server.api_key,
                base_url=server.base_url,
                retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.002),
            ) as client:
                yield Harness(server, client, bot, url)
        finally:
            await runner.cleanup()


async def run(harness: Harness, output: Path) -> BotReport:
    return await run_bot(
        harness.client,
        harness.bot,
        from_=FROM,
        to=TO,
        webhook_url=harness.url,
        secret=SECRET,
        output_dir=output,
        talk_seconds=0.05,
        timeout=10.0,
    )


async def test_the_bot_places_records_hangs_up_and_downloads(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = harness.server

    report = await run(harness, tmp_path)

    call = report.call
    (call_id,) = server.calling.created_calls()
    assert call.id == call_id
    assert (call.status, call.end_reason) == ("completed", "hangup")
    assert call.metadata == {TOKEN_KEY: "token-of-this-test"}
    assert server.calling.commands(call_id) == [
        {"type": "start_recording", "format": "mp4"},
        {"type": "hangup"},
    ]
    (recording,) = server.calling.recordings(call_id)
    path = tmp_path / f"{recording['id']}.mp4"
    assert report.recording_path == path
    assert path.read_bytes() == server.calling.recording_content(recording["id"])
    assert report.recording_bytes == 1024 * 1024
    assert report.events == LIFECYCLE
    (storage,) = server.storage_requests
    assert "authorization" not in {name.lower() for name in storage.headers}
    assert server.webhooks.subscriptions() == []  # deleted at the end
    assert server.requests_to("POST /v1/webhooks") == 1
    assert server.requests_to("DELETE /v1/webhooks/{webhookId}") == 1
    await server.webhooks.wait_idle(5.0)
    deliveries = server.webhooks.deliveries
    assert sorted(d.event for d in deliveries) == sorted(LIFECYCLE)
    assert all(d.delivered and d.headers["X-Webhook-Secret"] == SECRET for d in deliveries)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"webhook {report.webhook_id} registered for {len(EVENTS)} events",
        f"call {call_id} placed (initiated)",
        "answered: recording for 0.05 s, then hanging up",
        "hangup accepted",
        f"recording {recording['id']}: 1,048,576 bytes saved to {path}",
        f"final call: completed, end reason hangup, {call.duration} s",
        f"webhook {report.webhook_id} deleted",
        "events received: " + ", ".join(LIFECYCLE),
    ]


async def test_a_lost_create_answer_is_found_by_its_token_not_placed_twice(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.server.script_route("POST /v1/calls", Fault.drop_response())

    report = await run(harness, tmp_path)

    (call_id,) = harness.server.calling.created_calls()
    assert report.call.id == call_id
    assert harness.server.requests_to("POST /v1/calls") == 1
    out = capsys.readouterr().out
    assert "create failed with its outcome unknown (APIConnectionError): not retrying" in out
    assert f"call {call_id} found by its token" in out


async def test_events_of_calls_with_another_token_are_ignored() -> None:
    bot = CallingBot("mine")
    call = WebhookCall(
        id="call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        direction="outbound",
        from_=FROM,
        to=TO,
        from_channel="pstn",
        to_channel="pstn",
        metadata={TOKEN_KEY: "someone-else"},
    )
    event = CallAnswered(
        event_id="evt_1",
        timestamp=datetime.datetime.now(datetime.timezone.utc),
        data=CallEventData(call=call, app=WebhookApp(id="app_test_x")),
    )

    await bot.on_event(event)

    assert bot.events == []
    assert not bot.answered.is_set()


def script_env(extra: dict[str, str]) -> dict[str, str]:
    cleared = ("CHIRP_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(cleared)}
    env.update(PYTHONWARNINGS="default", **extra)
    return env


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "examples/calling_bot.py", *args],
        cwd=REPO,
        env=script_env(env or {}),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def test_the_script_runs_against_its_embedded_mock(tmp_path: Path) -> None:
    result = run_script("--output", str(tmp_path), "--talk", "0.05")

    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"listening for webhooks on http://127\.0\.0\.1:\d+/webhooks/chirp", lines[0]
    )
    assert re.fullmatch(r"webhook whk_test_\w{27} registered for 5 events", lines[1])
    assert re.fullmatch(r"call call_test_\w{27} placed \(initiated\)", lines[2])
    assert lines[3:5] == ["answered: recording for 0.05 s, then hanging up", "hangup accepted"]
    match = re.fullmatch(
        r"recording (call_rec_test_\w{27}): 1,048,576 bytes saved to (.+)", lines[5]
    )
    assert match is not None
    assert Path(match[2]) == tmp_path / f"{match[1]}.mp4"
    assert Path(match[2]).stat().st_size == 1024 * 1024
    assert lines[6] == "final call: completed, end reason hangup, 0 s"
    assert re.fullmatch(r"webhook whk_test_\w{27} deleted", lines[7])
    assert lines[8:] == [
        "events received: " + ", ".join(LIFECYCLE),
        "storage requests carrying an Authorization header: 0",
    ]
    assert [p.name for p in tmp_path.iterdir()] == [f"{match[1]}.mp4"]


def test_the_script_wants_numbers_and_a_url_when_the_environment_names_an_api() -> None:
    env = {"CHIRP_BASE_URL": "http://127.0.0.1:9", "CHIRP_API_KEY": "sk_test_app_unused"}

    result = run_script(env=env)

    assert (result.returncode, result.stdout) == (2, "")
    assert "CHIRP_API_KEY or CHIRP_BASE_URL is set: pass --from, --to and --public-url" in (
        result.stderr
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_script_runs_against_the_api_in_the_environment(tmp_path: Path) -> None:
    port = free_port()
    async with mock_server() as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "examples/calling_bot.py",
            "--from",
            FROM,
            "--to",
            TO,
            "--public-url",
            f"http://127.0.0.1:{port}/webhooks/chirp",
            "--port",
            str(port),
            "--output",
            str(tmp_path),
            "--talk",
            "0.05",
            "--timeout",
            "10",
            cwd=REPO,
            env=script_env({"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        (call_id,) = server.calling.created_calls()
        commands = server.calling.commands(call_id)
        webhooks_left = server.webhooks.subscriptions()

    assert (process.returncode, stderr.decode()) == (0, "")
    out = stdout.decode().splitlines()
    assert out[0] == (
        f"listening for webhooks on http://127.0.0.1:{port}/webhooks/chirp "
        f"(public: http://127.0.0.1:{port}/webhooks/chirp)"
    )
    assert f"call {call_id} placed (initiated)" in out
    assert commands == [{"type": "start_recording", "format": "mp4"}, {"type": "hangup"}]
    assert webhooks_left == []
    assert len(os.listdir(tmp_path)) == 1


async def test_the_receiver_refuses_a_delivery_without_the_secret(harness: Harness) -> None:
    async with aiohttp.ClientSession() as session, session.post(harness.url, data=b"{}") as reply:
        status = reply.status

    assert status == 401
    assert harness.bot.events == []
