"""Regression tests for SDK bugs found while the unit suite was written."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import aiohttp
import pytest
from aioresponses import aioresponses
from unit_support import CALL_ID, CALL_URL, EXAMPLE_BODY, raised

from chirp_async import (
    APIResponseValidationError,
    AsyncChirp,
    ChirpError,
    NotFoundError,
)
from chirp_async._models import parse_call


async def test_2xx_body_echoing_the_key_is_scrubbed(
    make_client: Callable[..., AsyncChirp], api_key: str
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, status=200, payload={"error": f"invalid key {api_key}"})
        exc = await raised(client.calls.get(CALL_ID), ChirpError)
    assert "UNITSECRET" not in str(exc)
    assert b"UNITSECRET" not in exc.body  # type: ignore[attr-defined]


def _build(**kwargs: object) -> BaseException:
    try:
        AsyncChirp(**kwargs)  # type: ignore[arg-type]
    except Exception as exc:
        return exc
    raise AssertionError


def test_constructor_error_traceback_with_locals_renders_and_hides_key(api_key: str) -> None:
    exc = _build(api_key=api_key, base_url="ftp://x")
    # drop the _build frame (it holds kwargs): start at AsyncChirp.__init__
    exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
    text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert "UNITSECRET" not in text


async def test_user_session_with_raise_for_status_still_maps_statuses(api_key: str) -> None:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = AsyncChirp(api_key, session=session, max_retries=0)
        with aioresponses() as mock:
            mock.get(CALL_URL, status=404, payload={"error": {"type": "x", "message": "gone"}})
            with pytest.raises(NotFoundError):
                await client.calls.get(CALL_ID)


async def test_timeout_message_without_connect_limit(
    make_client: Callable[..., AsyncChirp],
) -> None:
    import asyncio

    client = make_client(max_retries=0, timeout=5)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=asyncio.TimeoutError())
        exc = await raised(client.calls.get(CALL_ID), ChirpError)
    assert str(exc) == "Request timed out (total=5.0s per attempt; TimeoutError)"


def test_base_url_with_space_in_host_is_rejected(api_key: str) -> None:
    with pytest.raises(ValueError, match="invalid host name"):
        AsyncChirp(api_key, base_url="https:// bad host")


def test_offsetless_timestamp_is_rejected() -> None:
    body = EXAMPLE_BODY.replace(
        b'"createdAt":"2026-01-15T10:30:00Z"', b'"createdAt":"2026-01-15T10:30:00"'
    )
    assert body != EXAMPLE_BODY
    with pytest.raises(APIResponseValidationError, match=r"createdAt"):
        parse_call(body)
