"""client.webhooks over sockets: CRUD with 201, checks before the wire, and its own pacing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chirp_async import (
    APIConnectionError,
    AsyncChirp,
    InvalidParameterError,
    NotFoundError,
    RetryPolicy,
    Webhook,
)
from chirp_async.testing import FakeClock, Fault, MockChirpServer

from .conftest import ClientFactory

URL = "https://example.com/webhooks/chirp"
EVENTS = ["calls.answered", "calls.completed"]
SECRET = {"X-Webhook-Secret": "s3cret-value"}
CREATE = "POST /v1/webhooks"
CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"


async def test_create_answers_201_with_the_webhook(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    webhook = await client.webhooks.create(url=URL, events=EVENTS, headers=SECRET)

    assert isinstance(webhook, Webhook)
    assert (webhook.url, webhook.events, webhook.headers) == (URL, EVENTS, SECRET)
    assert webhook.id.startswith("whk_test_")
    (request,) = server.requests
    assert (request.route, request.status) == (CREATE, 201)
    assert json.loads(request.body) == {"url": URL, "events": EVENTS, "headers": SECRET}
    assert "s3cret-value" not in repr(webhook)
    assert server.webhooks.subscriptions()[0]["id"] == webhook.id


async def test_get_update_list_and_delete(server: MockChirpServer, client: AsyncChirp) -> None:
    created = await client.webhooks.create(url=URL, events=EVENTS)

    fetched = await client.webhooks.get(created.id)
    updated = await client.webhooks.update(created.id, events=["calls.failed"])
    listing = await client.webhooks.list()
    deleted = await client.webhooks.delete(created.id)

    assert fetched == created
    assert (updated.url, updated.events, updated.headers) == (URL, ["calls.failed"], {})
    assert [w.id for w in listing.data] == [created.id]
    put = next(r for r in server.requests if r.method == "PUT")
    assert json.loads(put.body) == {"events": ["calls.failed"]}  # partial: only what changed
    assert deleted.message == "Webhook deleted"
    with pytest.raises(NotFoundError):
        await client.webhooks.get(created.id)
    assert (await client.webhooks.list()).data == []


async def test_an_empty_2xx_answer_to_a_delete_is_a_success(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    created = await client.webhooks.create(url=URL, events=EVENTS)
    server.script_route("DELETE /v1/webhooks/{webhookId}", Fault.body(204, b""))

    deleted = await client.webhooks.delete(created.id)

    assert deleted.message == ""


async def test_http_to_loopback_is_let_through_for_a_local_mock(
    make_client: ClientFactory,
) -> None:
    async with MockChirpServer(allow_http_webhooks=True) as local:
        client = make_client(api_key=local.api_key, base_url=local.base_url)
        webhook = await client.webhooks.create(url="http://127.0.0.1:8080/hooks", events=EVENTS)
        assert webhook.url == "http://127.0.0.1:8080/hooks"


async def test_a_lost_create_answer_is_not_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.drop_response())

    with pytest.raises(APIConnectionError) as raised:
        await make_client(max_retries=3).webhooks.create(url=URL, events=EVENTS)

    assert (raised.value.request_sent, raised.value.outcome_unknown) == (True, True)
    assert server.requests_to(CREATE) == 1
    assert len(server.webhooks.subscriptions()) == 1


async def test_update_and_delete_are_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client(max_retries=3)
    created = await client.webhooks.create(url=URL, events=EVENTS)
    server.script_route("PUT /v1/webhooks/{webhookId}", 503)

    await client.webhooks.update(created.id, url="https://example.org/hooks")

    assert server.requests_to("PUT /v1/webhooks/{webhookId}") == 2


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"url": "http://example.com/hooks"}, "url"),
        ({"url": "ftp://example.com/hooks"}, "url"),
        ({"url": "example.com/hooks"}, "url"),
        ({"url": ""}, "url"),
        ({"events": ["calls.answered", ""]}, "events[1]"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"headers": {"X-Secret": "a\r\nInjected: yes"}}, "headers"),
    ],
)
async def test_bad_create_arguments_raise_before_anything_is_sent(
    server: MockChirpServer, client: AsyncChirp, arguments: dict[str, Any], param: str
) -> None:
    options: dict[str, Any] = {"url": URL, "events": EVENTS, **arguments}

    with pytest.raises(InvalidParameterError) as raised:
        await client.webhooks.create(**options)

    assert raised.value.param == param
    assert server.request_count == 0


@pytest.mark.parametrize(
    "arguments",
    [{"events": "calls.answered"}, {"events": None}, {"headers": [("a", "b")]}, {"url": 1}],
)
async def test_wrong_types_raise_type_error(
    server: MockChirpServer, client: AsyncChirp, arguments: dict[str, Any]
) -> None:
    options: dict[str, Any] = {"url": URL, "events": EVENTS, **arguments}

    with pytest.raises(TypeError):
        await client.webhooks.create(**options)

    assert server.request_count == 0


async def test_events_are_not_checked_against_a_list(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    webhook = await client.webhooks.create(url=URL, events=["calls.participant.joined"])

    assert webhook.events == ["calls.participant.joined"]


async def test_update_needs_a_field_and_a_valid_id(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    with pytest.raises(InvalidParameterError, match="at least one of"):
        await client.webhooks.update("whk_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
    with pytest.raises(InvalidParameterError) as raised:
        await client.webhooks.get("whk_nope")

    assert raised.value.param == "webhook_id"
    assert server.request_count == 0


# -- pacing: the webhook budget is not the general one ----------------------------------------


@pytest.fixture
async def paced() -> AsyncIterator[tuple[MockChirpServer, AsyncChirp, FakeClock]]:
    """A server enforcing 2 webhook and 2 general requests a minute, on the client's clock."""
    clock = FakeClock()  # starts on a whole minute: one fixed window for the whole test
    async with (
        MockChirpServer(rate_limit=2, webhook_rate_limit=2, clock=clock.time) as server,
        AsyncChirp(
            server.api_key,
            base_url=server.base_url,
            clock=clock,
            retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.002),
        ) as client,
    ):
        yield server, client, clock


async def test_a_spent_webhook_budget_does_not_hold_back_calls(
    paced: tuple[MockChirpServer, AsyncChirp, FakeClock],
) -> None:
    server, client, clock = paced
    await client.webhooks.list()
    await client.webhooks.list()  # the webhook window is spent

    call = await client.calls.get(CALL_ID)
    waited_before_webhooks = list(clock.sleeps)
    await client.with_options(timeout=5.0).webhooks.list()  # a copy shares the pacing

    assert call.id == CALL_ID
    assert waited_before_webhooks == []  # calls.get went at once
    (wait,) = clock.sleeps  # the third webhook request waited for its window's reset
    assert 60.0 <= wait <= 60.1
    assert server.requests_to("GET /v1/webhooks") == 3
    assert [r.status for r in server.requests] == [200, 200, 200, 200]  # no 429


async def test_a_spent_general_budget_does_not_hold_back_webhooks(
    paced: tuple[MockChirpServer, AsyncChirp, FakeClock],
) -> None:
    server, client, clock = paced
    await client.calls.get(CALL_ID)
    await client.calls.get("call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI")  # general window spent

    await client.webhooks.create(url=URL, events=EVENTS)
    waited_before_calls = list(clock.sleeps)
    await client.calls.get("call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C")

    assert waited_before_calls == []
    assert len(clock.sleeps) == 1
    assert [r.status for r in server.requests] == [200, 200, 201, 200]
