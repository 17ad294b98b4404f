"""Property test: for any mix of IDs, every input position gets exactly one right result."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chirp_async import (
    APIConnectionError,
    Call,
    InternalServerError,
    InvalidCallIdError,
    NotFoundError,
)
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

GOOD = [f"call_{i:027d}" for i in range(6)]
MISSING = [f"call_{'M' * 26}{i}" for i in range(3)]
FAILING = [f"call_{'F' * 26}{i}" for i in range(3)]
RESETTING = [f"call_{'R' * 26}{i}" for i in range(2)]
BAD = ["call_", "call_../x", "", "CALL_" + "0" * 27, "call_" + "0" * 28]

ids_strategy = st.lists(st.sampled_from(GOOD + MISSING + FAILING + RESETTING + BAD), max_size=25)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ids=ids_strategy, concurrency=st.integers(min_value=1, max_value=8))
async def test_every_position_gets_exactly_one_result_of_the_right_kind(
    make_client: ClientFactory, server: MockChirpServer, ids: list[str], concurrency: int
) -> None:
    # A client per example: one shared by all examples drains its retry budget after
    # enough failing IDs, and then retries stop (as they should), failing the counts.
    client = make_client()
    server.clear_scripts()
    server.reset_stats()
    for call_id in MISSING:
        server.mark_missing(call_id)
    for call_id in FAILING:  # more 500s than the client retries (max_retries=2)
        server.script(call_id, 500, 500, 500)
    for call_id in RESETTING:  # 3 attempts, each re-sent once by aiohttp on the reset
        server.script(call_id, *[Fault.reset()] * 6)

    results = await client.calls.get_many(ids, concurrency=concurrency, return_exceptions=True)

    assert len(results) == len(ids)
    for call_id, result in zip(ids, results, strict=True):
        if call_id in GOOD:
            assert isinstance(result, Call) and result.id == call_id
        elif call_id in MISSING:
            assert isinstance(result, NotFoundError)
        elif call_id in FAILING:
            assert isinstance(result, InternalServerError) and result.status_code == 500
        elif call_id in RESETTING:
            assert isinstance(result, APIConnectionError)
        else:
            assert isinstance(result, InvalidCallIdError) and result.call_id == call_id
    distinct = set(ids)
    expected_requests = (
        sum(1 for i in distinct if i in GOOD or i in MISSING)
        + 3 * sum(1 for i in distinct if i in FAILING)
        + 6 * sum(1 for i in distinct if i in RESETTING)
    )
    assert server.request_count == expected_requests
