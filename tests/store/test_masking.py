"""The store's password never shows: not in a repr, a log line, an exception or a traceback."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import anyio
import pytest

from chirp_async.redis import RateLimiterUnavailableError, RedisCallCache, RedisRateLimiter
from chirp_async.redis._url import mask_url, redact, url_secrets
from chirp_async.testing import StoreServer

from .helpers import KEY_ID, STORE_PASSWORD, FakeClock, make_call

WRONG_PASSWORD = "wrongPW-83jdK2"


@pytest.fixture
def locked_store() -> Iterator[StoreServer]:
    with StoreServer(password=STORE_PASSWORD) as server:
        yield server


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://app:hunter2@db.internal:6380/2", "redis://app:***@db.internal:6380/2"),
        ("rediss://:p%40ss%3Aw@host/0", "rediss://:***@host/0"),
        (
            "redis://127.0.0.1:6379/0?password=hunter2&db=1",
            "redis://127.0.0.1:6379/0?password=***&db=1",
        ),
        (
            "unix:///run/redis.sock?db=0&password=hunter2",
            "unix:///run/redis.sock?db=0&password=***",
        ),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://app@127.0.0.1/0", "redis://app@127.0.0.1/0"),
    ],
)
def test_mask_url_hides_every_password(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_url_secrets_lists_the_encoded_and_decoded_forms() -> None:
    secrets = url_secrets("redis://:p%40ss%3Aw@host/0?password=two%20words")
    assert set(secrets) == {"p%40ss%3Aw", "p@ss:w", "two%20words", "two words"}
    assert redact("AUTH p@ss:w failed; AUTH two words", secrets) == "AUTH *** failed; AUTH ***"
    assert url_secrets("redis://host/0") == ()


def test_unparseable_url_is_not_echoed() -> None:
    assert mask_url("redis://:pw@[::1") == "<unparseable store URL>"


def test_a_malformed_url_is_refused_at_once_with_the_password_masked() -> None:
    with pytest.raises(
        ValueError, match=r"invalid store URL 'redis://:\*\*\*@host:port/0'"
    ) as caught:
        RedisRateLimiter(f"redis://:{STORE_PASSWORD}@host:port/0")
    assert STORE_PASSWORD not in str(caught.value)
    with pytest.raises(ValueError, match="invalid store URL") as caught:
        RedisCallCache(f"redis://127.0.0.1:6379/0?password={STORE_PASSWORD}&db=x")
    assert STORE_PASSWORD not in str(caught.value)


async def test_repr_and_str_mask_the_password(locked_store: StoreServer) -> None:
    url = locked_store.url
    assert STORE_PASSWORD in url  # the URL itself must carry it, to connect
    async with RedisRateLimiter(url) as limiter, RedisCallCache(url) as cache:
        for text in (
            repr(limiter),
            str(limiter),
            limiter.store,
            repr(cache),
            str(cache),
            cache.store,
        ):
            assert STORE_PASSWORD not in text
            assert ":***@127.0.0.1:" in text
    assert STORE_PASSWORD not in repr(locked_store)
    assert "password='***'" in repr(locked_store)


async def test_a_wrong_password_is_refused_without_showing_either_password(
    locked_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = locked_store.url.replace(STORE_PASSWORD, WRONG_PASSWORD)
    async with RedisRateLimiter(url, on_unavailable="raise") as limiter:
        limiter.bind(key_id=KEY_ID, clock=FakeClock())
        with anyio.fail_after(20), pytest.raises(RateLimiterUnavailableError) as caught:
            await limiter.acquire()
    error = caught.value
    shown = [
        str(error),
        repr(error),
        error.store,
        "".join(traceback.format_exception(error)),  # the chained driver error included
        *(record.getMessage() for record in caplog.records),
        caplog.text,
    ]
    assert any("AuthenticationError" in text or "WRONGPASS" in text for text in shown)
    for text in shown:
        assert WRONG_PASSWORD not in text
        assert STORE_PASSWORD not in text


async def test_log_lines_of_an_outage_mask_the_password(
    locked_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    async with (
        RedisRateLimiter(locked_store.url) as limiter,
        RedisCallCache(locked_store.url) as cache,
    ):
        limiter.bind(key_id=KEY_ID, clock=clock)
        cache.bind(key_id=KEY_ID, clock=clock)
        await limiter.acquire()
        await cache.put(make_call())
        locked_store.kill()
        assert (await limiter.acquire_grant()).source == "local"
        assert await cache.get(make_call().id) is None
        await anyio.to_thread.run_sync(locked_store.restart)
        clock.advance(10)
        assert (await limiter.acquire_grant()).source == "store"
        await cache.put(make_call())
        assert await cache.get(make_call().id) == make_call()
    messages = [r.getMessage() for r in caplog.records if r.name == "chirp_async.redis"]
    assert len(messages) == 4  # an outage warning and a recovery note from each
    for text in (*messages, caplog.text):
        assert STORE_PASSWORD not in text
    assert all(":***@127.0.0.1:" in m for m in messages)
