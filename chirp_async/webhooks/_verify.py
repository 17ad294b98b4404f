"""Authenticating a delivery: the secret header the webhook was configured to send.

The API signs nothing. A webhook's custom ``headers`` are sent with every delivery, so a
shared secret in one of them (``X-Webhook-Secret`` in the docs' example) is how a
receiver tells the API's deliveries from anyone else's POSTs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final, Literal, final

from ._errors import WebhookVerificationError

__all__ = ["DEFAULT_HEADER_NAME", "WebhookSecret", "verify"]

DEFAULT_HEADER_NAME: Final = "X-Webhook-Secret"
"""The header name the API's calling guide uses for the shared secret."""

_ENCODING: Final = "utf-8"
# Header values arrive as str; surrogateescape round-trips bytes that are not UTF-8.
_ERRORS: Final = "surrogateescape"


def _digest(value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode(_ENCODING, _ERRORS)
    return hashlib.sha256(raw).digest()


@final
class WebhookSecret:
    """The shared secret a delivery must carry, masked everywhere.

    Only SHA-256 digests of the secrets are kept, and compared with
    `hmac.compare_digest`, so neither the time taken nor the object itself tells the
    secret. Give the previous secret too while rotating: deliveries carrying either are
    accepted until you drop it.

    Args:
        secret: The current secret (non-empty).
        *previous: Older secrets still accepted.

    Raises:
        ValueError: A secret is empty.
        TypeError: A secret is neither str nor bytes.

    Example:
        >>> secret = WebhookSecret("s3cret")
        >>> secret
        WebhookSecret('***')
        >>> secret.matches("s3cret"), secret.matches("guess")
        (True, False)
    """

    __slots__ = ("_digests",)

    def __init__(self, secret: str | bytes, *previous: str | bytes) -> None:
        digests = []
        for value in (secret, *previous):
            if not isinstance(value, (str, bytes)):
                raise TypeError(
                    f"a webhook secret must be str or bytes, got {type(value).__name__}"
                )
            if not value:
                raise ValueError("a webhook secret must not be empty")
            digests.append(_digest(value))
        self._digests: tuple[bytes, ...] = tuple(digests)

    def matches(self, value: str | bytes) -> bool:
        """Return whether ``value`` is one of the secrets, in time independent of both.

        Args:
            value: The header value received.

        Returns:
            ``True`` if it equals the current or a previous secret.
        """
        received = _digest(value)
        found = False
        for expected in self._digests:  # no early exit: the same work for every outcome
            found |= hmac.compare_digest(received, expected)
        return found

    def __repr__(self) -> str:
        return "WebhookSecret(" + ", ".join(["'***'"] * len(self._digests)) + ")"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a WebhookSecret cannot be pickled")


def as_secret(secret: str | bytes | WebhookSecret) -> WebhookSecret:
    """Return ``secret`` as a `WebhookSecret` (unchanged if it is one).

    Args:
        secret: A secret or a `WebhookSecret`.

    Returns:
        The masked secret.

    Raises:
        ValueError: The secret is empty.
        TypeError: It is neither str, bytes nor a `WebhookSecret`.
    """
    return secret if isinstance(secret, WebhookSecret) else WebhookSecret(secret)


def check(
    headers: Mapping[str, str], secret: WebhookSecret, name: str
) -> Literal["ok", "missing", "mismatch"]:
    """Say whether ``headers`` carry ``secret`` in header ``name`` (case-insensitive)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if value is None:
        return "missing"
    return "ok" if secret.matches(value) else "mismatch"


def verify(
    headers: Mapping[str, str],
    *,
    secret: str | bytes | WebhookSecret,
    name: str = DEFAULT_HEADER_NAME,
) -> None:
    """Check that a delivery carries the webhook's secret header.

    The header name is matched case-insensitively, so a plain ``dict`` of headers works
    as well as aiohttp's or Starlette's. With several headers of that name, the first
    counts.

    Args:
        headers: The request headers.
        secret: The expected value, or a `WebhookSecret` (which may accept several).
        name: The header that carries it.

    Raises:
        WebhookVerificationError: The header is missing or has another value. Neither
            the secret nor the received value appears in the error or its traceback.
        ValueError: ``secret`` is empty.

    Example:
        >>> verify({"x-webhook-secret": "s3cret"}, secret="s3cret")
    """
    outcome = check(headers, as_secret(secret), name)
    # Drop the values from this frame before raising: tracebacks rendered with their
    # locals (Sentry, pytest --showlocals) would show them.
    del headers, secret
    if outcome != "ok":
        raise WebhookVerificationError(header_name=name, reason=outcome)
