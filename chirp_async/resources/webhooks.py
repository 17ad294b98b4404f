"""The webhooks resource: ``client.webhooks`` manages the app's webhook subscriptions.

Receiving the deliveries is ``chirp_async.webhooks`` (`WebhookReceiver`, `parse_event`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, final

import msgspec

from .._errors import InvalidParameterError
from .._models_calling import DeleteResult, Webhook, WebhookList, decode_model
from .._transport import Transport
from ._ids import validate_webhook_id
from ._params import check_events, check_headers, check_url
from ._requests import decode_once, delete_resource, request_model, send_once

__all__ = ["Webhooks"]

_PATH: Final = "/v1/webhooks"
_WEBHOOK_PATH: Final = "/v1/webhooks/"
_ENCODER: Final = msgspec.json.Encoder()


def _decode_webhook(body: bytes, status_code: int, request_id: str | None) -> Webhook:
    return decode_model(Webhook, body, status_code=status_code, request_id=request_id)


@final
class Webhooks:
    """The app's webhook subscriptions. Reach it as ``client.webhooks``.

    These endpoints have their own rate limit (60 requests a minute, apart from the
    general 120): the client paces them with a rate limiter of their own, following
    their own ``X-RateLimit-*`` headers, so a spent webhook budget never holds back
    calls, and a batch of calls never holds back a webhook change. (That limiter is
    always in-process: a ``rate_limiter=`` you pass paces the general budget only, and
    ``rate_limit=`` does not apply here.)

    URLs must be ``https``; plain ``http`` is let through to this machine only
    (``127.0.0.1``, ``localhost``, ``::1``), for a local mock server: the API itself
    refuses it. Event names are sent as given, not checked against a list: the
    reference's list for this field omits the ``calls.*`` events its own calling guide
    uses.

    Args:
        transport: A transport of the client's, with the webhooks' own limiter.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        headers: Mapping[str, str] | None = None,
    ) -> Webhook:
        """Subscribe a URL to events (``POST /v1/webhooks``, answered 201).

        Sent at most once in effect, like ``calls.create``: two webhooks for one URL
        would deliver every event twice. A failure that leaves it unknown whether it was
        created has ``outcome_unknown=True``: `list` the webhooks before trying again.

        Args:
            url: Where to deliver: an ``https`` URL (see the class for ``http``).
            events: The event names to receive, e.g. ``["calls.answered",
                "calls.completed"]``; events are opt-in.
            headers: Headers sent with every delivery; put a long random secret in one
                (``X-Webhook-Secret``) and check it with ``WebhookReceiver``. Names must
                be HTTP tokens; values without control characters.

        Returns:
            The new webhook (its repr hides the header values).

        Raises:
            InvalidParameterError: A URL that is not https (nor http to this machine), an
                empty event name, a bad header (nothing is sent).
            TypeError: ``events`` is a single string, or an argument of the wrong type.
            BadRequestError: The API refused it.
            APIError: Another failure; ``outcome_unknown`` when it may have been created.

        Example:
            ```python
            webhook = await client.webhooks.create(
                url="https://example.com/webhooks/chirp",
                events=["calls.answered", "calls.completed"],
                headers={"X-Webhook-Secret": secret},
            )
            ```
        """
        body: dict[str, object] = {
            "url": check_url("url", url, what="webhook url"),
            "events": check_events(events),
        }
        if headers is not None:
            body["headers"] = check_headers(headers)
        raw = await send_once(self._transport, "POST", _PATH, _ENCODER.encode(body))
        return decode_once(_decode_webhook, raw)

    async def get(self, webhook_id: str) -> Webhook:
        """Fetch one webhook.

        Args:
            webhook_id: The webhook, ``whk_[test_]<27 alphanumerics>``.

        Returns:
            The webhook.

        Raises:
            InvalidParameterError: ``webhook_id`` is malformed (nothing is sent).
            NotFoundError: No such webhook.
            APIError: Any other failure, after the client's retries.
        """
        path = _WEBHOOK_PATH + validate_webhook_id(webhook_id)
        return await request_model(self._transport, "GET", path, Webhook)

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Webhook:
        """Change some of a webhook's fields (``PUT``, partial): only those given are sent.

        ``events`` and ``headers`` replace the old lists whole (add a new event by
        sending every event you want). Safe to repeat, so retried like a read.

        Args:
            webhook_id: The webhook.
            url: A new delivery URL.
            events: The new event names.
            headers: The new delivery headers (e.g. a rotated secret).

        Returns:
            The updated webhook.

        Raises:
            InvalidParameterError: A malformed ``webhook_id``, none of the fields given,
                or a field that would be refused as in `create` (nothing is sent).
            NotFoundError: No such webhook.
            APIError: Any other failure, after the client's retries.
        """
        path = _WEBHOOK_PATH + validate_webhook_id(webhook_id)
        body: dict[str, object] = {}
        if url is not None:
            body["url"] = check_url("url", url, what="webhook url")
        if events is not None:
            body["events"] = check_events(events)
        if headers is not None:
            body["headers"] = check_headers(headers)
        if not body:
            raise InvalidParameterError(
                "url", "update needs at least one of url, events and headers"
            )
        return await request_model(
            self._transport, "PUT", path, Webhook, body=_ENCODER.encode(body)
        )

    async def list(self) -> WebhookList:
        """List the app's webhooks.

        The reference mentions this endpoint without its response; ``{"data": [...]}``
        is inferred from the other lists, and other fields are ignored.

        Returns:
            The webhooks (``data``).

        Raises:
            APIError: The request failed, after the client's retries.
        """
        return await request_model(self._transport, "GET", _PATH, WebhookList)

    async def delete(self, webhook_id: str) -> DeleteResult:
        """Delete a webhook: its deliveries stop.

        Retried like any request safe to repeat: if a first attempt deleted it but its
        answer was lost, the retry gets `NotFoundError`, which then means it is gone.

        Args:
            webhook_id: The webhook.

        Returns:
            The API's confirmation (``message``).

        Raises:
            InvalidParameterError: ``webhook_id`` is malformed (nothing is sent).
            NotFoundError: No such webhook (or a lost first answer, see above).
            APIError: Any other failure, after the client's retries.
        """
        path = _WEBHOOK_PATH + validate_webhook_id(webhook_id)
        return await delete_resource(self._transport, path)
