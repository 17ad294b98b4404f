"""The aiohttp shim: 64 KiB socket reads, pool counts, and the private API it relies on."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from chirp_async._aiohttp_shim import (
    READ_SIZE as _READ_SIZE,
)
from chirp_async._aiohttp_shim import (
    check_private_api,
    idle_protocols,
    pool_counts,
    shrink_reads,
)


class _NoMaxSize:
    """A transport like uvloop's: no ``max_size`` attribute to set."""

    __slots__ = ()


def test_a_256_kib_read_size_is_lowered_to_64_kib() -> None:
    transport = SimpleNamespace(max_size=256 * 1024)
    shrink_reads(transport)
    assert transport.max_size == _READ_SIZE == 64 * 1024


def test_a_smaller_read_size_is_kept() -> None:
    transport = SimpleNamespace(max_size=16 * 1024)
    shrink_reads(transport)
    assert transport.max_size == 16 * 1024


def test_transports_without_a_read_size_are_left_alone() -> None:
    transport = _NoMaxSize()
    shrink_reads(transport)  # no AttributeError on a slotted object
    shrink_reads(None)
    assert not hasattr(transport, "max_size")


async def test_this_aiohttp_has_every_private_detail_the_shim_uses() -> None:
    # An aiohttp upgrade that moves one of them fails here, saying which and what it costs.
    assert await check_private_api() == []


async def test_a_connector_of_an_unknown_shape_counts_as_empty() -> None:
    assert pool_counts(None) == (0, 0)
    assert idle_protocols(None) == []
    connector = aiohttp.TCPConnector()
    try:
        assert pool_counts(connector) == (0, 0)
        assert idle_protocols(connector) == []
    finally:
        await connector.close()
