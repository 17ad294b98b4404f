"""Client configuration: arguments and environment resolved once, validated, key hidden."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar, cast

import yarl

from ._errors import ConfigurationError, InsecureBaseURLError
from ._retry import RetryPolicy

__all__ = ["DEFAULT_BASE_URL", "ClientConfig", "Secret", "Timeout", "resolve_config"]

_T = TypeVar("_T")

DEFAULT_BASE_URL: Final = "https://api.buildwithchirp.com"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_MAX_CONNECTIONS: Final = 100
DEFAULT_MAX_RESPONSE_BYTES: Final = 10 * 1024 * 1024
DEFAULT_RETRY_BUDGET: Final = 500

ENV_API_KEY: Final = "CHIRP_API_KEY"
ENV_BASE_URL: Final = "CHIRP_BASE_URL"
ENV_LOG: Final = "CHIRP_LOG"

_KNOWN_KEY_PREFIXES: Final = ("sk_live_app_", "sk_test_app_", "sk_admin_")
_ADMIN_KEY_PREFIX: Final = "sk_admin_"
_RESERVED_HEADERS: Final = frozenset({"authorization", "host", "content-length", "accept-encoding"})
_FINGERPRINT_KEY: Final = b"chirp-async key fingerprint v1"
_HOST_PATTERN: Final = re.compile(r"[A-Za-z0-9._~-]+|\[?[0-9A-Fa-f:.]+\]?")


class Secret:
    """A string that never shows itself in a repr, str or traceback.

    Only `reveal` returns the value; the transport calls it once to build its headers.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def fingerprint(self) -> str:
        """Return a stable ID of the key from which the key cannot be read back.

        The same key gives the same fingerprint in every process and on every machine;
        two keys never share one. Shared stores (rate limits, caches) name their entries
        by it, never by the key.

        Returns:
            32 hexadecimal characters (a keyed BLAKE2b digest of the key).
        """
        return hashlib.blake2b(
            self._value.encode(), key=_FINGERPRINT_KEY, digest_size=16
        ).hexdigest()

    @property
    def masked(self) -> str:
        """Return a display form: the known key prefix (which says the mode), then ``***``."""
        for prefix in _KNOWN_KEY_PREFIXES:
            if self._value.startswith(prefix):
                return prefix + "***"
        return "***"

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


class MaskedStr(str):
    """A str whose repr hides it: the API key while it is validated, in frame locals.

    A traceback rendered with locals (``capture_locals``, Sentry, ``pytest --showlocals``)
    shows ``'***'`` for it instead of the key.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def mask(value: _T) -> _T:
    """Return ``value`` as a `MaskedStr` if it is a str, else unchanged.

    Args:
        value: A would-be key.

    Returns:
        The masked value.
    """
    return cast("_T", MaskedStr(value)) if isinstance(value, str) else value


def read_env() -> dict[str, str]:
    """Read the ``CHIRP_*`` variables the client uses, the key masked.

    Only these are returned, so ``os.environ`` itself never sits in a frame's locals.

    Returns:
        The variables that are set.
    """
    found: dict[str, str] = {}
    for name in (ENV_API_KEY, ENV_BASE_URL, ENV_LOG):
        value = os.environ.get(name)
        if value is not None:
            found[name] = MaskedStr(value) if name == ENV_API_KEY else value
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

    total: float | None = DEFAULT_TIMEOUT
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
    """Everything a client needs, validated. The key is a `Secret`."""

    api_key: Secret
    base_url: str
    timeout: Timeout
    max_retries: int
    max_connections: int
    default_headers: Mapping[str, str] = field(default_factory=dict)
    trust_env: bool = False
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ssl_context: ssl.SSLContext | None = None


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
        api_key = env.get(ENV_API_KEY) or None
        source = f"the {ENV_API_KEY} environment variable"
        if api_key is None:
            raise ConfigurationError(
                "No API key: pass api_key=... to AsyncChirp or set the "
                f"{ENV_API_KEY} environment variable (an app key, sk_live_app_... or "
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
        base_url = env.get(ENV_BASE_URL) or None
        source = f"the {ENV_BASE_URL} environment variable"
        if base_url is None:
            return DEFAULT_BASE_URL
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
            f"{source} must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}, got {shown}"
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
            f"request), e.g. {DEFAULT_BASE_URL!r}"
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


def resolve_config(
    *,
    api_key: object,
    base_url: str | None,
    timeout: object,
    max_retries: object,
    max_connections: object,
    default_headers: Mapping[str, str] | None,
    trust_env: bool,
    allow_insecure_http: bool,
    retry_policy: RetryPolicy | None,
    env: Mapping[str, str],
    max_response_bytes: object = DEFAULT_MAX_RESPONSE_BYTES,
    ssl_context: object = None,
) -> ClientConfig:
    """Validate client arguments, fill the gaps from ``env``, and freeze the result.

    Args:
        api_key: The key, or ``None`` to read ``CHIRP_API_KEY``.
        base_url: The API root, or ``None`` to read ``CHIRP_BASE_URL`` then the default.
        timeout: Seconds, ``None`` or a `Timeout`.
        max_retries: Retries after the first attempt.
        max_connections: Size of the connection pool.
        default_headers: Extra headers sent on every request.
        trust_env: Whether aiohttp reads proxy settings from the environment.
        allow_insecure_http: Allow ``http://`` to a non-loopback host.
        retry_policy: Backoff settings, or ``None`` for the defaults.
        env: The ``CHIRP_*`` environment variables (see `read_env`).
        max_response_bytes: The largest response body read; a larger one is an error.
        ssl_context: TLS settings (custom CA, client certificate); ``None`` verifies
            against the system's trust store.

    Returns:
        The frozen configuration.

    Raises:
        ConfigurationError: No key anywhere, or an admin key.
        TypeError: An argument has the wrong type (the message names it).
        ValueError: An argument is out of range or malformed (the message names it).
    """
    if not isinstance(trust_env, bool):
        raise TypeError(f"trust_env must be a bool, got {trust_env!r}")
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise TypeError(f"ssl_context must be an ssl.SSLContext, got {ssl_context!r}")
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise TypeError(f"retry_policy must be a RetryPolicy, got {retry_policy!r}")
    return ClientConfig(
        api_key=_resolve_api_key(api_key, env),
        base_url=_resolve_base_url(base_url, env, allow_insecure_http),
        timeout=coerce_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        max_connections=check_int("max_connections", max_connections, minimum=1),
        default_headers=_check_headers(default_headers),
        trust_env=trust_env,
        retry_policy=retry_policy if retry_policy is not None else RetryPolicy(),
        max_response_bytes=check_int("max_response_bytes", max_response_bytes, minimum=1),
        ssl_context=ssl_context,
    )
