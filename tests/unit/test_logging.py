"""The chirp_async logger: CHIRP_LOG opt-in, debug records per attempt, info per retry."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import aiohttp
import pytest
from aioresponses import aioresponses
from unit_support import CALL_ID, CALL_URL, EXAMPLE_BODY, FAST_RETRY

from chirp_async import AsyncChirp, NotFoundError
from chirp_async._logging import setup_logging_from_env

PATH = f"/v1/calls/{CALL_ID}"


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The package logger, with its level, handlers and flags restored afterwards."""
    logger = logging.getLogger("chirp_async")
    saved = (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
    yield logger
    logger.setLevel(saved[0])
    logger.handlers[:] = saved[1]
    logger.propagate = saved[2]
    logger.disabled = saved[3]


def _sdk_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "chirp_async"]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("debug", logging.DEBUG),
        ("DEBUG", logging.DEBUG),
        (" info ", logging.INFO),
        ("warning", logging.WARNING),
    ],
)
def test_chirp_log_sets_the_logger_level_when_a_client_is_built(
    sdk_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    api_key: str,
    value: str,
    level: int,
) -> None:
    sdk_logger.setLevel(logging.NOTSET)
    monkeypatch.setenv("CHIRP_LOG", value)
    AsyncChirp(api_key)
    assert sdk_logger.level == level


@pytest.mark.parametrize("value", [None, "", "verbose", "trace"])
def test_without_a_known_chirp_log_the_logger_is_untouched(
    sdk_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    api_key: str,
    value: str | None,
) -> None:
    sdk_logger.setLevel(logging.NOTSET)
    handlers = list(sdk_logger.handlers)
    if value is not None:
        monkeypatch.setenv("CHIRP_LOG", value)
    if value:
        with pytest.warns(UserWarning) as caught:
            AsyncChirp(api_key)
        assert [str(w.message) for w in caught] == [
            f"CHIRP_LOG={value!r} is not one of debug, info, warning; ignored"
        ]
        assert caught[0].filename == __file__  # points at the line that built the client
    else:
        AsyncChirp(api_key)
    assert sdk_logger.level == logging.NOTSET
    assert sdk_logger.handlers == handlers


def test_chirp_log_adds_one_stderr_handler_when_logging_is_unconfigured(
    sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest's capture handlers sit on the root logger during the test body: hide them.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    sdk_logger.handlers[:] = []
    setup_logging_from_env({"CHIRP_LOG": "debug"})
    setup_logging_from_env({"CHIRP_LOG": "debug"})
    assert len(sdk_logger.handlers) == 1
    assert type(sdk_logger.handlers[0]) is logging.StreamHandler


def test_chirp_log_adds_no_handler_when_the_root_logger_has_one(
    sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk_logger.handlers[:] = []
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])
    setup_logging_from_env({"CHIRP_LOG": "info"})
    assert sdk_logger.handlers == []
    assert sdk_logger.level == logging.INFO


async def test_debug_record_per_attempt_has_method_path_status_and_attempt(
    sdk_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
    make_client: Callable[..., AsyncChirp],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CHIRP_LOG", "debug")
    client = make_client()
    assert sdk_logger.level == logging.DEBUG
    with aioresponses() as mock:
        mock.get(CALL_URL, status=503, headers={**FAST_RETRY, "x-request-id": "req_a"})
        mock.get(CALL_URL, body=EXAMPLE_BODY, headers={"x-request-id": "req_b"})
        await client.calls.get(CALL_ID)
    debug = [r.getMessage() for r in _sdk_records(caplog) if r.levelno == logging.DEBUG]
    assert len(debug) == 2
    assert re.fullmatch(
        rf"GET {re.escape(PATH)} -> 503 \(attempt 1, \d+\.\d ms, request_id=req_a\)", debug[0]
    )
    assert re.fullmatch(
        rf"GET {re.escape(PATH)} -> 200 \(attempt 2, \d+\.\d ms, request_id=req_b\)", debug[1]
    )


async def test_retry_is_logged_at_info(
    sdk_logger: logging.Logger,
    make_client: Callable[..., AsyncChirp],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chirp_async")
    client = make_client(max_retries=2)
    with aioresponses() as mock:
        mock.get(CALL_URL, status=503, headers={"retry-after-ms": "5"})
        mock.get(CALL_URL, status=429, headers={"retry-after-ms": "10"})
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
    records = _sdk_records(caplog)
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert [r.getMessage() for r in records] == [
        f"GET {PATH} failed (HTTP 503); retry 1 of 2 in 0.01 s",
        f"GET {PATH} failed (HTTP 429); retry 2 of 2 in 0.01 s",
    ]


async def test_connection_error_retry_is_logged_with_the_error_class(
    sdk_logger: logging.Logger,
    make_client: Callable[..., AsyncChirp],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chirp_async")
    client = make_client(max_retries=1)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=aiohttp.ClientConnectionError())
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
    (record,) = _sdk_records(caplog)
    assert record.levelno == logging.INFO
    assert re.fullmatch(
        rf"GET {re.escape(PATH)} failed \(APIConnectionError\); retry 1 of 1 in \d\.\d\d s",
        record.getMessage(),
    )


async def test_final_error_status_is_logged_at_debug_only(
    sdk_logger: logging.Logger,
    make_client: Callable[..., AsyncChirp],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="chirp_async")
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, status=404, payload={"error": {"type": "x", "message": "gone"}})
        with pytest.raises(NotFoundError):
            await client.calls.get(CALL_ID)
    records = _sdk_records(caplog)
    assert [r.levelno for r in records] == [logging.DEBUG]
    assert records[0].getMessage().startswith(f"GET {PATH} -> 404 (attempt 1, ")


async def test_nothing_is_logged_below_the_configured_level(
    sdk_logger: logging.Logger,
    make_client: Callable[..., AsyncChirp],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="chirp_async")
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, status=503, headers=FAST_RETRY)
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
    assert _sdk_records(caplog) == []
