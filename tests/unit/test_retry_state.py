"""The retry decision, sans I/O: every rule on plain values (no socket, no clock, no loop)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chirp_async import RetryPolicy
from chirp_async._retry import Retry, RetryBudget, RetryState

RETRIED = {408, 409, 429, 500, 502, 503, 504}
NO_JITTER = RetryPolicy(initial_delay=0.5, max_delay=8.0, random=lambda: 0.0)


def state(
    *,
    max_retries: int = 2,
    budget: RetryBudget | None = None,
    idempotent: bool = True,
    policy: RetryPolicy = NO_JITTER,
) -> RetryState:
    return RetryState(policy, max_retries=max_retries, budget=budget, idempotent=idempotent)


@pytest.mark.parametrize("status", range(300, 600))
def test_exactly_the_transient_statuses_are_retried(status: int) -> None:
    decision = state().after_status(status, None, time_left=None)
    if status in RETRIED:
        assert decision == Retry(0.25, pause=False)
    else:
        assert decision is None


def test_backoff_grows_with_each_retry_granted() -> None:
    decisions = state(max_retries=5)
    delays = [decisions.after_status(500, None, time_left=None) for _ in range(6)]
    assert delays == [
        Retry(0.25, False),
        Retry(0.5, False),
        Retry(1.0, False),
        Retry(2.0, False),
        Retry(4.0, False),
        None,
    ]
    assert decisions.retries == 5


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_no_retry_past_max_retries(max_retries: int) -> None:
    decisions = state(max_retries=max_retries)
    granted = [decisions.after_status(503, None, time_left=None) for _ in range(max_retries + 2)]
    assert [d is not None for d in granted] == [True] * max_retries + [False, False]


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_503_with_retry_after_is_a_client_wide_pause_of_that_length(
    status: int,
) -> None:
    assert state().after_status(status, 7.5, time_left=None) == Retry(7.5, pause=True)


@pytest.mark.parametrize("status", [408, 409, 500, 502, 504])
def test_other_statuses_wait_their_retry_after_without_pausing_the_client(status: int) -> None:
    assert state().after_status(status, 3.0, time_left=None) == Retry(3.0, pause=False)


def test_a_429_without_retry_after_backs_off_without_a_pause() -> None:
    assert state().after_status(429, None, time_left=None) == Retry(0.25, pause=False)


@pytest.mark.parametrize(
    ("delay", "time_left", "granted"),
    [(2.0, 5.0, True), (2.0, 2.0, False), (2.0, 1.9, False), (0.0, 0.1, True)],
)
def test_no_retry_whose_wait_would_reach_the_deadline(
    delay: float, time_left: float, granted: bool
) -> None:
    decision = state().after_status(429, delay, time_left=time_left)
    assert (decision is not None) is granted


def test_a_refused_retry_does_not_count_as_one() -> None:
    decisions = state(max_retries=1)
    assert decisions.after_status(429, 10.0, time_left=1.0) is None
    assert decisions.retries == 0
    assert decisions.after_status(429, 0.5, time_left=1.0) == Retry(0.5, pause=True)


def test_the_budget_pays_for_each_retry_and_stops_them_when_spent() -> None:
    budget = RetryBudget(12)  # two retries at 5 tokens
    decisions = state(max_retries=5, budget=budget)
    outcomes = [decisions.after_status(500, None, time_left=None) for _ in range(3)]
    assert [o is not None for o in outcomes] == [True, True, False]
    assert budget.tokens == 2


def test_a_retry_after_a_timeout_costs_more_budget() -> None:
    budget = RetryBudget(15)
    decisions = state(max_retries=5, budget=budget)
    assert decisions.after_failure(timed_out=True, maybe_sent=True, time_left=None) is not None
    assert budget.tokens == 5
    assert decisions.after_failure(timed_out=True, maybe_sent=True, time_left=None) is None
    assert decisions.after_failure(timed_out=False, maybe_sent=True, time_left=None) is not None
    assert budget.tokens == 0


def test_no_budget_is_spent_when_the_deadline_already_refuses() -> None:
    budget = RetryBudget(10)
    state(budget=budget).after_status(500, None, time_left=0.1)
    assert budget.tokens == 10


def test_a_failure_below_http_backs_off_like_a_status() -> None:
    decisions = state()
    assert decisions.after_failure(timed_out=False, maybe_sent=True, time_left=None) == Retry(
        0.25, pause=False
    )
    assert decisions.after_failure(timed_out=True, maybe_sent=False, time_left=None) == Retry(
        0.5, pause=False
    )
    assert decisions.after_failure(timed_out=False, maybe_sent=False, time_left=None) is None


# --- a request that is not idempotent (creating a call, a command) ---------------------------


@pytest.mark.parametrize("status", sorted(RETRIED))
def test_a_request_that_is_not_idempotent_is_never_retried_on_a_status(status: int) -> None:
    # The server may have acted on it: a 5xx or a 409 after sending is an unknown outcome.
    assert state(idempotent=False).after_status(status, None, time_left=None) is None
    if status != 429:
        assert state(idempotent=False).after_status(status, 1.0, time_left=None) is None


def test_a_request_that_is_not_idempotent_is_retried_when_the_server_asks_with_a_429() -> None:
    decision = state(idempotent=False).after_status(429, 2.0, time_left=None)
    assert decision == Retry(2.0, pause=True)


def test_a_request_that_is_not_idempotent_is_retried_only_when_it_surely_was_not_sent() -> None:
    decisions = state(idempotent=False)
    assert decisions.after_failure(timed_out=True, maybe_sent=True, time_left=None) is None
    assert decisions.after_failure(timed_out=False, maybe_sent=True, time_left=None) is None
    assert decisions.after_failure(timed_out=False, maybe_sent=False, time_left=None) == Retry(
        0.25, pause=False
    )


# --- properties over any sequence of outcomes -------------------------------------------------

outcomes = st.lists(
    st.one_of(
        st.tuples(st.just("status"), st.integers(300, 599), st.none() | st.floats(0, 60)),
        st.tuples(st.just("failure"), st.booleans(), st.booleans()),
    ),
    max_size=20,
)


@given(
    sequence=outcomes,
    max_retries=st.integers(0, 6),
    capacity=st.none() | st.integers(0, 60),
    idempotent=st.booleans(),
    time_left=st.none() | st.floats(0, 30),
)
def test_retries_never_exceed_max_retries_the_budget_or_the_deadline(
    sequence: list[tuple[str, object, object]],
    max_retries: int,
    capacity: int | None,
    idempotent: bool,
    time_left: float | None,
) -> None:
    budget = None if capacity is None else RetryBudget(capacity)
    decisions = state(max_retries=max_retries, budget=budget, idempotent=idempotent)
    granted = 0
    for kind, first, second in sequence:
        if kind == "status":
            assert isinstance(first, int)
            assert second is None or isinstance(second, float)
            decision = decisions.after_status(first, second, time_left=time_left)
        else:
            assert isinstance(first, bool) and isinstance(second, bool)
            decision = decisions.after_failure(
                timed_out=first, maybe_sent=second, time_left=time_left
            )
        if decision is not None:
            granted += 1
            assert decision.delay >= 0
            assert time_left is None or decision.delay < time_left
    assert granted == decisions.retries <= max_retries
    if capacity is not None:
        assert budget is not None
        assert granted * 5 <= capacity
