"""Webhook subscriptions on the mock: validation, storage and JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import yarl

from ._clock import MockClock
from ._http import ApiError, format_time
from ._ids import IdFactory

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclasses.dataclass(eq=False)
class WebhookRecord:
    """One webhook subscription."""

    id: str
    app_id: str
    url: str
    events: list[str]
    headers: dict[str, str]
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        """The Webhook object, keys in the documented order."""
        return {
            "id": self.id,
            "appId": self.app_id,
            "url": self.url,
            "events": list(self.events),
            "headers": dict(self.headers),
            "createdAt": format_time(self.created_at),
            "updatedAt": format_time(self.updated_at),
        }


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (the only place the mock delivers to)."""
    try:
        host = yarl.URL(url).host
    except (ValueError, TypeError):
        return False
    return host in LOOPBACK_HOSTS


class WebhookStore:
    """The app's webhooks, in creation order."""

    def __init__(self, *, clock: MockClock, ids: IdFactory, app_id: str) -> None:
        self.allow_http_loopback = False
        self.webhooks: dict[str, WebhookRecord] = {}
        self._clock = clock
        self._ids = ids
        self._app_id = app_id

    def create(self, body: Mapping[str, Any]) -> WebhookRecord:
        """``POST /v1/webhooks``: ``url`` required; ``events`` and ``headers`` default empty."""
        if "url" not in body:
            raise ApiError(400, "Missing required parameter: url.", param="url")
        now = self._clock.time()
        webhook = WebhookRecord(
            id=self._ids.new("whk_"),
            app_id=self._app_id,
            url=self._url(body["url"]),
            events=_events(body.get("events", [])),
            headers=_headers(body.get("headers", {})),
            created_at=now,
            updated_at=now,
        )
        self.webhooks[webhook.id] = webhook
        return webhook

    def update(self, webhook: WebhookRecord, body: Mapping[str, Any]) -> WebhookRecord:
        """``PUT /v1/webhooks/{id}``: change the fields given; all are optional."""
        url = self._url(body["url"]) if "url" in body else webhook.url
        events = _events(body["events"]) if "events" in body else webhook.events
        headers = _headers(body["headers"]) if "headers" in body else webhook.headers
        webhook.url, webhook.events, webhook.headers = url, events, headers
        webhook.updated_at = self._clock.time()
        return webhook

    def subscribed_to(self, event: str) -> list[WebhookRecord]:
        """The webhooks that list ``event`` (events are opt-in)."""
        return [webhook for webhook in self.webhooks.values() if event in webhook.events]

    def _url(self, value: object) -> str:
        if not isinstance(value, str):
            raise ApiError(400, "Invalid url: expected a string.", param="url")
        try:
            url = yarl.URL(value)
        except (ValueError, TypeError):
            url = None
        if url is not None and url.host and url.scheme == "https":
            return value
        if url is not None and url.scheme == "http" and self.allow_http_loopback:
            if url.host in LOOPBACK_HOSTS:
                return value
        raise ApiError(
            400,
            "Invalid url: webhooks need a public HTTPS URL; plain HTTP is not supported.",
            param="url",
        )


def _events(value: object) -> list[str]:
    # The API's own enum for this field lists no calls.* names (calling.md §9.8), so the
    # mock accepts any strings, as the SDK should.
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "Invalid events: expected an array of strings.", param="events")
    return list(value)


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(
            400, "Invalid headers: expected an object of string values.", param="headers"
        )
    return dict(value)
