"""`parse_event`: verify, bound and decode one delivery, whatever web framework received it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._errors import WebhookPayloadError, WebhookVerificationError
from ._events import WebhookEvent, decode_event
from ._verify import DEFAULT_HEADER_NAME, WebhookSecret, as_secret, check

__all__ = ["DEFAULT_MAX_BODY_BYTES", "check_body_size", "parse_event"]

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
"""The largest delivery body accepted unless told otherwise (1 MiB)."""


def check_body_size(size: int, max_body_bytes: int) -> None:
    """Refuse a body of ``size`` bytes if it exceeds ``max_body_bytes``.

    Args:
        size: The body's length (or its announced ``Content-Length``).
        max_body_bytes: The limit.

    Raises:
        WebhookPayloadError: With reason ``too_large``.
    """
    if size > max_body_bytes:
        raise WebhookPayloadError(
            f"webhook body of {size} bytes exceeds the limit of {max_body_bytes} bytes",
            reason="too_large",
        )


def parse_event(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | bytes | WebhookSecret,
    header_name: str = DEFAULT_HEADER_NAME,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookEvent:
    """Authenticate and decode one webhook delivery.

    Checks, in this order: the secret header (constant-time comparison), the body size,
    then the body. Works with any web framework: pass the raw body bytes and the request
    headers. Answer the delivery with 200 quickly (the API waits 5 s) and do the work
    afterwards; `WebhookReceiver` does that for aiohttp.

    Args:
        body: The raw request body.
        headers: The request headers (any mapping; the name is matched case-insensitively).
        secret: The value the webhook's ``headers`` send, or a `WebhookSecret`.
        header_name: The header carrying it.
        max_body_bytes: The largest body accepted.

    Returns:
        A typed calling event (`CallCompleted`, ...) or an `UnknownEvent`.

    Raises:
        WebhookVerificationError: The secret header is missing or wrong (answer 401).
        WebhookPayloadError: The body is too large (answer 413) or not a webhook event
            (answer 400); ``reason`` says which.
        ValueError: ``secret`` is empty.

    Example:
        >>> body = b'{"event": "calls.ringing", "eventId": "evt_1"}'
        >>> parse_event(body, {"X-Webhook-Secret": "s3cret"}, secret="s3cret").event
        'calls.ringing'
    """
    outcome = check(headers, as_secret(secret), header_name)
    # Keep the secret and the received value out of tracebacks rendered with locals.
    del headers, secret
    if outcome != "ok":
        raise WebhookVerificationError(header_name=header_name, reason=outcome)
    check_body_size(len(body), max_body_bytes)
    return decode_event(body)
