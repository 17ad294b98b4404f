"""Webhook management on the mock: CRUD, validation, and its own rate-limit budget."""

from __future__ import annotations

import io
import re
from typing import Any

import aiohttp
import pytest

from chirp_async.testing import MockChirpServer

from .helpers import FakeClock, ServerFactory, SessionFactory, call_api, create_call

EVENTS = ["calls.initiated", "calls.completed"]
BODY: dict[str, Any] = {
    "url": "https://your-app.com/webhooks/chirp",
    "events": EVENTS,
    "headers": {"X-Webhook-Secret": "your-secret-key"},
}
WEBHOOK_KEYS = ["id", "appId", "url", "events", "headers", "createdAt", "updatedAt"]


async def test_create_get_update_list_delete(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    created = await call_api(session, chirp_mock_server, "POST", "/v1/webhooks", BODY)
    webhook = created.json
    path = f"/v1/webhooks/{webhook['id']}"
    fetched = await call_api(session, chirp_mock_server, "GET", path)
    chirp_mock_server.advance(60)
    updated = await call_api(session, chirp_mock_server, "PUT", path, {"events": ["calls.failed"]})
    listed = await call_api(session, chirp_mock_server, "GET", "/v1/webhooks")
    deleted = await call_api(session, chirp_mock_server, "DELETE", path)
    gone = await call_api(session, chirp_mock_server, "GET", path)
    empty = await call_api(session, chirp_mock_server, "GET", "/v1/webhooks")

    assert created.status == 201
    assert list(webhook) == WEBHOOK_KEYS
    assert re.fullmatch(r"whk_test_[A-Za-z0-9]{27}", webhook["id"])
    assert webhook == {
        "id": webhook["id"],
        "appId": "app_test_vJ9TRJez8T74ggj4Irdf55zaobG",
        **BODY,
        "createdAt": "2026-01-15T10:30:00Z",
        "updatedAt": "2026-01-15T10:30:00Z",
    }
    assert (fetched.status, fetched.json) == (200, webhook)
    assert updated.json == {
        **webhook,
        "events": ["calls.failed"],
        "updatedAt": "2026-01-15T10:31:00Z",
    }
    assert (listed.status, listed.json) == (200, {"data": [updated.json]})
    assert (deleted.status, deleted.json) == (200, {"message": "Webhook deleted"})
    assert (gone.status, gone.json["error"]["param"]) == (404, "webhookId")
    assert empty.json == {"data": []}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"events": EVENTS}, "url"),
        ({**BODY, "url": "http://your-app.com/hook"}, "url"),
        ({**BODY, "url": "http://127.0.0.1:9/hook"}, "url"),
        ({**BODY, "url": "ftp://your-app.com/hook"}, "url"),
        ({**BODY, "url": "not a url"}, "url"),
        ({**BODY, "url": 7}, "url"),
        ({**BODY, "events": "calls.completed"}, "events"),
        ({**BODY, "events": [1]}, "events"),
        ({**BODY, "headers": {"X-Secret": 1}}, "headers"),
        ({**BODY, "headers": ["X-Secret"]}, "headers"),
    ],
)
async def test_invalid_webhooks_get_400_naming_the_field(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    body: dict[str, Any],
    param: str,
) -> None:
    reply = await call_api(session, chirp_mock_server, "POST", "/v1/webhooks", body)

    assert (reply.status, reply.json["error"]["param"]) == (400, param)
    assert chirp_mock_server.webhooks.subscriptions() == []


async def test_any_event_name_is_accepted_and_events_and_headers_default_empty(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    reply = await call_api(
        session, chirp_mock_server, "POST", "/v1/webhooks", {"url": "https://x.example/h"}
    )
    odd = await call_api(
        session, chirp_mock_server, "POST", "/v1/webhooks", {**BODY, "events": ["calls.ringing"]}
    )

    assert (reply.json["events"], reply.json["headers"]) == ([], {})
    assert odd.json["events"] == ["calls.ringing"]


async def test_http_loopback_urls_need_the_flag(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(allow_http_webhooks=True)
    session = await make_session(server)

    urls = ["http://127.0.0.1:9/h", "http://localhost:9/h", "http://[::1]:9/h", "http://x.io/h"]
    statuses = [
        (await call_api(session, server, "POST", "/v1/webhooks", {**BODY, "url": url})).status
        for url in urls
    ]

    assert statuses == [201, 201, 201, 400]
    assert server.webhooks.allow_http_loopback
    with pytest.raises(ValueError, match="HTTPS"):
        MockChirpServer().webhooks.add("http://127.0.0.1:9/h", EVENTS)


async def test_put_validates_and_unknown_or_malformed_ids_are_refused(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    webhook = chirp_mock_server.webhooks.add(BODY["url"], EVENTS)
    path = f"/v1/webhooks/{webhook['id']}"

    bad_put = await call_api(session, chirp_mock_server, "PUT", path, {"url": "http://x.io"})
    malformed = await call_api(session, chirp_mock_server, "GET", "/v1/webhooks/whk_1")
    unknown = await call_api(session, chirp_mock_server, "DELETE", "/v1/webhooks/whk_" + "a" * 27)

    assert (bad_put.status, bad_put.json["error"]["param"]) == (400, "url")
    assert chirp_mock_server.webhooks.subscriptions() == [webhook]
    assert (malformed.status, malformed.json["error"]["param"]) == (400, "webhookId")
    assert unknown.status == 404


async def test_webhook_routes_report_their_own_60_budget(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    listed = await call_api(session, chirp_mock_server, "GET", "/v1/webhooks")
    created = await create_call(session, chirp_mock_server)
    call = await call_api(session, chirp_mock_server, "GET", f"/v1/calls/{created['id']}")

    assert (listed.headers["X-RateLimit-Limit"], listed.headers["X-RateLimit-Remaining"]) == (
        "60",
        "60",
    )
    assert call.headers["X-RateLimit-Limit"] == "120"


async def test_the_webhook_budget_is_enforced_apart_from_the_general_one(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(rate_limit=3, webhook_rate_limit=2, clock=FakeClock(1_800_000_000.0))
    session = await make_session(server)

    hooks = [(await call_api(session, server, "GET", "/v1/webhooks")) for _ in range(3)]
    voicemails = [
        (await call_api(session, server, "GET", "/v1/calls/voicemails")) for _ in range(4)
    ]

    assert [r.status for r in hooks] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in hooks] == ["1", "0", "0"]
    assert hooks[-1].headers["X-RateLimit-Limit"] == "2"
    assert [r.status for r in voicemails] == [200, 200, 200, 429]
    assert voicemails[0].headers["X-RateLimit-Remaining"] == "2"


async def test_unknown_api_paths_and_oversized_bodies(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    nested = await call_api(session, chirp_mock_server, "GET", "/v1/webhooks/whk_1/deliveries")
    listing = await call_api(session, chirp_mock_server, "DELETE", "/v1/webhooks")
    oversized = io.BytesIO(b" " * (1024 * 1024 + 10))
    url = f"{chirp_mock_server.base_url}/v1/calls"
    async with session.post(url, data=oversized) as response:
        huge = response.status

    assert (nested.status, nested.headers["X-RateLimit-Limit"]) == (404, "60")
    assert (listing.status, listing.headers["Allow"]) == (405, "POST, GET")
    assert huge == 413
    assert chirp_mock_server.requests[-1].body == b" " * (1024 * 1024 + 1)  # the rest dropped
