"""Every use of aiohttp's private API, in one place, each checked by `check_private_api`.

aiohttp offers no public hook for the socket read size and no public pool counts. The
client uses two private details for them; should an aiohttp upgrade change either, the
client keeps working (reads stay at asyncio's size, counts read as zero) and
`check_private_api` (run by the test suite) names what changed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import aiohttp

__all__ = [
    "READ_SIZE",
    "ReadSizeConnector",
    "check_private_api",
    "idle_protocols",
    "pool_counts",
    "shrink_reads",
]

READ_SIZE: Final = 64 * 1024
"""Bytes asked of each socket read (asyncio's selector transport asks 256 KiB).

CPython allocates the whole size for every read and then shrinks it; at 256 KiB glibc
serves that with mmap, mremap and munmap, three system calls per read. Below malloc's
mmap threshold (128 KiB) the buffer comes from the heap: 13% more requests per second for
a hand-written aiohttp client in the fan-out benchmark. A Call is about 1 KiB.
"""

_CREATE_CONNECTION: Final = "_create_connection"
"""The connector method called for every new connection (private)."""
_IDLE: Final = "_conns"
"""The connector's idle connections: a mapping of key to a collection of (protocol, t)."""
_IN_USE: Final = "_acquired"
"""The connector's connections in use: a collection."""


def shrink_reads(transport: object) -> None:
    """Make ``transport`` read at most `READ_SIZE` bytes at a time.

    Only asyncio's plain socket transport has a ``max_size``; TLS transports and uvloop's
    read into a buffer they keep, and are left alone.

    Args:
        transport: A new connection's transport (or ``None``).
    """
    if getattr(transport, "max_size", 0) > READ_SIZE:
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]


class ReadSizeConnector(aiohttp.TCPConnector):
    """aiohttp's TCP connector, with `shrink_reads` applied to every new connection.

    The hook is aiohttp's private ``_create_connection``, called with whatever arguments
    that version passes; should a later aiohttp no longer call it, the connections simply
    keep asyncio's read size.
    """

    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        protocol = await super()._create_connection(*args, **kwargs)
        shrink_reads(getattr(protocol, "transport", None))
        return protocol


def pool_counts(connector: aiohttp.BaseConnector | None) -> tuple[int, int]:
    """Return (open, idle) connections of ``connector``; (0, 0) when unknown.

    Args:
        connector: A session's connector, or ``None``.

    Returns:
        Connections open (in use or idle), and of those idle.
    """
    if connector is None:
        return 0, 0
    idle_by_key = getattr(connector, _IDLE, None)
    in_use = getattr(connector, _IN_USE, None)
    try:
        idle = sum(len(conns) for conns in idle_by_key.values()) if idle_by_key else 0
        used = len(in_use) if in_use is not None else 0
    except (AttributeError, TypeError):  # a shape this shim does not know
        return 0, 0
    return idle + used, idle


def idle_protocols(connector: aiohttp.BaseConnector | None) -> list[Any]:
    """Return the protocols of ``connector``'s idle keep-alive connections (empty if unknown).

    Args:
        connector: A session's connector, or ``None``.

    Returns:
        One protocol per idle connection (each has a ``transport``).
    """
    idle_by_key: Any = getattr(connector, _IDLE, None)
    if not hasattr(idle_by_key, "values"):
        return []
    return [protocol for conns in idle_by_key.values() for protocol, _ in conns]


async def check_private_api() -> list[str]:
    """Check that this aiohttp still has every private detail the shim uses.

    Returns:
        What is missing or changed, one sentence each; empty when all is as expected.
    """
    problems: list[str] = []
    if not callable(getattr(aiohttp.TCPConnector, _CREATE_CONNECTION, None)):
        problems.append(
            f"aiohttp {aiohttp.__version__}: TCPConnector.{_CREATE_CONNECTION} is gone, "
            "so connections keep asyncio's 256 KiB reads (ReadSizeConnector)"
        )
    connector = aiohttp.TCPConnector()
    try:
        idle = getattr(connector, _IDLE, None)
        if not hasattr(idle, "values"):
            problems.append(
                f"aiohttp {aiohttp.__version__}: BaseConnector.{_IDLE} is not a mapping "
                "any more, so stats() reports no idle connections (pool_counts)"
            )
        if not hasattr(getattr(connector, _IN_USE, None), "__len__"):
            problems.append(
                f"aiohttp {aiohttp.__version__}: BaseConnector.{_IN_USE} has no length any "
                "more, so stats() reports no connections in use (pool_counts)"
            )
    finally:
        await connector.close()
        await asyncio.sleep(0)
    return problems
