"""Client configuration: every option in one frozen `ClientConfig`, resolved and validated once.

Arguments and ``CHIRP_*`` environment variables are read here, checked, and frozen; the
defaults come from `chirp_async.defaults`. Every invalid value raises `ConfigurationError`
naming the option, where it came from and how to fix it (a wrong type, `TypeError`).
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from . import defaults
from ._cache import CacheBackend
from ._clock import Clock, SystemClock
from ._limiter import RateLimiter
from ._retry import RetryPolicy
from ._secret import MaskedStr, Secret, mask
from ._validate import (
    check_headers,
    check_int,
    check_max_retries,
    check_optional_seconds,
    check_positive_or_none,
    check_rate_limit,
    resolve_api_key,
    resolve_base_url,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "ClientConfig",
    "MaskedStr",
    "Secret",
    "Timeout",
    "check_max_retries",
    "check_optional_seconds",
    "coerce_timeout",
    "mask",
    "read_env",
    "resolve_config",
]

_ENV_NAMES: Final = (defaults.ENV_API_KEY, defaults.ENV_BASE_URL, defaults.ENV_LOG)


def read_env() -> dict[str, str]:
    """Read the ``CHIRP_*`` variables the client uses, the key masked.

    Only these are returned, so ``os.environ`` itself never sits in a frame's locals.

    Returns:
        The variables that are set.
    """
    found: dict[str, str] = {}
    for name in _ENV_NAMES:
        value = os.environ.get(name)
        if value is not None:
            found[name] = MaskedStr(value) if name == defaults.ENV_API_KEY else value
    return found


@dataclass(frozen=True)
class Timeout:
    """Per-attempt time limits, in seconds (``None`` disables a limit).

    Each attempt (not the whole call with its retries) must finish within ``total``;
    establishing a connection, including waiting for a free pool slot, within ``connect``.

    Args:
        total: Limit for one attempt, from sending to the last body byte.
        connect: Limit for getting a connection (pool wait, DNS, TCP and TLS handshake).

    Example:
        >>> Timeout(10.0, connect=2.0)
        Timeout(total=10.0, connect=2.0)
    """

    total: float | None = defaults.TIMEOUT
    connect: float | None = None

    def __post_init__(self) -> None:
        for name in ("total", "connect"):
            check_positive_or_none(f"Timeout.{name}", getattr(self, name))


@dataclass(frozen=True)
class ClientConfig:
    """Every option of a client, validated (see `AsyncChirp` for what each means).

    Frozen: `AsyncChirp.with_options` makes a new one. The key is a `Secret`. The objects
    a client shares with its copies (session, limiter, cache) are referenced here and
    owned by whoever created them.
    """

    api_key: Secret
    base_url: str = defaults.BASE_URL
    timeout: Timeout = field(default_factory=lambda: Timeout())
    max_retries: int = defaults.MAX_RETRIES
    max_connections: int = defaults.MAX_CONNECTIONS
    default_headers: Mapping[str, str] = field(default_factory=dict)
    trust_env: bool = False
    allow_insecure_http: bool = False
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_response_bytes: int = defaults.MAX_RESPONSE_BYTES
    ssl_context: ssl.SSLContext | None = None
    rate_limit: float | None = None
    pace_by_headers: bool = True
    retry_budget: int | None = defaults.RETRY_BUDGET
    deadline: float | None = None
    clock: Clock = field(default_factory=SystemClock, compare=False)
    rate_limiter: RateLimiter | None = field(default=None, compare=False)
    cache: CacheBackend | None = field(default=None, compare=False)
    session: aiohttp.ClientSession | None = field(default=None, compare=False, repr=False)

    @property
    def error_body_bytes(self) -> int:
        """The most bytes of an error body read and kept."""
        return min(defaults.ERROR_BODY_BYTES, self.max_response_bytes)

    def with_call_options(
        self,
        *,
        timeout: object = None,
        max_retries: object = None,
        deadline: object = None,
        changed: frozenset[str] = frozenset(),
    ) -> ClientConfig:
        """Return a copy with the per-call options in ``changed`` replaced, validated.

        Args:
            timeout: A new per-attempt limit (seconds, `Timeout` or ``None``).
            max_retries: A new number of retries.
            deadline: A new overall limit per call, or ``None``.
            changed: Which of the three were given.

        Returns:
            The new configuration.

        Raises:
            TypeError: A value has the wrong type.
            ConfigurationError: A value is out of range.
        """
        changes: dict[str, object] = {}
        if "timeout" in changed:
            changes["timeout"] = coerce_timeout(timeout)
        if "max_retries" in changed:
            changes["max_retries"] = check_max_retries(max_retries)
        if "deadline" in changed:
            changes["deadline"] = check_optional_seconds("deadline", deadline)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def coerce_timeout(value: object) -> Timeout:
    """Turn a ``timeout=`` argument into a `Timeout`.

    Args:
        value: A number of seconds, ``None`` (no limit) or a `Timeout`.

    Returns:
        The equivalent `Timeout`.

    Raises:
        TypeError: ``value`` is of another type.
        ValueError: The number is not positive and finite.
    """
    if isinstance(value, Timeout):
        return value
    if value is None:
        return Timeout(total=None)
    check_positive_or_none("timeout", value)
    assert isinstance(value, (int, float))
    return Timeout(total=float(value))


def _check_protocol(name: str, value: object, protocol: type[object], what: str) -> None:
    if value is not None and not isinstance(value, protocol):
        raise TypeError(f"{name} must be {what}, got {value!r}")


def resolve_config(
    *,
    api_key: object,
    env: Mapping[str, str],
    base_url: object = None,
    timeout: object = defaults.TIMEOUT,
    max_retries: object = defaults.MAX_RETRIES,
    max_connections: object = defaults.MAX_CONNECTIONS,
    default_headers: Mapping[str, str] | None = None,
    trust_env: object = False,
    allow_insecure_http: object = False,
    retry_policy: object = None,
    max_response_bytes: object = defaults.MAX_RESPONSE_BYTES,
    ssl_context: object = None,
    rate_limit: object = None,
    pace_by_headers: object = True,
    retry_budget: object = defaults.RETRY_BUDGET,
    deadline: object = None,
    clock: object = None,
    rate_limiter: object = None,
    cache: object = None,
    session: object = None,
) -> ClientConfig:
    """Validate client arguments, fill the gaps from ``env``, and freeze the result.

    Args:
        api_key: The key, or ``None`` to read ``CHIRP_API_KEY``.
        env: The ``CHIRP_*`` environment variables (see `read_env`).
        base_url: The API root, or ``None`` to read ``CHIRP_BASE_URL`` then the default.
        timeout: Seconds, ``None`` or a `Timeout`.
        max_retries: Retries after the first attempt.
        max_connections: Size of the connection pool.
        default_headers: Extra headers sent on every request.
        trust_env: Whether aiohttp reads proxy settings from the environment.
        allow_insecure_http: Allow ``http://`` to a non-loopback host.
        retry_policy: Backoff settings, or ``None`` for the defaults.
        max_response_bytes: The largest response body read; a larger one is an error.
        ssl_context: TLS settings (custom CA, client certificate); ``None`` verifies
            against the system's trust store.
        rate_limit: A client-side cap in requests per second, or ``None``.
        pace_by_headers: Pace by the API's ``X-RateLimit-*`` headers.
        retry_budget: Client-wide retry tokens, or ``None`` for no budget.
        deadline: Seconds one call may take in all, or ``None``.
        clock: The `Clock`, or ``None`` for the system's.
        rate_limiter: A `RateLimiter` shared beyond this client, or ``None`` for the
            in-process one.
        cache: A `CacheBackend` for final calls, or ``None``.
        session: The user's own `aiohttp.ClientSession`, or ``None``.

    Returns:
        The frozen configuration.

    Raises:
        ConfigurationError: A value that cannot work (no key, an admin key, a malformed
            URL, a number out of range); the message names it and the fix.
        TypeError: An argument has the wrong type (the message names it).
    """
    for name, flag in (
        ("trust_env", trust_env),
        ("allow_insecure_http", allow_insecure_http),
        ("pace_by_headers", pace_by_headers),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise TypeError(f"ssl_context must be an ssl.SSLContext, got {ssl_context!r}")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise TypeError(f"retry_policy must be a RetryPolicy, got {retry_policy!r}")
    _check_protocol("clock", clock, Clock, "a Clock (monotonic, time, sleep)")
    _check_protocol(
        "rate_limiter", rate_limiter, RateLimiter, "a RateLimiter (see chirp_async.RateLimiter)"
    )
    _check_protocol("cache", cache, CacheBackend, "a CacheBackend (async get and put)")
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, got {type(base_url).__name__}")
    return ClientConfig(
        api_key=resolve_api_key(api_key, env),
        base_url=resolve_base_url(base_url, env, allow_insecure_http),  # type: ignore[arg-type]
        timeout=coerce_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        max_connections=check_int("max_connections", max_connections, minimum=1),
        default_headers=check_headers(default_headers),
        trust_env=trust_env,  # type: ignore[arg-type]
        allow_insecure_http=allow_insecure_http,  # type: ignore[arg-type]
        retry_policy=retry_policy if retry_policy is not None else RetryPolicy(),
        max_response_bytes=check_int("max_response_bytes", max_response_bytes, minimum=1),
        ssl_context=ssl_context,
        rate_limit=check_rate_limit(rate_limit),
        pace_by_headers=pace_by_headers,  # type: ignore[arg-type]
        retry_budget=(
            None if retry_budget is None else check_int("retry_budget", retry_budget, minimum=0)
        ),
        deadline=check_optional_seconds("deadline", deadline),
        clock=clock if clock is not None else SystemClock(),  # type: ignore[arg-type]
        rate_limiter=rate_limiter,  # type: ignore[arg-type]
        cache=cache,  # type: ignore[arg-type]
        session=session,  # type: ignore[arg-type]
    )
