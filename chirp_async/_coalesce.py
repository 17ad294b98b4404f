"""Single-flight: concurrent calls for the same key share one execution.

Knows nothing of HTTP. The first caller for a key (the leader) runs the work; callers that
arrive while it runs (followers) wait for its outcome on a future of their own, so that
cancelling one follower touches nobody else. Followers get the leader's result, or their
own copy of its exception. If the leader is cancelled, one follower takes over.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar, final

__all__ = ["SingleFlight", "copy_exception"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
E = TypeVar("E", bound=BaseException)


class _LeaderGone(Exception):
    """The leader was cancelled before it had an outcome; a follower must take over."""


def copy_exception(exc: E) -> E:
    """Return a shallow copy of ``exc`` (same class, args, attributes and cause).

    Each waiter re-raises its own instance, so tracebacks of different tasks never pile
    up on one shared exception object. Works for exceptions whose ``__init__`` takes
    keyword-only arguments, which `copy.copy` cannot rebuild.

    Args:
        exc: The exception to copy.

    Returns:
        The copy, without a traceback.
    """
    try:
        clone = copy.copy(exc)  # keeps what lives in C slots (OSError.filename, ...)
    except Exception:  # an __init__ with keyword-only arguments cannot be re-called
        cls = type(exc)
        clone = cls.__new__(cls, *exc.args)
        clone.args = exc.args
        clone.__dict__.update(exc.__dict__)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        vars(clone)["__notes__"] = list(notes)  # one waiter's note must not reach another
    clone.__traceback__ = None
    clone.__cause__ = exc.__cause__
    clone.__context__ = exc.__context__
    clone.__suppress_context__ = exc.__suppress_context__
    return clone


@final
class SingleFlight(Generic[K, V]):
    """Deduplicates concurrent executions of ``work(key)`` by key.

    Example:
        >>> flights: SingleFlight[str, int] = SingleFlight()
        >>> # await flights.run("a", fetch) from many tasks: fetch("a") runs once.
    """

    __slots__ = ("_flights",)

    def __init__(self) -> None:
        # Per key in flight, the futures of its followers: a dict (insertion-ordered, O(1)
        # removal), so that a cancelled follower is dropped at once, not when the leader
        # finishes (a stalled leader could otherwise pile up any number of them).
        self._flights: dict[K, dict[asyncio.Future[V], None]] = {}

    @property
    def in_flight(self) -> int:
        """Keys being worked on now."""
        return len(self._flights)

    async def run(
        self,
        key: K,
        work: Callable[[K], Awaitable[V]],
        before_following: Callable[[], object] | None = None,
    ) -> V:
        """Return ``await work(key)``, sharing one execution among concurrent callers.

        Args:
            key: What identifies the work.
            work: The coroutine function to run for ``key``.
            before_following: Called before joining another caller's execution; it may
                raise to refuse (the leader's result would come from the leader's side,
                e.g. another event loop's thread). The leader's own path checks for itself.

        Returns:
            The work's result.

        Raises:
            Exception: Whatever the work raised (a copy, for followers).
        """
        # The leader's part is inline rather than a coroutine of its own: every coroutine
        # level between the caller and the socket is paid again on each resumption.
        flights = self._flights
        while True:
            followers = flights.get(key)
            if followers is not None:
                if before_following is not None:
                    before_following()
                future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
                followers[future] = None
                try:
                    return await future
                except _LeaderGone:
                    continue  # the leader was cancelled: lead (or follow the new leader)
                except BaseException:
                    followers.pop(future, None)  # cancelled: let go of it now
                    raise
            followers = flights[key] = {}
            try:
                result = await work(key)
            except Exception as exc:
                del flights[key]
                for future in followers:
                    if not future.done():
                        future.set_exception(copy_exception(exc))
                raise
            except BaseException:  # cancelled (or interpreter exit): hand over, do not fail
                del flights[key]
                for future in followers:
                    if not future.done():
                        future.set_exception(_LeaderGone())
                raise
            del flights[key]
            for future in followers:
                if not future.done():
                    future.set_result(result)
            return result
