"""Validation of each client option: the checked value, or an error naming it and the fix.

Every value problem is a `ConfigurationError` (also a `ValueError`) that says which option,
where it came from (argument or environment variable) and how to fix it; a wrong type is a
`TypeError`.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Final

import yarl

from . import defaults
from ._errors import ConfigurationError, InsecureBaseURLError
from ._secret import Secret

__all__ = [
    "check_headers",
    "check_int",
    "check_max_retries",
    "check_optional_seconds",
    "check_positive_or_none",
    "check_rate_limit",
    "is_loopback",
    "resolve_api_key",
    "resolve_base_url",
]

_ADMIN_KEY_PREFIX: Final = "sk_admin_"
_RESERVED_HEADERS: Final = frozenset({"authorization", "host", "content-length", "accept-encoding"})
_HOST_PATTERN: Final = re.compile(r"[A-Za-z0-9._~-]+|\[?[0-9A-Fa-f:.]+\]?")


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


def resolve_api_key(api_key: object, env: Mapping[str, str]) -> Secret:
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


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` (and ``*.localhost``) or a loopback IP."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None, env: Mapping[str, str], allow_http: bool) -> str:
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
        scheme = "http" if is_loopback(host) else "https"
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
    if url.scheme == "http" and not allow_http and not is_loopback(url.raw_host):
        raise InsecureBaseURLError(
            f"{source} {shown} is plain http on a non-loopback host: the API key would "
            "travel in cleartext. Use https, or pass allow_insecure_http=True if you must"
        )
    return str(url).rstrip("/")


def check_headers(default_headers: Mapping[str, str] | None) -> Mapping[str, str]:
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


def check_rate_limit(rate_limit: object) -> float | None:
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)):
        raise TypeError(f"rate_limit must be a number of requests per second, got {rate_limit!r}")
    if not math.isfinite(rate_limit) or rate_limit <= 0:
        raise ConfigurationError(
            f"rate_limit must be a positive, finite number, got {rate_limit!r}"
        )
    return float(rate_limit)
