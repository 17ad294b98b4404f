"""Splitting a list of call IDs among K workers: ``--shard i/K`` of ``get-many``.

An ID belongs to shard ``blake2b(id, 8 bytes) mod K``: a stable hash, the same on every
machine, Python version and run (unlike ``hash()``, which is salted per process), so that
K copies given the same input each take their own IDs and together take every ID once.
Shards are numbered from 0: ``--shard 0/4`` to ``--shard 3/4``.

This module needs only the standard library (no ``cli`` extra), so a worker of your own
can split the same way.

Example:
    >>> from chirp_async.cli.shard import Shard
    >>> shard = Shard.parse("1/4")
    >>> sum(shard.owns(f"call_{n:027d}") for n in range(1000))
    233
"""

import dataclasses
import hashlib
from typing import Final

__all__ = ["Shard", "shard_of"]

_DIGEST_BYTES: Final = 8


def shard_of(call_id: str, count: int) -> int:
    """Return the shard ``call_id`` belongs to, among ``count`` shards.

    Args:
        call_id: Any string (malformed IDs are spread like the others).
        count: The number of shards, >= 1.

    Returns:
        A number from 0 to ``count - 1``.
    """
    digest = hashlib.blake2b(call_id.encode(errors="surrogatepass"), digest_size=_DIGEST_BYTES)
    return int.from_bytes(digest.digest(), "big") % count


@dataclasses.dataclass(frozen=True)
class Shard:
    """One of ``count`` shards of an ID list.

    Attributes:
        index: Which shard, from 0 to ``count - 1``.
        count: How many shards.
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"the shard count must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(
                f"the shard index must be 0 to {self.count - 1} for {self.count} shards "
                f"(they are numbered from 0), got {self.index}"
            )

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """Parse ``"i/K"``.

        Args:
            text: E.g. ``"0/4"``.

        Returns:
            The shard.

        Raises:
            ValueError: Not two integers separated by ``/``, or out of range.
        """
        index, slash, count = text.strip().partition("/")
        try:
            numbers = (int(index), int(count)) if slash else None
        except ValueError:
            numbers = None
        if numbers is None:
            raise ValueError(f"expected i/K with 0 <= i < K (e.g. 0/4), got {text!r}")
        return cls(*numbers)

    def owns(self, call_id: str) -> bool:
        """Return whether ``call_id`` belongs to this shard.

        Args:
            call_id: The ID.

        Returns:
            Whether `shard_of` puts it here.
        """
        return self.count == 1 or shard_of(call_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
