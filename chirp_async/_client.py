"""`AsyncChirp`: the client. Builds the configuration and shared state, exposes the resources."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, Generic, TypeVar, final, overload

from . import defaults
from ._cache import CacheBackend
from ._clock import Clock
from ._config import ClientConfig, Timeout, mask, read_env, resolve_config
from ._limiter import RateLimiter
from ._logging import setup_logging_from_env
from ._pacing import LocalRateLimiter
from ._retry import RetryBudget, RetryPolicy
from ._scrub import Scrubber
from ._session import SessionPool
from ._stats import ClientStats, Counters
from ._transport import SharedState, Transport
from .resources.calls import Calls
from .resources.recordings import Recordings
from .resources.voicemails import Voicemails
from .resources.webhooks import Webhooks

if TYPE_CHECKING:
    import sys

    import aiohttp

    if sys.version_info >= (3, 11):
        from typing import Self
    else:
        from typing_extensions import Self

__all__ = ["AsyncChirp"]


class _NotGiven:
    """Sentinel type for "argument not passed" where ``None`` has a meaning."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_GIVEN"


_NOT_GIVEN: Final = _NotGiven()
_R = TypeVar("_R")


@final
class _Resource(Generic[_R]):
    """A client attribute holding a resource: its class on the class, its object on a client.

    So ``help(AsyncChirp.calls)`` and an IDE's hover show the resource's methods, and
    ``client.calls`` is the client's own resource object.
    """

    def __init__(self, cls: type[_R], attribute: str) -> None:
        self._cls = cls
        self._attribute = attribute
        self.__doc__ = cls.__doc__

    @overload
    def __get__(self, obj: None, owner: type[object]) -> type[_R]: ...

    @overload
    def __get__(self, obj: object, owner: type[object]) -> _R: ...

    def __get__(self, obj: object | None, owner: type[object]) -> type[_R] | _R:
        if obj is None:
            return self._cls
        resource: _R = getattr(obj, self._attribute)
        return resource


def _shared_state(config: ClientConfig) -> SharedState:
    """The state a client and its `with_options` copies share, from its configuration."""
    limiter: RateLimiter = config.rate_limiter or LocalRateLimiter(
        rate_limit=config.rate_limit, follow_headers=config.pace_by_headers, clock=config.clock
    )
    return SharedState(
        pool=SessionPool(config, config.session),
        limiter=limiter,
        budget=None if config.retry_budget is None else RetryBudget(config.retry_budget),
        counters=Counters(),
        scrubber=Scrubber(config.api_key.reveal()),
    )


def _webhooks_state(config: ClientConfig, shared: SharedState) -> SharedState:
    """The shared state of webhook management: the same pool, budget and counters, its own pace.

    The API budgets ``/v1/webhooks`` apart (60 requests a minute): its own limiter follows
    its own ``X-RateLimit-*`` headers, so neither budget holds the other's requests back.
    """
    limiter = LocalRateLimiter(follow_headers=config.pace_by_headers, clock=config.clock)
    return dataclasses.replace(shared, limiter=limiter)


def _bind(config: ClientConfig) -> None:
    """Give a shared limiter and cache the key's fingerprint and the client's clock.

    A limiter or cache shared beyond this process names its store entries by the key's
    fingerprint (never the key) and measures its local waits on the client's clock.
    """
    for part in (config.rate_limiter, config.cache):
        bind = getattr(part, "bind", None)
        if callable(bind):
            bind(key_id=config.api_key.fingerprint(), clock=config.clock)


@final
class AsyncChirp:
    """Asynchronous client for the Chirp API.

    Owns one pooled `aiohttp.ClientSession`, opened by ``async with`` (or lazily on the
    first request, inside the running loop) and closed on exit or by `close`. Create one
    client per process or app and share it: it is safe to use from many tasks at once.

    Args:
        api_key: An app key (``sk_live_app_...`` or ``sk_test_app_...``). Defaults to the
            ``CHIRP_API_KEY`` environment variable.
        base_url: The API root. Defaults to ``CHIRP_BASE_URL``, then
            ``https://api.buildwithchirp.com``.
        timeout: Limit per attempt: seconds, a `Timeout`, or ``None`` for none.
        max_retries: Retries after the first attempt for connection errors, timeouts and
            408/409/429/500/502/503/504 (2 means at most 3 attempts).
        max_connections: Size of the connection pool (keep-alive connections).
        session: Your own `aiohttp.ClientSession`, used as-is and never closed by the
            client (``max_connections`` and ``trust_env`` then do not apply).
        default_headers: Extra headers for every request (not ``Authorization``).
        trust_env: Let aiohttp read proxy settings (``HTTPS_PROXY`` ...) and ``.netrc``.
        allow_insecure_http: Allow a plain ``http://`` base URL on a non-loopback host
            (and a recording's plain ``http://`` file URL, for ``recordings.download``).
        retry_policy: Backoff settings; the defaults are 0.5 s doubling to 8 s, jittered,
            and a ``Retry-After`` honoured up to 60 s.
        rate_limit: A client-side cap in requests per second shared by every call of this
            client (and its `with_options` copies), spaced evenly; ``None`` for no cap.
        pace_by_headers: Read the API's ``X-RateLimit-*`` headers and hold new requests
            back when the window's budget is spent, until it resets (no wall of 429s).
        max_response_bytes: The largest response body the client reads, after decoding
            (10 MiB); a larger one raises `APIResponseValidationError` instead of
            growing memory.
        ssl_context: TLS settings, e.g. a corporate CA or a client certificate. TLS is
            always verified; without this, against the system's trust store. (A
            ``session=`` of yours keeps its own TLS settings.)
        retry_budget: Client-wide retry tokens (a retry costs 5, one after a timeout 10,
            a success refills 1): when the API keeps failing, requests stop retrying and
            fail fast instead of multiplying the load. ``None`` turns the budget off.
        deadline: Seconds one call may take in all, every wait and retry included; no
            attempt or wait runs past it (one known to pass it fails at once).
        clock: Where the client gets the time and how it waits: the transport, the rate
            limiter, deadlines and retry delays all use it (`SystemClock` by default;
            ``chirp_async.testing.FakeClock`` in tests).
        rate_limiter: A `RateLimiter` to use instead of the in-process one, e.g.
            ``chirp_async.redis.RedisRateLimiter`` to share one key's budget among many
            processes (``rate_limit`` and ``pace_by_headers`` then do not apply).
        cache: A `CacheBackend` (`CallCache`, ``chirp_async.redis.RedisCallCache``): calls
            in a final status are answered from it, without a request. Off by default.

    Raises:
        ConfigurationError: An option cannot work (also a `ValueError`): no API key given
            or found, an admin key, an empty key, one with whitespace or a ``Bearer``
            prefix, a base URL without a scheme or ending in ``/v1``, plain http to
            another host (`InsecureBaseURLError`), a number out of range. The message
            names the option, where it came from, and how to fix it.
        TypeError: An argument has the wrong type (the message names it).

    Example:
        ```python
        async with AsyncChirp() as client:
            call = await client.calls.get("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
        ```
    """

    __slots__ = (
        "_calls",
        "_config",
        "_owns_pool",
        "_recordings",
        "_shared",
        "_transport",
        "_voicemails",
        "_webhooks",
        "_webhooks_shared",
    )

    calls: _Resource[Calls] = _Resource(Calls, "_calls")
    """Calls: ``get``, ``get_many``, ``create``, ``hangup`` and the other commands (`Calls`)."""
    recordings: _Resource[Recordings] = _Resource(Recordings, "_recordings")
    """Call recordings: ``list``, ``get``, ``delete``, ``download`` (see `Recordings`)."""
    voicemails: _Resource[Voicemails] = _Resource(Voicemails, "_voicemails")
    """Voicemails: ``list``, ``iter``, ``get``, ``mark_read``, ``delete`` (see `Voicemails`)."""
    webhooks: _Resource[Webhooks] = _Resource(Webhooks, "_webhooks")
    """Webhook subscriptions, paced on their own budget (see `Webhooks`)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | Timeout | None = defaults.TIMEOUT,
        max_retries: int = defaults.MAX_RETRIES,
        max_connections: int = defaults.MAX_CONNECTIONS,
        session: aiohttp.ClientSession | None = None,
        default_headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        allow_insecure_http: bool = False,
        retry_policy: RetryPolicy | None = None,
        rate_limit: float | None = None,
        pace_by_headers: bool = True,
        max_response_bytes: int = defaults.MAX_RESPONSE_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        retry_budget: int | None = defaults.RETRY_BUDGET,
        deadline: float | None = None,
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
        cache: CacheBackend | None = None,
    ) -> None:
        api_key = mask(api_key)  # from here on, a traceback's locals show '***', not the key
        env = read_env()
        setup_logging_from_env(env)
        config = resolve_config(
            api_key=api_key,
            env=env,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
            default_headers=default_headers,
            trust_env=trust_env,
            allow_insecure_http=allow_insecure_http,
            retry_policy=retry_policy,
            max_response_bytes=max_response_bytes,
            ssl_context=ssl_context,
            rate_limit=rate_limit,
            pace_by_headers=pace_by_headers,
            retry_budget=retry_budget,
            deadline=deadline,
            clock=clock,
            rate_limiter=rate_limiter,
            cache=cache,
            session=session,
        )
        shared = _shared_state(config)
        _bind(config)
        self._init(config, shared, _webhooks_state(config, shared), owns_pool=True)

    def _init(
        self,
        config: ClientConfig,
        shared: SharedState,
        webhooks_shared: SharedState,
        *,
        owns_pool: bool,
    ) -> None:
        self._config = config
        self._shared = shared
        self._webhooks_shared = webhooks_shared
        self._owns_pool = owns_pool
        self._transport = Transport(config, shared)
        self._calls = Calls(self._transport, capacity=shared.pool.capacity, cache=config.cache)
        self._recordings = Recordings(self._transport)
        self._voicemails = Voicemails(self._transport)
        self._webhooks = Webhooks(Transport(config, webhooks_shared))

    @property
    def config(self) -> ClientConfig:
        """Every option of this client, resolved and validated (frozen)."""
        return self._config

    @property
    def base_url(self) -> str:
        """The API root requests go to, without a trailing slash."""
        return self._config.base_url

    @property
    def timeout(self) -> Timeout:
        """The per-attempt time limits."""
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._config.max_retries

    @property
    def is_closed(self) -> bool:
        """Whether the client's pool was closed."""
        return self._shared.pool.closed

    def with_options(
        self,
        *,
        timeout: float | Timeout | _NotGiven | None = _NOT_GIVEN,
        max_retries: int | _NotGiven = _NOT_GIVEN,
        deadline: float | _NotGiven | None = _NOT_GIVEN,
    ) -> AsyncChirp:
        """Return a client with other options that shares this client's connection pool.

        The copy is cheap (no new session): a new configuration over the same pool, rate
        limiters (the general one and the webhooks' own), retry budget, counters and
        cache. Closing it does not close the shared pool; the original client still owns
        it.

        Args:
            timeout: A new per-attempt limit (seconds, `Timeout` or ``None``).
            max_retries: A new number of retries.
            deadline: A new overall limit per call, or ``None`` for none.

        Returns:
            The new client.

        Raises:
            TypeError: An argument has the wrong type.
            ConfigurationError: An argument is out of range (also a `ValueError`).

        Example:
            ```python
            patient = client.with_options(timeout=120.0, max_retries=5)
            call = await patient.calls.get(call_id)
            ```
        """
        given = frozenset(
            name
            for name, value in (
                ("timeout", timeout),
                ("max_retries", max_retries),
                ("deadline", deadline),
            )
            if not isinstance(value, _NotGiven)
        )
        config = self._config.with_call_options(
            timeout=timeout, max_retries=max_retries, deadline=deadline, changed=given
        )
        clone = object.__new__(AsyncChirp)
        clone._init(config, self._shared, self._webhooks_shared, owns_pool=False)
        return clone

    def stats(self) -> ClientStats:
        """Return a snapshot of this client's counters (shared with its copies).

        Returns:
            Attempts, retries, successes, in-flight count, retry budget left, the last
            ``Retry-After``, the current pause, pool connections open and idle, what
            new requests wait for (and until when), and cache hits and misses.

        Example:
            ```python
            stats = client.stats()
            print(stats.attempts, stats.retries, stats.retry_budget)
            ```
        """
        shared = self._shared
        pool_open, pool_idle = shared.pool.connection_counts()
        waiting = shared.limiter.state()
        paused_for = 0.0
        if waiting.waiting_for == "retry_after" and waiting.waiting_until is not None:
            paused_for = max(0.0, waiting.waiting_until - self._config.clock.time())
        counters = shared.counters
        return ClientStats(
            attempts=counters.attempts,
            retries=counters.retries,
            successes=counters.successes,
            in_flight=counters.in_flight,
            retry_budget=None if shared.budget is None else shared.budget.tokens,
            last_retry_after=counters.last_retry_after,
            paused_for=paused_for,
            pool_open=pool_open,
            pool_idle=pool_idle,
            waiting_for=waiting.waiting_for,
            waiting_until=waiting.waiting_until,
            cache_hits=counters.cache_hits,
            cache_misses=counters.cache_misses,
        )

    async def open(self) -> None:
        """Open the connection pool now instead of on the first request.

        Raises:
            ClientStateError: The client is closed, or bound to another event loop.
        """
        self._shared.pool.session()

    async def close(self) -> None:
        """Close the connection pool (if this client created it). Idempotent.

        A client made by `with_options` leaves the shared pool open; a session passed as
        ``session=`` is never closed, nor is a ``rate_limiter`` or ``cache`` you passed.
        """
        if self._owns_pool:
            await self._shared.pool.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        config: ClientConfig | None = getattr(self, "_config", None)
        if config is None:  # construction failed half-way (seen in tracebacks with locals)
            return "AsyncChirp(<not configured>)"
        return (
            f"AsyncChirp(base_url={config.base_url!r}, api_key={config.api_key.masked!r}, "
            f"timeout={config.timeout!r}, max_retries={config.max_retries})"
        )
