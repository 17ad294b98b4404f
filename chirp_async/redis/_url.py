"""Store addresses as they may be shown: the password masked wherever it could appear."""

from __future__ import annotations

import urllib.parse
from typing import Final

__all__ = ["MASK", "mask_url", "redact", "url_secrets"]

MASK: Final = "***"
_SECRET_QUERY_KEYS: Final = frozenset({"password"})


def url_secrets(url: str) -> tuple[str, ...]:
    """Return the secrets in a store URL, in every form they may be printed in.

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL.

    Returns:
        The password of the authority and of a ``password=`` query parameter, each as
        written (percent-encoded) and decoded; empty when there is none.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        raw: list[str] = []
        if parts.password:
            raw.append(parts.password)
        raw.extend(
            value
            for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            if key.lower() in _SECRET_QUERY_KEYS and value
        )
        raw.extend(
            value
            for key, _, value in (p.partition("=") for p in parts.query.split("&"))
            if key.lower() in _SECRET_QUERY_KEYS and value
        )
    except ValueError:
        return ()
    found = {*raw, *(urllib.parse.unquote(r) for r in raw)}
    # Longest first, so that replacing one never leaves a tail of another.
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def mask_url(url: str) -> str:
    """Return ``url`` with its password (and any ``password=`` parameter) replaced by ``***``.

    Args:
        url: A store URL.

    Returns:
        The URL safe to show, e.g. ``redis://:***@127.0.0.1:6379/0``; a URL that cannot
        be parsed is shown as ``<unparseable store URL>``.

    Example:
        >>> mask_url("redis://:hunter2@127.0.0.1:6379/0")
        'redis://:***@127.0.0.1:6379/0'
    """
    try:
        urllib.parse.urlsplit(url)  # refuse what the driver could not parse either
    except ValueError:
        return "<unparseable store URL>"
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    # Masked by hand rather than rebuilt with urlunsplit, which drops the empty authority
    # of unix:///path URLs.
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{hostinfo}"
    path, qmark, query = tail.partition("?")
    query, hash_mark, fragment = query.partition("#")
    if qmark:
        query = "&".join(
            f"{key}={MASK}" if key.lower() in _SECRET_QUERY_KEYS else f"{key}{eq}{value}"
            for key, eq, value in (p.partition("=") for p in query.split("&"))
        )
    return f"{scheme}{sep}{netloc}{path}{qmark}{query}{hash_mark}{fragment}"


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Return ``text`` with every one of ``secrets`` replaced by ``***``.

    Args:
        text: A message that may quote a secret (a driver's error text).
        secrets: What `url_secrets` returned.

    Returns:
        The text, safe to log or raise.
    """
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
