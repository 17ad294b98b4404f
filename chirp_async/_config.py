"""Client configuration: every option in one frozen `ClientConfig`, resolved and validated once.

Arguments and ``CHIRP_*`` environment variables are read here, checked, and frozen; the
defaults come from `chirp_async.defaults`. Every invalid value raises `ConfigurationError`
naming the option, where it came from and how to fix it (a wrong type, `TypeError`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import yarl

from . import defaults
from ._cache import CacheBackend
from ._clock import Clock, SystemClock
from ._errors import ConfigurationError, InsecureBaseURLError
from ._limiter import RateLimiter
from ._retry import RetryPolicy
from ._secret import MaskedStr, Secret, mask

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

_ADMIN_KEY_PREFIX: Final = "sk_admin_"
_RESERVED_HEADERS: Final = frozenset({"authorization", "host", "content-length", "accept-encoding"})
_HOST_PATTERN: Final = re.compile(r"[A-Za-z0-9._~-]+|\[?[0-9A-Fa-f:.]+\]?")
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


def check_positive_or_none(name: str, value: object) -> None:
    """Raise unless ``value`` is ``None`` or a positive, finite number of seconds.

    Args:
        name: The argument's name, for the message.
        value: The value given.

    Raises:
        TypeError: Not a number (a bool is not one either).
        ValueError: Zero, negative, infinite or NaN.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{name} must be a positive, finite number of seconds, got {value!r}"
        )


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


def check_int(name: str, value: object, *, minimum: int) -> int:
    """Validate an integer argument.

    Args:
        name: The argument's name, for the message.
        value: The value given.
        minimum: The smallest value allowed.

    Returns:
        The value, as an int.

    Raises:
        TypeError: Not an int (a bool is not one either).
        ValueError: Below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_max_retries(value: object) -> int:
    """Validate a ``max_retries=`` argument (an int >= 0).

    Args:
        value: The number of retries after the first attempt.

    Returns:
        The value, as an int.

    Raises:
        TypeError: Not an int.
        ValueError: Negative.
    """
    return check_int("max_retries", value, minimum=0)


def _resolve_api_key(api_key: object, env: Mapping[str, str]) -> Secret:
    # The client masks the argument and read_env() the variable, so a traceback's locals
    # show '***' here; the messages below never include the key either.
    source = "api_key"
    if api_key is None:
        api_key = env.get(defaults.ENV_API_KEY) or None
        source = f"the {defaults.ENV_API_KEY} environment variable"
        if api_key is None:
            raise ConfigurationError(
                "No API key: pass api_key=... to AsyncChirp or set the "
                f"{defaults.ENV_API_KEY} environment variable (an app key, sk_live_app_... or "
                "sk_test_app_...)"
            )
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, got {type(api_key).__name__}")
    if not api_key:
        raise ConfigurationError(
            f"{source} is empty: set it to an app key (sk_live_app_... or sk_test_app_...)"
        )
    if api_key.lstrip()[:7].lower() == "bearer ":
        raise ConfigurationError(
            f"{source} starts with 'Bearer ': drop it and give the key alone; the SDK "
            "adds 'Bearer ' to the Authorization header itself"
        )
    if not api_key.isascii() or not api_key.isprintable() or any(c.isspace() for c in api_key):
        raise ConfigurationError(
            f"{source} contains whitespace, control or non-ASCII characters; "
            "check for a stray newline, space or quote around the key"
        )
    if api_key.startswith(_ADMIN_KEY_PREFIX):
        raise ConfigurationError(
            f"{source} is an admin key (sk_admin_...), but the calls endpoints need an app "
            "key (sk_live_app_... or sk_test_app_...), created per application in the "
            "Chirp dashboard"
        )
    return Secret(api_key)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolve_base_url(base_url: str | None, env: Mapping[str, str], allow_http: bool) -> str:
    source = "base_url"
    if base_url is None:
        base_url = env.get(defaults.ENV_BASE_URL) or None
        source = f"the {defaults.ENV_BASE_URL} environment variable"
        if base_url is None:
            return defaults.BASE_URL
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, got {type(base_url).__name__}")
    shown = repr(base_url[:200])
    try:
        url = yarl.URL(base_url)
    except ValueError as exc:
        raise ConfigurationError(f"{source} is not a valid URL: {shown}") from exc
    if "://" not in base_url:
        rest = base_url.lstrip("/")[:200]
        host = rest.split("/", 1)[0].rsplit(":", 1)[0]
        scheme = "http" if _is_loopback(host) else "https"
        raise ConfigurationError(
            f"{source} has no scheme: {shown}; write the URL in full, e.g. '{scheme}://{rest}'"
        )
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise ConfigurationError(
            f"{source} must be an absolute http(s) URL such as {defaults.BASE_URL!r}, got {shown}"
        )
    if _HOST_PATTERN.fullmatch(url.raw_host) is None:
        raise ConfigurationError(f"{source} has an invalid host name: {shown}")
    if url.user or url.password or url.query_string or url.fragment:
        raise ConfigurationError(
            f"{source} must not carry credentials, a query or a fragment (the key goes in "
            "api_key / CHIRP_API_KEY)"
        )
    if url.path.rstrip("/").endswith("/v1"):
        raise ConfigurationError(
            f"{source} ends in '/v1': drop the '/v1' (the SDK adds '/v1/...' to every "
            f"request), e.g. {defaults.BASE_URL!r}"
        )
    if url.scheme == "http" and not allow_http and not _is_loopback(url.raw_host):
        raise InsecureBaseURLError(
            f"{source} {shown} is plain http on a non-loopback host: the API key would "
            "travel in cleartext. Use https, or pass allow_insecure_http=True if you must"
        )
    return str(url).rstrip("/")


def _check_headers(default_headers: Mapping[str, str] | None) -> Mapping[str, str]:
    if default_headers is None:
        return {}
    if not isinstance(default_headers, Mapping):
        raise TypeError("default_headers must be a mapping of str to str")
    checked: dict[str, str] = {}
    untrusted: tuple[tuple[object, object], ...] = tuple(default_headers.items())
    for name, value in untrusted:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"default_headers must map str to str, got {name!r}: {value!r}")
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigurationError(
                f"default_headers may not set {name!r}; "
                + ("pass the key as api_key" if name.lower() == "authorization" else "")
            )
        if any(c in name + value for c in "\r\n\0") or not name.strip():
            raise ConfigurationError(f"default_headers entry {name!r} is not a valid header")
        checked[name] = value
    return checked


def check_optional_seconds(name: str, value: object) -> float | None:
    """Validate an optional number of seconds (``deadline=``).

    Args:
        name: The argument's name, for the message.
        value: The value given.

    Returns:
        The value as a float, or ``None``.

    Raises:
        TypeError: Not a number.
        ConfigurationError: Not positive and finite.
    """
    check_positive_or_none(name, value)
    return None if value is None else float(value)  # type: ignore[arg-type]


def _check_rate_limit(rate_limit: object) -> float | None:
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)):
        raise TypeError(f"rate_limit must be a number of requests per second, got {rate_limit!r}")
    if not math.isfinite(rate_limit) or rate_limit <= 0:
        raise ConfigurationError(
            f"rate_limit must be a positive, finite number, got {rate_limit!r}"
        )
    return float(rate_limit)


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
        api_key=_resolve_api_key(api_key, env),
        base_url=_resolve_base_url(base_url, env, allow_insecure_http),  # type: ignore[arg-type]
        timeout=coerce_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        max_connections=check_int("max_connections", max_connections, minimum=1),
        default_headers=_check_headers(default_headers),
        trust_env=trust_env,  # type: ignore[arg-type]
        retry_policy=retry_policy if retry_policy is not None else RetryPolicy(),
        max_response_bytes=check_int("max_response_bytes", max_response_bytes, minimum=1),
        ssl_context=ssl_context,
        rate_limit=_check_rate_limit(rate_limit),
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
