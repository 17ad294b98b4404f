"""Socket reads of 64 KiB: asyncio's 256 KiB reads cost glibc three system calls each."""

from __future__ import annotations

from types import SimpleNamespace

from chirp_async._transport import _READ_SIZE, shrink_reads


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
