"""Hostile responses over real sockets: every one ends in a typed error, bounded, key-free."""

from __future__ import annotations

import json
import logging
import traceback
import tracemalloc
import urllib.parse
from collections.abc import Callable, Iterator

import msgspec
import pytest

from chirp_async import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncChirp,
    AuthenticationError,
    Call,
    ChirpError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from chirp_async.testing import generate_call

from .conftest import FAST_RETRIES, SECRET_KEY
from .hostile import RawServer, deflate_of_zeros, gzip_of_zeros, response

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
OTHER_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWJ"
MiB = 1024 * 1024


def call_body(call_id: str = CALL_ID, **changes: object) -> bytes:
    data = dict(generate_call(call_id))
    data.update(changes)
    return msgspec.json.encode(data)


def id_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@pytest.fixture
def make_raw_client() -> Iterator[Callable[..., AsyncChirp]]:
    made: list[AsyncChirp] = []

    def factory(server: RawServer, **options: object) -> AsyncChirp:
        options.setdefault("retry_policy", FAST_RETRIES)
        client = AsyncChirp(SECRET_KEY, base_url=server.base_url, **options)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield factory
    assert all(c.is_closed for c in made), "close every client in the test (async with)"


# --- 1. size bounded after decoding -------------------------------------------------------


async def test_a_gzip_bomb_stops_at_max_response_bytes_with_memory_near_the_cap(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    bomb = gzip_of_zeros(64 * MiB)
    assert len(bomb) < MiB // 4
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    async with RawServer(lambda path, h: response(200, bomb, headers=headers)) as server:
        async with make_raw_client(server, max_response_bytes=MiB) as client:
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                with pytest.raises(APIResponseValidationError) as caught:
                    await client.calls.get(CALL_ID)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert "larger than max_response_bytes=1048576 (decoded)" in str(caught.value)
    assert len(caught.value.body) <= 64 * 1024
    assert peak < 4 * MiB, peak  # the cap plus buffers, not the 64 MiB it inflates to
    assert len(server.requests) == 1  # not retried


async def test_an_error_body_bomb_keeps_a_64_kib_prefix_and_its_status_type(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    bomb = deflate_of_zeros(64 * MiB)
    headers = {"Content-Encoding": "deflate"}
    async with RawServer(
        lambda path, h: response(404, bomb, reason="Not Found", headers=headers)
    ) as server:
        async with make_raw_client(server) as client:
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                with pytest.raises(NotFoundError) as caught:
                    await client.calls.get(CALL_ID)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    body = caught.value.body
    assert isinstance(body, str)
    assert len(body) == 64 * 1024  # the prefix, decoded as text
    assert peak < 2 * MiB, peak


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_compressed_bodies_decode_to_the_call(
    make_raw_client: Callable[..., AsyncChirp], encoding: str
) -> None:
    import zlib

    body = call_body()
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw-deflate": -15}[encoding]
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    data = compressor.compress(body) + compressor.flush()
    name = "deflate" if encoding == "raw-deflate" else encoding
    headers = {"Content-Encoding": name}
    async with RawServer(lambda path, h: response(200, data, headers=headers)) as server:
        async with make_raw_client(server) as client:
            call = await client.calls.get(CALL_ID)
    assert msgspec.json.encode(call) == body
    assert server.requests[0][1]["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("encoding", "data", "message"),
    [
        ("br", b"\x0b\x02\x80{}\x03", "Content-Encoding 'br', which was not asked for"),
        ("gzip", b"not gzip at all", "corrupt gzip body"),
        ("gzip", gzip_of_zeros(1000)[:10], "ended before its end marker"),
    ],
)
async def test_an_unasked_or_corrupt_encoding_is_a_validation_error(
    make_raw_client: Callable[..., AsyncChirp], encoding: str, data: bytes, message: str
) -> None:
    headers = {"Content-Encoding": encoding}
    async with RawServer(lambda path, h: response(200, data, headers=headers)) as server:
        async with make_raw_client(server) as client:
            with pytest.raises(APIResponseValidationError) as caught:
                await client.calls.get(CALL_ID)
    assert message in str(caught.value)


# --- 2. nothing foreign escapes -----------------------------------------------------------


HOSTILE_DATES = [
    "Mon, 01 Jan 0000 00:00:00 GMT",
    "Mon, 01 Jan 10000000000 00:00:00 GMT",
    "Wed, 21 Oct 2015 07:28:00 +9999",
    "Wed, 21 Oct 99999 07:28:00 GMT",
]


@pytest.mark.parametrize("retry_after", HOSTILE_DATES)
async def test_an_absurd_retry_after_date_on_a_404_is_still_a_not_found(
    make_raw_client: Callable[..., AsyncChirp], retry_after: str
) -> None:
    headers = {"Retry-After": retry_after}
    async with RawServer(lambda path, h: response(404, b"{}", headers=headers)) as server:
        async with make_raw_client(server) as client:
            with pytest.raises(NotFoundError):
                await client.calls.get(CALL_ID)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            call_body(metadata={"k": "x"}).replace(b'"x"', b"[" * 1000 + b"]" * 1000),
            "nested too deep",
        ),
        (call_body(metadata={"k": "x"}).replace(b'"x"', b'"\xff"'), "invalid JSON"),
        (call_body(metadata={"k": "x"}).replace(b'"x"', b'"\xed\xa0\x80"'), "invalid JSON"),
    ],
    ids=["deep", "bad-utf8", "surrogate-bytes"],
)
async def test_a_200_body_that_breaks_the_decoder_is_a_validation_error(
    make_raw_client: Callable[..., AsyncChirp], body: bytes, kind: str
) -> None:
    async with RawServer(lambda path, h: response(200, body)) as server:
        async with make_raw_client(server) as client:
            with pytest.raises(APIResponseValidationError) as caught:
                await client.calls.get(CALL_ID)
    assert kind in str(caught.value)


async def test_a_200_for_another_call_is_a_validation_error_naming_both(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    async with RawServer(lambda path, h: response(200, call_body(OTHER_ID))) as server:
        async with make_raw_client(server) as client:
            with pytest.raises(APIResponseValidationError) as caught:
                await client.calls.get(CALL_ID)
            raw = await client.calls.with_raw_response.get(CALL_ID)
            with pytest.raises(APIResponseValidationError):
                raw.parse()
            results = await client.calls.get_many([CALL_ID], return_exceptions=True)
    assert f"is for call {OTHER_ID!r}, not {CALL_ID!r}" in str(caught.value)
    assert isinstance(results[0], APIResponseValidationError)


# --- 8. the status decides the type ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"<html>busy</html>", b"x" * (2 * MiB)],
    ids=["not-json", "larger-than-the-cap"],
)
async def test_a_429_with_an_odd_body_stays_a_rate_limit_error_and_is_retried(
    make_raw_client: Callable[..., AsyncChirp], body: bytes
) -> None:
    headers = {"Retry-After": "0"}
    async with RawServer(lambda path, h: response(429, body, headers=headers)) as server:
        async with make_raw_client(server, max_response_bytes=MiB, max_retries=2) as client:
            with pytest.raises(RateLimitError) as caught:
                await client.calls.get(CALL_ID)
    assert caught.value.retry_after == 0.0
    assert len(server.requests) == 3
    assert isinstance(caught.value.body, str)
    assert len(caught.value.body) <= 64 * 1024


async def test_a_503_with_a_body_over_the_cap_is_retried_as_a_server_error(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    answers = iter([response(503, b"y" * (3 * MiB)), response(200, call_body())])
    async with RawServer(lambda path, h: next(answers)) as server:
        async with make_raw_client(server, max_response_bytes=MiB) as client:
            call = await client.calls.get(CALL_ID)
    assert call.id == CALL_ID
    assert len(server.requests) == 2


async def test_a_503_that_stays_is_an_internal_server_error(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    async with RawServer(lambda path, h: response(503, b"\xff\xfe not json")) as server:
        async with make_raw_client(server, max_retries=1) as client:
            with pytest.raises(InternalServerError) as caught:
                await client.calls.get(CALL_ID)
    assert caught.value.status_code == 503
    assert len(server.requests) == 2


# --- 6. the key leaks through no channel ----------------------------------------------------


def _forms(key: str) -> list[str]:
    escaped = key.replace("_", "\\u005f")
    return [key, escaped, urllib.parse.quote(key, safe=""), key.replace("_", "%5F")]


def _echo(status: int) -> Callable[[str, dict[str, str]], bytes]:
    def respond(path: str, headers: dict[str, str]) -> bytes:
        key = headers["authorization"].removeprefix("Bearer ")
        raw, escaped, quoted, percent = _forms(key)
        body = (
            '{"error": {"type": "x", "message": "bad key '
            + escaped
            + '", "param": "'
            + quoted
            + '", "code": "'
            + percent
            + '"}, "echo": "'
            + raw
            + '"}'
        ).encode()
        if status == 200:
            body = call_body(metadata={"raw": raw, "esc": "REPLACE", "pct": percent})
            body = body.replace(b'"REPLACE"', b'"' + escaped.encode() + b'"')
        echo = {
            "x-request-id": f"req_{raw}",
            "X-Echo": f"Bearer {raw}",
            "X-Echo-Escaped": escaped,
            "X-Echo-Quoted": quoted,
            "Retry-After": "0",
        }
        return response(status, body, reason=f"Nope Bearer {raw}", headers=echo)

    return respond


def _printable(exc: BaseException) -> str:
    parts = [str(exc), repr(exc)]
    parts.append("".join(traceback.format_exception(exc)))
    parts.append(
        "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    )
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(repr(vars(current)))
        for value in vars(current).values():
            if hasattr(value, "items"):
                parts.append(json.dumps(dict(value.items()), default=str))
        parts.append(repr(current.args))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("status", [401, 404, 500, 429])
async def test_an_echoed_key_reaches_no_error_log_or_traceback(
    make_raw_client: Callable[..., AsyncChirp], status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chirp_async")
    async with RawServer(_echo(status)) as server:
        async with make_raw_client(server, max_retries=1) as client:
            with pytest.raises(ChirpError) as caught:
                await client.calls.get(CALL_ID)
    text = _printable(caught.value) + "\n".join(r.getMessage() for r in caplog.records)
    for form in _forms(SECRET_KEY):
        assert form not in text, form
    assert SECRET_KEY.removeprefix("sk_test_app_") not in text
    assert "***" in text


async def test_an_echoed_key_in_a_200_body_and_headers_is_scrubbed(
    make_raw_client: Callable[..., AsyncChirp], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chirp_async")
    async with RawServer(_echo(200)) as server:
        async with make_raw_client(server) as client:
            raw = await client.calls.with_raw_response.get(CALL_ID)
            call = raw.parse()
    text = "\n".join(
        [
            repr(call),
            msgspec.json.encode(call).decode(),
            json.dumps(dict(raw.headers.items())),
            repr(raw),
            str(raw.request_id),
            raw.content.decode(),
            *(r.getMessage() for r in caplog.records),
        ]
    )
    for form in _forms(SECRET_KEY):
        assert form not in text, form
    assert call.metadata == {"raw": "***", "esc": "***", "pct": "***"}


async def test_an_authentication_error_from_an_echoing_status_line_hides_the_key(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    async with RawServer(_echo(401)) as server:
        async with make_raw_client(server) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.calls.get(CALL_ID)
    assert str(caught.value).startswith("HTTP 401 Nope Bearer ***")
    assert caught.value.request_id == "req_***"
    assert caught.value.headers["X-Echo"] == "Bearer ***"


# --- 10. smaller ones -------------------------------------------------------------------------


async def test_cookies_set_by_the_server_are_never_sent_back(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    counter = iter(range(1000))

    def respond(path: str, headers: dict[str, str]) -> bytes:
        cookie = {"Set-Cookie": f"c{next(counter)}={'z' * 100}; Path=/"}
        return response(200, call_body(id_of(path)), headers=cookie)

    async with RawServer(respond) as server:
        async with make_raw_client(server) as client:
            for _ in range(5):
                await client.calls.get(CALL_ID)
    assert [("cookie" in headers) for _, headers in server.requests] == [False] * 5


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(40_000)) + b"\r\n",
    ],
    ids=["bad-status-line", "1-mb-header", "too-many-headers"],
)
async def test_a_protocol_violation_says_malformed_response(
    make_raw_client: Callable[..., AsyncChirp], raw: bytes
) -> None:
    async with RawServer(lambda path, h: raw, keep_alive=False) as server:
        async with make_raw_client(server, max_retries=0) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.calls.get(CALL_ID)
    message = str(caught.value)
    assert message.startswith("malformed HTTP response from the server: "), message
    assert not message.startswith("400")
    assert caught.value.__cause__ is None


# --- 2. one mixed chaos batch ------------------------------------------------------------------


CHAOS: list[Callable[[str], bytes]] = [
    lambda cid: response(200, call_body(cid)),
    lambda cid: response(200, call_body(cid), headers={"Content-Encoding": "gzip"}),
    lambda cid: response(404, b"{}", headers={"Retry-After": HOSTILE_DATES[1]}),
    lambda cid: response(
        200, call_body(cid, metadata={"k": "x"}).replace(b'"x"', b"[" * 5000 + b"]" * 5000)
    ),
    lambda cid: response(200, call_body(cid, metadata={"k": "x"}).replace(b'"x"', b'"\xff"')),
    lambda cid: response(200, call_body(OTHER_ID if cid != OTHER_ID else CALL_ID)),
    lambda cid: response(429, b"<html>", headers={"Retry-After": HOSTILE_DATES[2]}),
    lambda cid: response(503, b"\x00" * 70_000),
    lambda cid: response(200, gzip_of_zeros(2 * MiB), headers={"Content-Encoding": "gzip"}),
    lambda cid: response(200, b"\x0b\x02\x80", headers={"Content-Encoding": "br"}),
    lambda cid: response(200, call_body(cid)[:50]),
    lambda cid: b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
    lambda cid: response(
        200,
        call_body(cid),
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000000000000"},
    ),
]


async def test_a_chaos_batch_gives_every_position_exactly_one_call_or_chirp_error(
    make_raw_client: Callable[..., AsyncChirp],
) -> None:
    ids = [f"call_{i:027d}" for i in range(500)]

    def respond(path: str, headers: dict[str, str]) -> bytes:
        cid = id_of(path)
        gzipped = CHAOS[int(cid[-3:]) % len(CHAOS)](cid)
        if b"Content-Encoding: gzip" in gzipped and b"\x1f\x8b" not in gzipped:
            import gzip

            head, _, body = gzipped.partition(b"\r\n\r\n")
            data = gzip.compress(body)
            head = head.replace(
                f"Content-Length: {len(body)}".encode(), f"Content-Length: {len(data)}".encode()
            )
            return head + b"\r\n\r\n" + data
        return gzipped

    async with RawServer(respond) as server:
        async with make_raw_client(server, max_retries=1, max_response_bytes=MiB) as client:
            results = await client.calls.get_many(ids, concurrency=16, return_exceptions=True)
            outcomes = {}
            async for call_id, outcome in client.calls.iter_many(ids, concurrency=16):
                assert call_id not in outcomes
                outcomes[call_id] = outcome

    assert len(results) == len(ids)
    assert sorted(outcomes) == sorted(ids)
    for call_id, result in zip(ids, results, strict=True):
        assert isinstance(result, (Call, ChirpError)), type(result)
        assert type(outcomes[call_id]) is type(result), call_id
        if isinstance(result, Call):
            assert result.id == call_id
    by_kind: dict[int, set[str]] = {}
    for call_id, result in zip(ids, results, strict=True):
        by_kind.setdefault(int(call_id[-3:]) % len(CHAOS), set()).add(type(result).__name__)
    assert by_kind == {
        0: {"Call"},
        1: {"Call"},
        2: {"NotFoundError"},
        3: {"APIResponseValidationError"},
        4: {"APIResponseValidationError"},
        5: {"APIResponseValidationError"},
        6: {"RateLimitError"},
        7: {"InternalServerError"},
        8: {"APIResponseValidationError"},
        9: {"APIResponseValidationError"},
        10: {"APIResponseValidationError"},
        11: {"APIConnectionError"},
        12: {"Call"},
    }, by_kind
