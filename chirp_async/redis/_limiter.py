"""`RedisRateLimiter`: one API key's request budget shared by every process, through Redis.

Each acquire is one EVALSHA of a GCRA script (`_scripts.ACQUIRE_MANY`) that reads the
store's clock, reserves the next free slot of the key's budget and answers how long to
wait; the caller sleeps that long once. Acquires of one process that arrive while a call
is in flight go together in the next one (`AcquireBatcher`): at most one round trip per
acquire, far fewer under load. Slots are ``(period + margin) / limit`` apart on the store's
clock, first come first served across processes, so K processes sharing a key get the
budget spread evenly and no window of ``period`` seconds ever holds more than ``limit``
permits.

No burst is allowed, by design: the API counts requests in fixed windows whose alignment
the client does not know, and with slots ``period / limit`` apart a burst of ``b`` permits
would put ``limit + b - 1`` of them in some window. An idle key still grants its first
permit at once.

The margin added to each period, and its default, are `_margin`'s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final, Literal, final

from .._errors import APITimeoutError, ClientStateError
from .._limiter import LimiterState
from ._batcher import AcquireBatcher, SlotReply
from ._checks import check_positive_int, check_prefix, check_seconds
from ._errors import RateLimiterUnavailableError
from ._link import StoreDown, StoreLink, check_key_id
from ._margin import default_margin
from ._scripts import ACQUIRE_MANY, PAUSE, run_script
from ._view import US, Grant, LocalView, Reservation, as_int

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from types import TracebackType

    import redis.asyncio
    from typing_extensions import Self

    from .._clock import Clock
    from .._response import RateLimitInfo

__all__ = ["RedisRateLimiter"]

_STATE_TTL_MS: Final = 1_000
"""How long the key's state outlives its last slot or pause (it means nothing after)."""
_RESET_MARGIN: Final = 0.05
"""Seconds waited past ``X-RateLimit-Reset``, so that the next request lands in the new window."""
_RESET_SLACK: Final = 2.0
"""A reset may lie this many seconds beyond one period ahead of the store's clock (the API's
clock and the store's differ a little) and still be believed; one further away is ignored."""
_PAUSE_DEDUP: Final = 0.05
"""A Retry-After ending within this many seconds of a pause already known is not sent again
(a burst of 429s carries the same pause)."""


@final
class RedisRateLimiter:
    """Share one API key's rate limit among every process and machine that uses the key.

    Implements the client's `RateLimiter` protocol. Each acquire is one round trip to the
    store: a Lua script reserves the next free slot of the key's budget on the store's
    clock (GCRA, no burst: slots ``(period + margin) / limit`` apart, first come first
    served across processes) and says how long to wait; the caller sleeps once. A 429's
    ``Retry-After``, or a response saying the window is spent (``X-RateLimit-Remaining: 0``
    with a plausible ``X-RateLimit-Reset``), pauses every process's next slot until then.

    The client binds the limiter to its API key (`bind`); the store's entry is named by
    the key's fingerprint, never by the key. Until bound, `acquire` and `try_acquire`
    raise `ClientStateError` (there is no default key to share a budget under). Close it
    when done (`aclose` or ``async with``); a client you pass in stays open. A waiter
    cancelled while it sleeps does not give its slot back (that slot goes unused).

    Args:
        redis_url_or_client: ``redis://[:password@]host:port/db`` (or ``rediss://``,
            ``unix://``), or a ``redis.asyncio.Redis`` client. A client you pass keeps its
            own timeouts and retries: redis-py 6 and later retry a failed command 10 times
            with backoff by default, so a dead store then costs seconds per acquire before
            the fallback; pass ``retry=Retry(NoBackoff(), 1)`` and a ``socket_timeout``.
        limit: Requests allowed per ``period`` for the key (the API allows 120 a minute).
            Every process sharing the key must use the same ``limit`` and ``period``.
        period: The window, in seconds.
        margin: Seconds added to ``period`` when spacing slots, so that requests arriving
            up to that much later or earlier than granted still never put ``limit + 1``
            in one of the API's windows. 0 spaces slots exactly ``period / limit`` apart;
            ``None`` (the default) takes `default_margin`: one request of each window
            left unused, plus a little for jitter.
        on_unavailable: When the store does not answer: ``"local"`` paces this process
            alone at ``limit`` per ``period`` (one warning logged per outage) and returns
            to the store once it answers (so K processes may send K times the budget
            meanwhile, and the API's 429s pause them); ``"raise"`` raises
            `RateLimiterUnavailableError` on each acquire. A store that hangs costs one
            call at most twice ``store_timeout`` (one retry on a fresh connection).
        prefix: Prefix of the store's key names.
        store_timeout: Seconds allowed to connect and for each reply (own client only).
        recheck_interval: Seconds between two tries of a store that did not answer.
        max_connections: Connections the limiter's own pool may open.

    Raises:
        ValueError: An argument is out of range.
        TypeError: An argument is of the wrong type.

    Example:
        ```python
        from chirp_async import AsyncChirp
        from chirp_async.redis import RedisRateLimiter

        async with RedisRateLimiter("redis://127.0.0.1:6379/0") as limiter:
            async with AsyncChirp(rate_limiter=limiter) as client:
                calls = await client.calls.get_many(ids)
        ```
    """

    __slots__ = (
        "_batcher",
        "_clock",
        "_interval_us",
        "_key",
        "_key_id",
        "_limit",
        "_link",
        "_margin",
        "_on_unavailable",
        "_period",
        "_prefix",
        "_view",
    )

    def __init__(
        self,
        redis_url_or_client: str | redis.asyncio.Redis,
        *,
        limit: int = 120,
        period: float = 60.0,
        on_unavailable: Literal["local", "raise"] = "local",
        margin: float | None = None,
        prefix: str = "chirp_async",
        store_timeout: float = 1.0,
        recheck_interval: float = 5.0,
        max_connections: int = 16,
    ) -> None:
        self._limit = check_positive_int("limit", limit)
        self._period = check_seconds("period", period)
        self._margin = (
            default_margin(self._limit, self._period)
            if margin is None
            else check_seconds("margin", margin, minimum=0.0, allow_minimum=True)
        )
        if on_unavailable not in ("local", "raise"):
            raise ValueError(f"on_unavailable must be 'local' or 'raise', got {on_unavailable!r}")
        self._on_unavailable = on_unavailable
        self._prefix = check_prefix(prefix)
        # Rounded up: slots never closer than period / limit, so never more than limit a period.
        self._interval_us = math.ceil((self._period + self._margin) * US / self._limit)
        self._view = LocalView(self._interval_us / US)
        note = (
            f"pacing this process alone at {limit} per {self._period:g} s"
            if on_unavailable == "local"
            else "refusing to send (on_unavailable='raise')"
        )
        self._link = StoreLink(
            redis_url_or_client,
            timeout=store_timeout,
            recheck_interval=recheck_interval,
            max_connections=max_connections,
            what="RedisRateLimiter",
            fallback_note=note,
        )
        self._key_id: str | None = None
        self._key = ""
        self._clock: Clock | None = None
        self._batcher = AcquireBatcher(self._acquire_many)

    async def _acquire_many(self, max_waits: list[int]) -> list[SlotReply]:
        key = self._key
        args: list[str | int] = [self._interval_us, _STATE_TTL_MS, *max_waits]
        reply = await self._link.run(lambda client: run_script(client, ACQUIRE_MANY, [key], args))
        now_us, pause_us, why = as_int(reply[0]), as_int(reply[1]), reply[2]
        pairs = reply[3:]
        return [
            (as_int(pairs[i]), as_int(pairs[i + 1]), now_us, pause_us, why)
            for i in range(0, len(pairs), 2)
        ]

    @property
    def limit(self) -> int:
        """Requests allowed per `period`."""
        return self._limit

    @property
    def period(self) -> float:
        """The window, in seconds."""
        return self._period

    @property
    def margin(self) -> float:
        """Seconds added to `period` when spacing slots (`default_margin` unless given)."""
        return self._margin

    @property
    def interval(self) -> float:
        """Seconds between two slots: ``(period + margin) / limit``, rounded up to 1 µs."""
        return self._interval_us / US

    @property
    def store(self) -> str:
        """Where the store is, the password masked."""
        return self._link.display

    def bind(self, *, key_id: str, clock: Clock) -> None:
        """Tie the limiter to one API key and one clock; the client calls it when it is built.

        Binding again to the same key is allowed (a client's copies share the limiter)
        and keeps the first clock.

        Args:
            key_id: The API key's fingerprint (``Secret.fingerprint()``); it names the
                store's entry. The key itself is refused.
            clock: Sleeps and local time for this limiter's waits.

        Raises:
            ValueError: ``key_id`` is not a fingerprint.
            ConfigurationError: The limiter is bound to another key already.
        """
        self._key_id = check_key_id(key_id, current=self._key_id, what="RedisRateLimiter")
        self._key = f"{self._prefix}:ratelimit:{key_id}"
        if self._clock is None:
            self._clock = clock
            self._link.set_clock(clock)

    def _bound_clock(self) -> Clock:
        clock = self._clock
        if clock is None:
            raise ClientStateError(
                "RedisRateLimiter is not bound to an API key: pass it to "
                "AsyncChirp(rate_limiter=...), which binds it, or call "
                "limiter.bind(key_id=..., clock=...) first"
            )
        return clock

    def try_acquire(self) -> bool:
        """Take a permit without I/O if possible: only from the in-process fallback.

        Returns:
            ``True`` when the store is down (``on_unavailable="local"``) and the local
            fallback has a permit free now; else ``False`` (call `acquire`).

        Raises:
            ClientStateError: The limiter is not bound.
        """
        clock = self._bound_clock()
        if self._on_unavailable == "local":
            now = clock.monotonic()
            if self._link.resting(now):
                return self._view.fallback.reserve(now, 0.0)[0]
        return False

    async def acquire(self, timeout: float | None = None) -> None:
        """Wait for this process's slot of the key's shared budget.

        Args:
            timeout: Seconds the caller can still wait, or ``None`` for no limit.

        Raises:
            APITimeoutError: The next free slot is further away than ``timeout``; raised
                at once, and the slot is not taken.
            RateLimiterUnavailableError: The store does not answer and
                ``on_unavailable="raise"``.
            ClientStateError: The limiter is not bound, is closed, or is used from another
                event loop.
        """
        await self.acquire_grant(timeout)

    async def acquire_grant(self, timeout: float | None = None) -> Grant:
        """Like `acquire`, and say which slot was granted (for monitoring and tests).

        Args:
            timeout: Seconds the caller can still wait, or ``None`` for no limit.

        Returns:
            The slot's time, the wait, and whether the store or the fallback granted it.

        Raises:
            APITimeoutError: See `acquire`.
            RateLimiterUnavailableError: See `acquire`.
            ClientStateError: See `acquire`.
        """
        clock = self._bound_clock()
        if self._link.closed:
            raise ClientStateError(f"RedisRateLimiter for {self._link.display} is closed")
        start = clock.monotonic()
        while True:
            now = clock.monotonic()
            left = None if timeout is None else max(0.0, timeout - (now - start))
            found = await self._reserve(clock, now, left)
            if not found.reserved:
                assert left is not None  # only a bounded wait refuses
                raise APITimeoutError(self._timeout_message(found, left))
            view = self._view
            generation = view.generation
            if found.wait > 0:
                await clock.sleep(found.wait)
            # A pause learned while sleeping (a 429 here, or one another process pushed)
            # that is not over yet means the slot lies inside it: take a new one.
            if view.generation != generation and view.pause_end > clock.monotonic():
                continue
            return Grant(found.at, clock.monotonic() - start, found.source)

    async def _reserve(self, clock: Clock, now: float, left: float | None) -> Reservation:
        view = self._view
        if not self._link.resting(now):
            max_wait = -1 if left is None else round(left * US)
            try:
                granted, wait_us, now_us, pause_us, why = await self._batcher.reserve(max_wait)
            except StoreDown as down:
                self._unavailable(down)
            else:
                mono, wall = clock.monotonic(), clock.time()
                view.learn_pause(now_us, pause_us, why, mono, wall)
                wait = wait_us / US
                if granted:
                    view.note_slot(mono, wall, wait)
                paused = pause_us >= now_us + wait_us
                return Reservation(bool(granted), wait, (now_us + wait_us) / US, paused, "store")
        else:
            self._unavailable(None)
        reserved, wait = view.fallback.reserve(now, left)
        wall = clock.time()
        if reserved:
            view.note_slot(now, wall, wait)
        paused = view.fallback.paused_until >= now + wait
        return Reservation(reserved, wait, wall + wait, paused, "local")

    def _unavailable(self, down: StoreDown | None) -> None:
        """Raise under ``on_unavailable="raise"``; else return (the caller falls back)."""
        if self._on_unavailable == "local":
            return
        message = (
            f"{down}; the request was not sent (on_unavailable='raise')"
            if down is not None
            else f"the store {self._link.display} is unreachable (it is tried again every "
            f"{self._link.recheck_interval:g} s); the request was not sent "
            "(on_unavailable='raise')"
        )
        error = RateLimiterUnavailableError(message, store=self._link.display)
        raise error from (down.__cause__ if down is not None else None)

    def _timeout_message(self, found: Reservation, left: float) -> str:
        what = (
            "shared rate limit"
            if found.source == "store"
            else "rate limit (in-process fallback, the store is unreachable)"
        )
        if found.paused:
            what += (
                ", paused by the server's Retry-After"
                if self._view.pause_why == "retry_after"
                else ", paused until the server's rate-limit window resets"
            )
        return (
            f"{what}: next slot in {found.wait:.2f} s, more than the {left:.2f} s the call has left"
        )

    def observe(
        self, info: RateLimitInfo | None, status: int, retry_after: float | None
    ) -> Awaitable[None] | None:
        """Learn from an answer; push a server-ordered pause to every process.

        A 429 or 503 with ``Retry-After``, or ``X-RateLimit-Remaining: 0`` with an
        ``X-RateLimit-Reset`` at most one period (plus a little) ahead of the store's
        clock, moves the shared pause forward, so that every process's next slot comes
        after it. The pause also holds back this process's waiters and its fallback.

        Args:
            info: The response's ``X-RateLimit-*`` values, or ``None``.
            status: The HTTP status, or 0 when no response arrived.
            retry_after: The server's ``Retry-After`` in seconds, or ``None``.

        Returns:
            An awaitable that tells the store (the transport awaits it; it never raises
            for a store that does not answer), or ``None`` when there is nothing to tell.
        """
        clock = self._clock
        if clock is None:
            return None
        view = self._view
        if retry_after is not None and status in (429, 503):
            if not (retry_after > 0 and math.isfinite(retry_after)):
                return None
            now = clock.monotonic()
            end = now + retry_after
            if end <= view.pause_end + _PAUSE_DEDUP:
                return None
            view.note_pause(end, "retry_after", now, clock.time())
            if self._link.resting(now):
                return None
            delay_us = round(retry_after * US)
            return self._push_pause("after", delay_us, delay_us, "retry_after")
        if info is not None and info.remaining == 0 and info.reset is not None:
            reset_us = round((info.reset + _RESET_MARGIN) * US)
            if reset_us <= view.store_pause_us:
                return None
            now = clock.monotonic()
            if self._link.resting(now):
                wall = clock.time()
                delay = info.reset + _RESET_MARGIN - wall
                if 0 < delay <= self._period + _RESET_SLACK:
                    view.note_pause(now + delay, "rate_limit_window", now, wall)
                return None
            max_ahead_us = round((self._period + _RESET_SLACK) * US)
            return self._push_pause("until", reset_us, max_ahead_us, "rate_limit_window")
        return None

    async def _push_pause(self, mode: str, value_us: int, max_ahead_us: int, why: str) -> None:
        key = self._key
        try:
            reply = await self._link.run(
                lambda client: run_script(
                    client, PAUSE, [key], [mode, value_us, max_ahead_us, why, _STATE_TTL_MS]
                )
            )
        except StoreDown:
            return  # logged by the link; the pause holds this process back already
        clock = self._bound_clock()
        _moved, now_us, pause_us = (as_int(v) for v in reply[:3])
        self._view.learn_pause(now_us, pause_us, reply[3], clock.monotonic(), clock.time())

    def state(self) -> LimiterState:
        """Return what the limiter waits for, from what this process last learned (no I/O).

        Returns:
            A server pause (``retry_after`` or ``rate_limit_window``) while one is known,
            else ``rate_limit`` until the last slot this process reserved, else nothing.
        """
        clock = self._clock
        if clock is None:
            return LimiterState()
        return self._view.state(clock.monotonic())

    async def aclose(self) -> None:
        """Close the store connections the limiter opened (a client you passed stays open)."""
        await self._batcher.aclose()
        await self._link.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        key = "unbound" if self._key_id is None else f"key {self._key_id[:8]}..."
        return (
            f"RedisRateLimiter({self._link.display!r}, limit={self._limit}, "
            f"period={self._period:g}, margin={self._margin:g}, "
            f"on_unavailable={self._on_unavailable!r}, {key})"
        )
