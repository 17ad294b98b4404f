"""The API key never appears in a repr, a message, a traceback (with locals) or a log record."""

from __future__ import annotations

import logging
import traceback

import pytest

from chirp_async import APIError, AsyncChirp, ChirpError
from chirp_async.testing import Fault, MockChirpServer

from .conftest import SECRET_KEY, ClientFactory

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"


def _everything_printable(exc: BaseException) -> str:
    # The test's own frames hold the key on purpose (scripted bodies); judge the SDK's.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    exc = exc.with_traceback(tb)
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    parts.append(
        "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    )
    for name, value in vars(exc).items():
        parts.append(f"{name}={value!r}")
    return "\n".join(parts)


async def _collect_errors(client: AsyncChirp, server: MockChirpServer) -> list[ChirpError]:
    errors: list[ChirpError] = []
    scripts: list[tuple[int | Fault, ...]] = [
        (404,),
        (401,),
        (Fault.status(500, body={"error": {"type": "api_error", "message": SECRET_KEY}}),) * 3,
        (Fault.status(429, retry_after="0"),) * 3,
        (Fault.reset(),) * 6,
        (Fault.reset_after_headers(),) * 6,
        (Fault.malformed(),),
        (Fault.delay(5.0),) * 3,
    ]
    for steps in scripts:
        server.script(CALL_ID, *steps)
        try:
            await client.calls.get(CALL_ID)
        except APIError as exc:
            errors.append(exc)
    try:
        await client.calls.get("call_bad")
    except ChirpError as exc:
        errors.append(exc)
    return errors


async def test_key_never_leaks_in_errors_tracebacks_or_logs(
    make_client: ClientFactory,
    server: MockChirpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert server.api_key == SECRET_KEY
    client = make_client(timeout=0.2)

    with caplog.at_level(logging.DEBUG, logger="chirp_async"):
        await client.calls.get(CALL_ID)
        errors = await _collect_errors(client, server)

    assert len(errors) == 9
    for error in errors:
        assert SECRET_KEY not in _everything_printable(error), type(error)
    assert caplog.records, "DEBUG logging produced no records"
    assert any(r.levelno == logging.INFO for r in caplog.records)  # the retries
    for record in caplog.records:
        assert SECRET_KEY not in record.getMessage()
        assert SECRET_KEY not in repr(record.args)
    assert SECRET_KEY not in repr(client)
    assert SECRET_KEY not in str(client)


async def test_echoed_key_in_an_error_body_is_scrubbed(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(
        CALL_ID,
        Fault.status(401, body={"error": {"type": "authentication_error", "message": SECRET_KEY}}),
    )

    with pytest.raises(APIError) as info:
        await client.calls.get(CALL_ID)

    assert SECRET_KEY not in _everything_printable(info.value)
    assert "***" in str(info.value)
