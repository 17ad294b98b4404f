"""`AsyncChirp`: the client. Builds config, pool, transport and resources; owns the pool."""

from __future__ import annotations

import dataclasses
import math
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, Generic, TypeVar, final, overload

from ._config import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BUDGET,
    DEFAULT_TIMEOUT,
    ClientConfig,
    Timeout,
    check_max_retries,
    check_positive_or_none,
    coerce_timeout,
    mask,
    read_env,
    resolve_config,
)
from ._errors import ConfigurationError
from ._logging import setup_logging_from_env
from ._pacing import Pacer
from ._retry import RetryBudget, RetryPolicy
from ._stats import ClientStats, Counters
from ._transport import ConnectionPool, Transport
from .resources.calls import Calls

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


def _check_rate_limit(rate_limit: object) -> None:
    if rate_limit is None:
        return
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)):
        raise TypeError(f"rate_limit must be a number of requests per second, got {rate_limit!r}")
    if not math.isfinite(rate_limit) or rate_limit <= 0:
        raise ConfigurationError(
            f"rate_limit must be a positive, finite number, got {rate_limit!r}"
        )


def _check_deadline(deadline: object) -> float | None:
    check_positive_or_none("deadline", deadline)
    if deadline is None:
        return None
    assert isinstance(deadline, (int, float))
    return float(deadline)


@final
@dataclasses.dataclass(frozen=True, slots=True)
class _Shared:
    """What a client and its `with_options` copies share."""

    pool: ConnectionPool
    pacer: Pacer
    budget: RetryBudget | None
    counters: Counters


def _make_pacer(policy: RetryPolicy, rate_limit: float | None, pace_by_headers: bool) -> Pacer:
    """The client's pacer; a policy with an injected ``sleep`` drives its waits and clocks too.

    So a test that injects ``sleep`` and ``clock`` sees every wait of the client (backoff,
    coordinated pauses, rate-limit windows) without the wall clock.
    """
    if policy.sleep is None:
        return Pacer(rate_limit=rate_limit, follow_headers=pace_by_headers)
    return Pacer(
        rate_limit=rate_limit,
        follow_headers=pace_by_headers,
        clock=policy.clock,
        wall_clock=policy.clock,
        sleep=policy.sleep,
    )


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
        allow_insecure_http: Allow a plain ``http://`` base URL on a non-loopback host.
        retry_policy: Backoff settings; the defaults are 0.5 s doubling to 8 s, jittered,
            and a ``Retry-After`` honoured up to 60 s.
        rate_limit: A client-side cap in requests per second shared by every call of this
            client (and its `with_options` copies), spaced evenly; ``None`` for no cap.
        pace_by_headers: Read the API's ``X-RateLimit-*`` headers and hold new requests
            back when the window's budget is spent, until it resets (no wall of 429s).
        max_response_bytes: The largest response body the client reads (10 MiB); a
            larger one raises `APIResponseValidationError` instead of growing memory.
        ssl_context: TLS settings, e.g. a corporate CA or a client certificate. TLS is
            always verified; without this, against the system's trust store. (A
            ``session=`` of yours keeps its own TLS settings.)
        retry_budget: Client-wide retry tokens (a retry costs 5, one after a timeout 10,
            a success refills 1): when the API keeps failing, requests stop retrying and
            fail fast instead of multiplying the load. ``None`` turns the budget off.
        deadline: Seconds one call may take in all, retries and waits included; no
            attempt or wait runs past it (a longer ``Retry-After`` fails at once).

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

    __slots__ = ("_calls", "_config", "_deadline", "_owns_pool", "_pool", "_shared", "_transport")

    calls: _Resource[Calls] = _Resource(Calls, "_calls")
    """Operations on calls: ``await client.calls.get(call_id)`` (see `Calls`)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        session: aiohttp.ClientSession | None = None,
        default_headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        allow_insecure_http: bool = False,
        retry_policy: RetryPolicy | None = None,
        rate_limit: float | None = None,
        pace_by_headers: bool = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        retry_budget: int | None = DEFAULT_RETRY_BUDGET,
        deadline: float | None = None,
    ) -> None:
        api_key = mask(api_key)  # from here on, a traceback's locals show '***', not the key
        env = read_env()
        setup_logging_from_env(env)
        config = resolve_config(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
            default_headers=default_headers,
            trust_env=trust_env,
            allow_insecure_http=allow_insecure_http,
            retry_policy=retry_policy,
            env=env,
            max_response_bytes=max_response_bytes,
            ssl_context=ssl_context,
        )
        _check_rate_limit(rate_limit)
        if not isinstance(pace_by_headers, bool):
            raise TypeError(f"pace_by_headers must be a bool, got {pace_by_headers!r}")
        shared = _Shared(
            pool=ConnectionPool(config, session),
            pacer=_make_pacer(config.retry_policy, rate_limit, pace_by_headers),
            budget=None if retry_budget is None else RetryBudget(retry_budget),
            counters=Counters(),
        )
        self._init(config, shared, _check_deadline(deadline), owns_pool=True)

    def _init(
        self, config: ClientConfig, shared: _Shared, deadline: float | None, *, owns_pool: bool
    ) -> None:
        self._config = config
        self._shared = shared
        self._pool = shared.pool
        self._deadline = deadline
        self._owns_pool = owns_pool
        self._transport = Transport(
            config,
            shared.pool,
            shared.pacer,
            timeout=config.timeout,
            max_retries=config.max_retries,
            deadline=deadline,
            budget=shared.budget,
            counters=shared.counters,
        )
        self._calls = Calls(self._transport, max_connections=config.max_connections)

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
        return self._pool.closed

    def with_options(
        self,
        *,
        timeout: float | Timeout | _NotGiven | None = _NOT_GIVEN,
        max_retries: int | _NotGiven = _NOT_GIVEN,
        deadline: float | _NotGiven | None = _NOT_GIVEN,
    ) -> AsyncChirp:
        """Return a client with other options that shares this client's connection pool.

        The copy is cheap (no new session). Closing it does not close the shared pool;
        the original client still owns it.

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
        changes: dict[str, object] = {}
        if not isinstance(timeout, _NotGiven):
            changes["timeout"] = coerce_timeout(timeout)
        if not isinstance(max_retries, _NotGiven):
            changes["max_retries"] = check_max_retries(max_retries)
        config = dataclasses.replace(self._config, **changes)  # type: ignore[arg-type]
        new_deadline = self._deadline if isinstance(deadline, _NotGiven) else deadline
        clone = object.__new__(AsyncChirp)
        clone._init(config, self._shared, _check_deadline(new_deadline), owns_pool=False)
        return clone

    def stats(self) -> ClientStats:
        """Return a snapshot of this client's counters (shared with its copies).

        Returns:
            Attempts, retries, successes, in-flight count, retry budget left, the last
            ``Retry-After``, the current pause, pool connections open and idle, and
            what new requests wait for (and until when).

        Example:
            ```python
            stats = client.stats()
            print(stats.attempts, stats.retries, stats.retry_budget)
            ```
        """
        shared = self._shared
        pool_open, pool_idle = shared.pool.connection_counts()
        waiting = shared.pacer.state()
        return ClientStats(
            attempts=shared.counters.attempts,
            retries=shared.counters.retries,
            successes=shared.counters.successes,
            in_flight=shared.pacer.in_flight,
            retry_budget=None if shared.budget is None else shared.budget.tokens,
            last_retry_after=shared.counters.last_retry_after,
            paused_for=shared.pacer.paused_for,
            pool_open=pool_open,
            pool_idle=pool_idle,
            waiting_for=waiting.waiting_for,
            waiting_until=waiting.waiting_until,
        )

    async def open(self) -> None:
        """Open the connection pool now instead of on the first request.

        Raises:
            ClientStateError: The client is closed, or bound to another event loop.
        """
        self._pool.session()

    async def close(self) -> None:
        """Close the connection pool (if this client created it). Idempotent.

        A client made by `with_options` leaves the shared pool open; a session passed as
        ``session=`` is never closed.
        """
        if self._owns_pool:
            await self._pool.close()

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
