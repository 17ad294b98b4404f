"""The API key never shows: not in reprs, messages, tracebacks (with locals) or logs."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final

import aiohttp
import pytest
from aioresponses import aioresponses
from unit_support import CALL_ID, CALL_URL, EXAMPLE_BODY, FAST_RETRY, raised

from chirp_async import AsyncChirp, ChirpError, Timeout
from chirp_async._config import Secret
from chirp_async._session import build_headers

Scenario = Callable[[Callable[..., AsyncChirp], aioresponses], Awaitable[BaseException]]

LIVE_KEY: Final = "sk_live_app_" + "LIVESECRET" + "0" * 17


def _fragments(api_key: str) -> tuple[str, ...]:
    """The whole key and the distinctive parts of it, none of which may appear."""
    return (api_key, "UNITSECRET", api_key[-20:])


def _assert_hidden(text: str, api_key: str) -> None:
    for fragment in _fragments(api_key):
        assert fragment not in text, f"{fragment!r} leaked into: {text[:2000]}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# --- scenarios that end in an exception ----------------------------------------------------


async def _status_401(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make(max_retries=0)
    body = {"error": {"type": "authentication_error", "message": "Invalid API key"}}
    mock.get(CALL_URL, status=401, payload=body, headers={"x-request-id": "req_1"})
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _status_401_echoing_key(
    make: Callable[..., AsyncChirp], mock: aioresponses
) -> BaseException:
    client = make(max_retries=0)
    key = client._config.api_key.reveal()
    body = {"error": {"type": "authentication_error", "message": f"Invalid key {key}"}}
    mock.get(CALL_URL, status=401, payload=body)
    del key, body
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _status_429(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make(max_retries=0)
    body = {"error": "Rate limit exceeded. Try again in 30 seconds."}
    mock.get(CALL_URL, status=429, payload=body, headers={"Retry-After": "30"})
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _status_503_after_retries(
    make: Callable[..., AsyncChirp], mock: aioresponses
) -> BaseException:
    client = make(max_retries=2)
    mock.get(CALL_URL, status=503, body="<html>down</html>", headers=FAST_RETRY, repeat=True)
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _connection_error(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make(max_retries=1)
    mock.get(CALL_URL, exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _timeout(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make(max_retries=1, timeout=Timeout(2.0, connect=1.0))
    mock.get(CALL_URL, timeout=True, repeat=True)
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _malformed_200(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make()
    mock.get(CALL_URL, body=b'{"id": "call_x"}')
    return await raised(client.calls.get(CALL_ID), ChirpError)


async def _invalid_call_id(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make()
    return await raised(client.calls.get("call_../../admin"), ChirpError)


async def _closed_client(make: Callable[..., AsyncChirp], mock: aioresponses) -> BaseException:
    client = make()
    await client.close()
    return await raised(client.calls.get(CALL_ID), ChirpError)


SCENARIOS: Final[dict[str, Scenario]] = {
    "401": _status_401,
    "401-echoing-key": _status_401_echoing_key,
    "429": _status_429,
    "503-after-retries": _status_503_after_retries,
    "connection-error": _connection_error,
    "timeout": _timeout,
    "malformed-200": _malformed_200,
    "invalid-call-id": _invalid_call_id,
    "closed-client": _closed_client,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_errors_hide_the_key_in_str_repr_attributes_and_traceback(
    make_client: Callable[..., AsyncChirp], api_key: str, name: str
) -> None:
    with aioresponses() as mock:
        exc = await SCENARIOS[name](make_client, mock)
    assert isinstance(exc, ChirpError)
    for link in _chain(exc):
        _assert_hidden(str(link), api_key)
        _assert_hidden(repr(link), api_key)
        _assert_hidden(repr(link.args), api_key)
        _assert_hidden(repr(vars(link)), api_key)
    _assert_hidden("".join(traceback.format_exception(exc)), api_key)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_errors_hide_the_key_in_tracebacks_with_locals(
    make_client: Callable[..., AsyncChirp], api_key: str, name: str
) -> None:
    with aioresponses() as mock:
        exc = await SCENARIOS[name](make_client, mock)
    formatted = traceback.TracebackException.from_exception(exc, capture_locals=True).format()
    text = "".join(formatted)
    assert "Traceback (most recent call last)" in text
    _assert_hidden(text, api_key)


@pytest.mark.parametrize(
    "make_bad_key",
    [
        lambda key: "sk_admin_" + key.removeprefix("sk_test_app_"),
        lambda key: key + "\n",
        lambda key: key[:22] + " " + key[22:],
    ],
    ids=["admin-key", "trailing-newline", "inner-space"],
)
def test_key_errors_hide_the_key_in_str_repr_and_traceback(
    api_key: str, make_bad_key: Callable[[str], str]
) -> None:
    with pytest.raises((ChirpError, ValueError)) as info:
        AsyncChirp(make_bad_key(api_key))
    exc = info.value
    for link in _chain(exc):
        _assert_hidden(str(link), api_key)
        _assert_hidden(repr(link), api_key)
    _assert_hidden("".join(traceback.format_exception(exc)), api_key)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "http://api.example.com"},
        {"timeout": -1},
        {"default_headers": {"Authorization": "Bearer x"}},
        {"session": "not a session"},
    ],
)
def test_option_errors_hide_the_key(api_key: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        AsyncChirp(api_key, **kwargs)
    _assert_hidden(str(info.value), api_key)
    _assert_hidden(repr(info.value), api_key)
    _assert_hidden("".join(traceback.format_exception(info.value)), api_key)


# --- reprs ---------------------------------------------------------------------------------


def test_client_repr_masks_the_key(api_key: str) -> None:
    client = AsyncChirp(api_key)
    assert repr(client) == (
        "AsyncChirp(base_url='https://api.buildwithchirp.com', api_key='sk_test_app_***', "
        "timeout=Timeout(total=30.0, connect=None), max_retries=2)"
    )
    _assert_hidden(repr(client.with_options(max_retries=0)), api_key)
    _assert_hidden(repr(client._config), api_key)
    _assert_hidden(str(client._config), api_key)
    _assert_hidden(repr(build_headers(client._config)), api_key)
    _assert_hidden(repr(client._transport.scrubber), api_key)


async def test_session_authorization_header_still_sends_the_key(api_key: str) -> None:
    async with AsyncChirp(api_key) as client:
        headers = client._shared.pool.session().headers
        assert headers["Authorization"] == f"Bearer {api_key}"
        assert repr(headers["Authorization"]) == "'***'"
        _assert_hidden(repr(headers), api_key)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("sk_test_app_" + "UNITSECRET" + "q8Zt3LmV0xK5pR2wN7aJ", "Secret('sk_test_app_***')"),
        (LIVE_KEY, "Secret('sk_live_app_***')"),
        ("sk_admin_ADMINSECRET", "Secret('sk_admin_***')"),
        ("opaque-UNITSECRET-key", "Secret('***')"),
        ("", "Secret('***')"),
    ],
)
def test_secret_repr_shows_only_the_prefix(value: str, shown: str) -> None:
    secret = Secret(value)
    assert repr(secret) == shown
    assert str(secret) == shown
    assert f"{secret}" == shown
    assert secret.reveal() == value


def test_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret("sk_test_app_UNITSECRET"))


def test_secret_compares_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert hash(Secret("a")) == hash(Secret("a"))


# --- logs ----------------------------------------------------------------------------------


async def test_debug_logs_never_contain_the_key(
    make_client: Callable[..., AsyncChirp], api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chirp_async")
    client = make_client(max_retries=1)
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY)  # success
        mock.get(CALL_URL, status=503, headers=FAST_RETRY)  # retry ...
        mock.get(CALL_URL, body=EXAMPLE_BODY)  # ... then success
        mock.get(CALL_URL, status=401, payload={"error": {"type": "a", "message": api_key}})
        mock.get(CALL_URL, status=401)  # failure after a retry-less status
        mock.get(CALL_URL, exception=aiohttp.ClientConnectionError(), repeat=True)
        await client.calls.get(CALL_ID)
        await client.calls.get(CALL_ID)
        with pytest.raises(ChirpError):
            await client.calls.get(CALL_ID)
        with pytest.raises(ChirpError):
            await client.calls.get(CALL_ID)
        with pytest.raises(ChirpError):
            await client.calls.get(CALL_ID)
    records = [r for r in caplog.records if r.name.startswith("chirp_async")]
    assert {r.levelno for r in records} == {logging.DEBUG, logging.INFO}
    assert len(records) >= 6
    for record in records:
        _assert_hidden(record.getMessage(), api_key)
        _assert_hidden(repr(record.args), api_key)
        _assert_hidden(repr(record.__dict__), api_key)
    _assert_hidden(caplog.text, api_key)


# --- found while the unit suite was written ---------------------------------------------


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
