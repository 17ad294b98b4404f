"""The two ways a webhook delivery is refused: it is not authentic, or it is not an event."""

from __future__ import annotations

from typing import Literal

from .._errors import ChirpError

__all__ = [
    "PayloadProblem",
    "VerificationProblem",
    "WebhookPayloadError",
    "WebhookVerificationError",
]

VerificationProblem = Literal["missing", "mismatch"]
PayloadProblem = Literal[
    "too_large", "invalid_json", "not_an_object", "missing_field", "invalid_event"
]


class WebhookVerificationError(ChirpError):
    """A delivery does not carry the secret header it should; answer it with 401.

    The message names the header and says whether it was missing or wrong. It never
    contains the expected secret nor the value received.

    Attributes:
        header_name: The header that was checked, e.g. ``X-Webhook-Secret``.
        reason: ``missing`` (no such header) or ``mismatch`` (a different value).
    """

    def __init__(self, *, header_name: str, reason: VerificationProblem) -> None:
        self.header_name = header_name
        self.reason: VerificationProblem = reason
        problem = "is missing" if reason == "missing" else "does not match the configured secret"
        super().__init__(
            f"webhook delivery rejected: header {header_name!r} {problem}; check the "
            "headers set on the webhook (POST/PUT /v1/webhooks) and the secret given here"
        )


class WebhookPayloadError(ChirpError, ValueError):
    """A delivery body is not a webhook event; answer it with 400 (or 413 if too large).

    Attributes:
        reason: ``too_large``, ``invalid_json``, ``not_an_object``, ``missing_field``
            (no string ``event`` or ``eventId``, or no object ``data``) or
            ``invalid_event`` (a documented event whose fields have the wrong shape).
    """

    def __init__(self, message: str, *, reason: PayloadProblem) -> None:
        super().__init__(message)
        self.reason: PayloadProblem = reason
