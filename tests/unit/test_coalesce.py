"""SingleFlight and copy_exception, on a real event loop; events decide the ordering."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from multidict import CIMultiDict

from chirp_async import (
    APIConnectionError,
    APITimeoutError,
    ChirpError,
    NotFoundError,
    RateLimitError,
)
from chirp_async._coalesce import SingleFlight, copy_exception
from chirp_async._status_errors import make_status_error

BOUND = 5.0  # seconds; a backstop for waits that should end at once, never a speed check
FOLLOWERS = 4

T = TypeVar("T")


async def bounded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, BOUND)


async def let_tasks_run() -> None:
    """Give every ready task a few steps (each step here is one loop iteration, not time)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def assert_no_other_tasks() -> None:
    await let_tasks_run()
    assert asyncio.all_tasks() == {asyncio.current_task()}


def not_found() -> NotFoundError:
    error = make_status_error(
        404,
        "Not Found",
        CIMultiDict({"x-request-id": "req_404"}),
        b'{"error": {"type": "invalid_request_error", "code": "resource_not_found",'
        b' "message": "No such call", "param": "callId"}}',
        request_id="req_404",
        retry_after=None,
    )
    assert isinstance(error, NotFoundError)
    return error


class Work:
    """A work function that records its calls and finishes when the test says so."""

    def __init__(self, outcome: object = "result") -> None:
        self.calls: list[str] = []
        self.cancelled = 0
        self.gate = asyncio.Event()
        self.outcome = outcome

    async def __call__(self, key: str) -> object:
        self.calls.append(key)
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def start(
    flights: SingleFlight[str, object], key: str, work: Callable[[str], Awaitable[object]], n: int
) -> list[asyncio.Task[object]]:
    return [asyncio.create_task(flights.run(key, work)) for _ in range(n)]


# --- sharing ------------------------------------------------------------------------------


async def test_concurrent_runs_of_one_key_call_work_once_and_share_the_result_object() -> None:
    result = object()
    work = Work(result)
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    assert work.calls == ["a"]
    assert flights.in_flight == 1
    work.gate.set()
    results = await bounded(asyncio.gather(*tasks))
    assert len(results) == 1 + FOLLOWERS
    assert all(r is result for r in results)
    assert work.calls == ["a"]
    assert flights.in_flight == 0


async def test_different_keys_run_separately() -> None:
    flights: SingleFlight[str, object] = SingleFlight()
    gate = asyncio.Event()
    calls: list[str] = []

    async def work(key: str) -> object:
        calls.append(key)
        await gate.wait()
        return key.upper()

    tasks = start(flights, "a", work, 3) + start(flights, "b", work, 2)
    await let_tasks_run()
    assert calls == ["a", "b"]
    assert flights.in_flight == 2
    gate.set()
    assert await bounded(asyncio.gather(*tasks)) == ["A", "A", "A", "B", "B"]
    assert flights.in_flight == 0


async def test_run_after_completion_calls_work_again() -> None:
    flights: SingleFlight[str, object] = SingleFlight()
    calls: list[str] = []

    async def work(key: str) -> object:
        calls.append(key)
        return len(calls)

    assert await flights.run("a", work) == 1
    assert await flights.run("a", work) == 2
    assert calls == ["a", "a"]
    assert flights.in_flight == 0


async def test_run_after_failure_calls_work_again() -> None:
    work = Work(ValueError("boom"))
    work.gate.set()
    flights: SingleFlight[str, object] = SingleFlight()
    for _ in range(2):
        with pytest.raises(ValueError, match="boom"):
            await flights.run("a", work)
    assert work.calls == ["a", "a"]
    assert flights.in_flight == 0


async def test_work_that_never_suspends_finishes_before_the_next_caller_arrives() -> None:
    flights: SingleFlight[str, object] = SingleFlight()
    calls: list[str] = []

    async def work(key: str) -> object:
        calls.append(key)
        return key * 2

    assert await bounded(asyncio.gather(*start(flights, "ab", work, 3))) == ["abab"] * 3
    assert calls == ["ab"] * 3  # nothing to share: each flight ended before the next run
    assert flights.in_flight == 0


# --- errors -------------------------------------------------------------------------------


def assert_same_error_but_not_shared(original: BaseException, copies: list[BaseException]) -> None:
    assert len({id(c) for c in copies}) == len(copies)
    for clone in copies:
        assert clone is not original
        assert type(clone) is type(original)
        assert clone.args == original.args
        assert str(clone) == str(original)
        assert vars(clone) == vars(original)


@pytest.mark.parametrize(
    "error",
    [
        not_found(),
        ValueError("bad value", 3),
        APITimeoutError("Request timed out (total=1.0s per attempt; TimeoutError)"),
    ],
    ids=["NotFoundError", "ValueError", "APITimeoutError"],
)
async def test_failed_work_gives_the_leader_the_original_and_each_follower_a_copy(
    error: Exception,
) -> None:
    work = Work(error)
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    work.gate.set()
    outcomes = await bounded(asyncio.gather(*tasks, return_exceptions=True))
    assert work.calls == ["a"]
    assert outcomes[0] is error
    followers = outcomes[1:]
    assert all(isinstance(o, BaseException) for o in followers)
    assert_same_error_but_not_shared(error, [o for o in followers if isinstance(o, BaseException)])
    assert flights.in_flight == 0


async def test_followers_get_not_found_error_with_every_attribute() -> None:
    error = not_found()
    work = Work(error)
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 2)
    await let_tasks_run()
    work.gate.set()
    leader, follower = await bounded(asyncio.gather(*tasks, return_exceptions=True))
    assert leader is error
    assert isinstance(follower, NotFoundError)
    assert follower is not error
    assert (follower.status_code, follower.request_id, follower.code, follower.param) == (
        404,
        "req_404",
        "resource_not_found",
        "callId",
    )
    assert follower.type == "invalid_request_error"
    assert follower.body == error.body
    assert follower.headers is error.headers
    assert follower.message == error.message
    assert follower.__traceback__ is not None  # raised in the follower's own task


# --- cancellation -------------------------------------------------------------------------


async def test_cancelling_one_follower_affects_neither_the_leader_nor_other_followers() -> None:
    work = Work("result")
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    victim = tasks[2]
    victim.cancel()
    await let_tasks_run()
    assert victim.cancelled()
    assert work.cancelled == 0
    assert flights.in_flight == 1
    work.gate.set()
    others = [t for t in tasks if t is not victim]
    assert await bounded(asyncio.gather(*others)) == ["result"] * FOLLOWERS
    assert work.calls == ["a"]
    assert flights.in_flight == 0
    await assert_no_other_tasks()


async def test_cancelling_the_leader_makes_one_follower_take_over() -> None:
    work = Work("result")
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    leader, followers = tasks[0], tasks[1:]
    leader.cancel()
    await let_tasks_run()
    assert leader.cancelled()
    assert work.cancelled == 1
    assert work.calls == ["a", "a"]  # exactly one follower took over
    assert flights.in_flight == 1
    assert not any(t.done() for t in followers)
    work.gate.set()
    assert await bounded(asyncio.gather(*followers)) == ["result"] * FOLLOWERS
    assert work.calls == ["a", "a"]
    assert flights.in_flight == 0
    await assert_no_other_tasks()


async def test_cancelling_the_leader_and_its_successor_hands_over_again() -> None:
    work = Work("result")
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    for index in (0, 1):  # the successor is the first follower (tasks run in order)
        tasks[index].cancel()
        await let_tasks_run()
    assert work.calls == ["a", "a", "a"]
    assert work.cancelled == 2
    work.gate.set()
    assert await bounded(asyncio.gather(*tasks[2:])) == ["result"] * (FOLLOWERS - 1)
    assert flights.in_flight == 0


async def test_failure_after_a_takeover_reaches_the_remaining_followers_as_copies() -> None:
    error = ValueError("second leader failed")
    work = Work(error)
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    tasks[0].cancel()
    await let_tasks_run()
    work.gate.set()
    outcomes = await bounded(asyncio.gather(*tasks[1:], return_exceptions=True))
    assert outcomes[0] is error  # the new leader re-raises the original
    copies = [o for o in outcomes[1:] if isinstance(o, BaseException)]
    assert len(copies) == FOLLOWERS - 1
    assert_same_error_but_not_shared(error, copies)
    assert work.calls == ["a", "a"]


@pytest.mark.parametrize("order", ["leader-first", "followers-first", "leader-then-later"])
async def test_cancelling_everyone_leaves_nothing_in_flight_and_no_tasks(order: str) -> None:
    work = Work("result")
    flights: SingleFlight[str, object] = SingleFlight()
    tasks = start(flights, "a", work, 1 + FOLLOWERS)
    await let_tasks_run()
    if order == "leader-first":
        for task in tasks:
            task.cancel()
    elif order == "followers-first":
        for task in reversed(tasks):
            task.cancel()
    else:  # the leader's cancellation is handled before the followers are cancelled
        tasks[0].cancel()
        await asyncio.sleep(0)
        for task in tasks[1:]:
            task.cancel()
    outcomes = await bounded(asyncio.gather(*tasks, return_exceptions=True))
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert flights.in_flight == 0
    assert work.cancelled == len(work.calls)
    await assert_no_other_tasks()


# --- copy_exception -----------------------------------------------------------------------


class KeywordOnlyError(ChirpError):
    def __init__(self, message: str, *, code: int, detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


def raise_chained() -> KeywordOnlyError:
    try:
        try:
            raise OSError("connection reset")
        except OSError as cause:
            raise KeywordOnlyError("failed", code=7, detail="d") from cause
    except KeywordOnlyError as exc:
        return exc


def test_copy_exception_rebuilds_keyword_only_errors_that_copy_copy_cannot() -> None:
    original = KeywordOnlyError("failed", code=7, detail="d")
    with pytest.raises(TypeError):
        copy.copy(original)
    clone = copy_exception(original)
    assert type(clone) is KeywordOnlyError
    assert clone is not original
    assert (clone.args, clone.code, clone.detail) == (("failed",), 7, "d")


def test_copy_exception_keeps_cause_context_and_drops_the_traceback() -> None:
    original = raise_chained()
    assert original.__traceback__ is not None
    clone = copy_exception(original)
    assert isinstance(clone.__cause__, OSError)
    assert clone.__cause__ is original.__cause__
    assert clone.__context__ is original.__context__
    assert clone.__suppress_context__ is True
    assert clone.__traceback__ is None
    assert vars(clone) == vars(original)


def test_copy_exception_keeps_an_implicit_context_without_suppressing_it() -> None:
    try:
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second") from None
    except ValueError as exc:
        original = exc
    clone = copy_exception(original)
    assert isinstance(clone.__context__, KeyError)
    assert clone.__cause__ is None
    assert clone.__suppress_context__ is True


def test_copy_exception_of_api_timeout_error_is_still_a_timeout_and_os_error() -> None:
    original = APITimeoutError("Request timed out (total=2.0s per attempt; TimeoutError)")
    original.request_id = "req_1"
    clone = copy_exception(original)
    assert type(clone) is APITimeoutError
    assert isinstance(clone, TimeoutError)
    assert isinstance(clone, OSError)
    assert isinstance(clone, APIConnectionError)
    assert clone.args == original.args
    assert str(clone) == str(original)
    assert (clone.message, clone.request_id) == (original.message, "req_1")
    assert clone.errno is None


def test_copy_exception_keeps_the_retry_after_of_a_rate_limit_error() -> None:
    original = make_status_error(
        429, "Too Many Requests", {}, b"", request_id=None, retry_after=2.5
    )
    assert isinstance(original, RateLimitError)
    clone = copy_exception(original)
    assert isinstance(clone, RateLimitError)
    assert clone.retry_after == 2.5
    assert clone.status_code == 429


def test_copy_exception_of_built_in_errors() -> None:
    for original in (ValueError("v", 1), KeyError("k"), RuntimeError(), TimeoutError(110, "t")):
        clone = copy_exception(original)
        assert type(clone) is type(original)
        assert clone.args == original.args
        assert str(clone) == str(original)
    clone_timeout = copy_exception(TimeoutError(110, "timed out"))
    assert (clone_timeout.errno, clone_timeout.strerror) == (110, "timed out")


def test_copies_do_not_share_the_notes_list() -> None:
    original = ValueError("boom")
    vars(original)["__notes__"] = ["added by the work"]  # what add_note() does (3.11+)
    first, second = copy_exception(original), copy_exception(original)
    vars(first)["__notes__"].append("added by follower 1")
    assert vars(original)["__notes__"] == ["added by the work"]
    assert vars(second)["__notes__"] == ["added by the work"]


def test_copy_of_an_os_error_keeps_its_filename() -> None:
    original = FileNotFoundError(2, "No such file or directory", "calls.csv")
    clone = copy_exception(original)
    assert clone.filename == "calls.csv"  # actual: None
    assert str(clone) == str(original)  # actual: "[Errno 2] No such file or directory"


def test_copy_of_a_unicode_decode_error_keeps_its_attributes() -> None:
    try:
        b"\xff".decode()
    except UnicodeDecodeError as exc:
        original = exc
    clone = copy_exception(original)
    assert (clone.encoding, clone.start, clone.end) == ("utf-8", 0, 1)  # actual: (None, 0, 0)
    assert str(clone) == str(original)  # actual: ""
