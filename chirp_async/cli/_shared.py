"""``get-many``'s scale-out options: the shared store (``--redis-url``), ``--limit``, the skip set.

With ``--redis-url`` the client paces by `RedisRateLimiter` (one key's budget shared by
every process on the store) and answers final calls from `RedisCallCache`; the store's
password never appears in what the command prints.
"""

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

from chirp_async import defaults

from .shard import Shard

if TYPE_CHECKING:
    from chirp_async import CacheBackend, RateLimiter

__all__ = ["DEFAULT_LIMIT", "ENV_REDIS_URL", "RateSpec", "SkipSet", "open_shared_store"]

ENV_REDIS_URL: Final = "CHIRP_REDIS_URL"
_API_LIMIT: Final = 120  # general requests per window per app key, as the API documents
DEFAULT_LIMIT: Final = f"{_API_LIMIT}/{defaults.RATE_LIMIT_WINDOW:g}s"
"""``--limit``'s default: the API's documented budget per key."""
_UNITS: Final = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RATE: Final = re.compile(r"\s*(\d+)\s*/\s*(\d*\.?\d*)\s*(s|m|min|h)?\s*")


@dataclasses.dataclass(frozen=True)
class RateSpec:
    """A rate limit as ``--limit`` gives it: ``limit`` requests per ``period`` seconds.

    Attributes:
        limit: Requests per period (>= 1).
        period: Seconds (> 0).
    """

    limit: int
    period: float

    @classmethod
    def parse(cls, text: str) -> "RateSpec":
        """Parse ``N/PERIOD``: ``120/60s``, ``120/min``, ``50/1s``, ``50/1``.

        Args:
            text: The option's value.

        Returns:
            The rate.

        Raises:
            ValueError: Not of that form, or out of range.
        """
        match = _RATE.fullmatch(text)
        if match is None:
            raise ValueError(f"expected N/PERIOD such as 120/60s or 120/min, got {text!r}")
        count, number, unit = match.groups()
        period = (float(number) if number not in ("", ".") else 1.0) * _UNITS[unit or ""]
        if int(count) < 1 or not period > 0:
            raise ValueError(f"the limit and its period must be positive, got {text!r}")
        return cls(int(count), period)

    @property
    def per_second(self) -> float:
        """The rate in requests per second."""
        return self.limit / self.period

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}s"


@contextlib.asynccontextmanager
async def open_shared_store(
    url: str, rate: RateSpec
) -> AsyncIterator[tuple["RateLimiter", "CacheBackend"]]:
    """Open the shared limiter and cache on the store at ``url``; close both afterwards.

    Args:
        url: ``redis://[:password@]host:port/db``.
        rate: The key's limit, the same in every process that shares it.

    Yields:
        ``(limiter, cache)`` for `AsyncChirp`.

    Raises:
        ValueError: The URL is malformed (the message masks the password).
        ModuleNotFoundError: The ``redis`` package is not installed.
    """
    from chirp_async.redis import RedisCallCache, RedisRateLimiter

    async with (
        RedisRateLimiter(url, limit=rate.limit, period=rate.period) as limiter,
        RedisCallCache(url) as cache,
    ):
        yield limiter, cache


class SkipSet:
    """What a run leaves out: IDs already done (``--resume``) and other shards' (``--shard``).

    A container for ``iter_many(skip=...)`` that counts what it turned away.

    Args:
        done: IDs a previous run finished.
        shard: This run's shard, or ``None`` for all IDs.

    Attributes:
        skipped_done: IDs left out because they were done.
        skipped_shard: IDs left out because another shard owns them.
    """

    def __init__(self, done: set[str], shard: Shard | None) -> None:
        self._done = done
        self._shard = shard
        self.skipped_done = 0
        self.skipped_shard = 0

    def __contains__(self, call_id: object) -> bool:
        if not isinstance(call_id, str):
            return False
        shard = self._shard
        if shard is not None and not shard.owns(call_id):
            self.skipped_shard += 1
            return True
        if call_id in self._done:
            self.skipped_done += 1
            return True
        return False

    def reset_counts(self) -> None:
        """Zero the counters (after counting the input up front for a progress total)."""
        self.skipped_done = self.skipped_shard = 0
