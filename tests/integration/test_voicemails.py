"""client.voicemails over sockets: pages, the lazy walk, reading, marking and deleting."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from chirp_async import AsyncChirp, InvalidParameterError, NotFoundError, Voicemail
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

LIST = "GET /v1/calls/voicemails"
PATCH = "PATCH /v1/calls/voicemails/{voicemailId}"


async def test_list_sends_limit_and_offset_and_returns_a_page(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    ids = server.calling.add_voicemails(5, transcription="call me back")

    page = await client.voicemails.list(limit=2, offset=1)
    default = await client.voicemails.list()

    assert page.total_count == 5
    assert [v.id for v in page.data] == ids[::-1][1:3]  # newest first on the mock
    assert page.data[0].transcription == "call me back"
    assert len(default.data) == 5
    assert server.requests_to(LIST) == 2


@pytest.mark.parametrize(
    ("arguments", "param"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"offset": -1}, "offset")],
)
async def test_list_arguments_out_of_range_raise_before_anything_is_sent(
    server: MockChirpServer, client: AsyncChirp, arguments: dict[str, int], param: str
) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        await client.voicemails.list(**arguments)

    assert raised.value.param == param
    assert server.request_count == 0


@pytest.mark.parametrize("arguments", [{"limit": "20"}, {"limit": True}, {"offset": 1.0}])
async def test_list_arguments_of_the_wrong_type_raise_type_error(
    server: MockChirpServer, client: AsyncChirp, arguments: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        await client.voicemails.list(**arguments)

    assert server.request_count == 0


async def test_iter_pages_through_250_voicemails_returning_each_once(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    ids = server.calling.add_voicemails(250)

    seen = [voicemail.id async for voicemail in client.voicemails.iter()]

    assert seen == ids[::-1]
    assert len(set(seen)) == 250
    assert server.requests_to(LIST) == 3  # 100 + 100 + 50


async def test_iter_with_a_small_page_size_is_lazy(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.calling.add_voicemails(10)

    async with contextlib.aclosing(client.voicemails.iter(page_size=3)) as walk:
        first = [await anext(walk) for _ in range(4)]

    assert len(first) == 4
    assert server.requests_to(LIST) == 2  # the walk stopped after the page it needed


async def test_iter_of_an_empty_list_makes_one_request(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    assert [v async for v in client.voicemails.iter()] == []
    assert server.requests_to(LIST) == 1


async def test_iter_stops_on_an_empty_page_even_if_the_total_says_more(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.calling.add_voicemails(3)
    lying = json.dumps({"data": [], "totalCount": 1000}).encode()
    server.script_route(LIST, Fault.delay(0), Fault.body(200, lying))  # 2nd page empty

    seen = [v.id async for v in client.voicemails.iter(page_size=2)]

    assert len(seen) == 2
    assert server.requests_to(LIST) == 2


async def test_iter_skips_a_voicemail_it_saw_when_new_ones_shift_the_pages(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    ids = server.calling.add_voicemails(4)  # newest first: ids[3], ids[2], ids[1], ids[0]
    walk = client.voicemails.iter(page_size=2)
    seen: list[Voicemail] = []
    async for voicemail in walk:
        seen.append(voicemail)
        if len(seen) == 2:  # between two pages, a new voicemail arrives at the front
            server.advance(1)
            server.calling.add_voicemails(1)

    # The second page (offset 2) now starts with ids[2] again: skipped, not repeated.
    assert [v.id for v in seen] == [ids[3], ids[2], ids[1], ids[0]]


async def test_iter_can_miss_a_voicemail_when_one_is_deleted_while_paging(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    ids = server.calling.add_voicemails(4)
    seen: list[str] = []
    async for voicemail in client.voicemails.iter(page_size=2):
        seen.append(voicemail.id)
        if len(seen) == 2:  # delete one already seen: the later ones shift forward
            await client.voicemails.delete(ids[3])

    assert seen == [ids[3], ids[2], ids[0]]  # ids[1] fell between the pages (documented)


@pytest.mark.parametrize("page_size", [0, 101])
async def test_iter_checks_page_size_at_once(
    server: MockChirpServer, client: AsyncChirp, page_size: int
) -> None:
    with pytest.raises(InvalidParameterError):
        client.voicemails.iter(page_size=page_size)

    assert server.request_count == 0


async def test_get_mark_read_unread_and_delete(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client(max_retries=2)
    (voicemail_id,) = server.calling.add_voicemails(1, transcription="hello")

    fetched = await client.voicemails.get(voicemail_id)
    read = await client.voicemails.mark_read(voicemail_id)
    server.script_route(PATCH, 503)  # PATCH is safe to repeat: retried
    unread = await client.voicemails.mark_unread(voicemail_id)
    deleted = await client.voicemails.delete(voicemail_id)

    assert (fetched.is_read, fetched.transcription) == (False, "hello")
    assert read.is_read is True
    assert unread.is_read is False
    assert server.requests_to(PATCH) == 3
    patches = [json.loads(r.body) for r in server.requests if r.route == PATCH]
    assert patches == [{"isRead": True}, {"isRead": False}, {"isRead": False}]
    assert deleted.message == "Voicemail deleted"
    with pytest.raises(NotFoundError):
        await client.voicemails.get(voicemail_id)


async def test_update_takes_a_bool_only(server: MockChirpServer, client: AsyncChirp) -> None:
    with pytest.raises(TypeError, match="is_read must be a bool"):
        await client.voicemails.update(
            "call_vm_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
            is_read=1,  # type: ignore[arg-type]
        )

    assert server.request_count == 0


@pytest.mark.parametrize("method", ["get", "mark_read", "mark_unread", "delete"])
async def test_a_malformed_voicemail_id_raises_before_anything_is_sent(
    server: MockChirpServer, client: AsyncChirp, method: str
) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        await getattr(client.voicemails, method)("call_vm_../../x")

    assert raised.value.param == "voicemail_id"
    assert server.request_count == 0
