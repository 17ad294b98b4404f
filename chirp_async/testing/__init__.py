"""Test helpers: a loopback mock of the Chirp API with scriptable faults, and a throwaway store.

`StoreServer` runs a real Redis-protocol server (for ``chirp_async.redis``) on loopback.

Not imported by ``chirp_async`` itself. Names load on first use (PEP 562), so the pytest
plugin registered by this package imports almost nothing before coverage measurement
starts.

Example:
    >>> from chirp_async.testing import Fault, MockChirpServer
    >>> async def demo() -> None:
    ...     async with MockChirpServer() as server:
    ...         server.script("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", 503, Fault.reset())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._data import generate_call as generate_call
    from ._endpoint import RecordedRequest as RecordedRequest
    from ._faults import Fault as Fault
    from ._server import DEFAULT_TEST_API_KEY as DEFAULT_TEST_API_KEY
    from ._server import MockChirpServer as MockChirpServer
    from ._store import StoreBinaryNotFoundError as StoreBinaryNotFoundError
    from ._store import StoreServer as StoreServer
    from ._store import StoreServerError as StoreServerError

__all__ = [
    "DEFAULT_TEST_API_KEY",
    "Fault",
    "MockChirpServer",
    "RecordedRequest",
    "StoreBinaryNotFoundError",
    "StoreServer",
    "StoreServerError",
    "generate_call",
]

_SOURCES: Final = {
    "DEFAULT_TEST_API_KEY": "._server",
    "Fault": "._faults",
    "MockChirpServer": "._server",
    "RecordedRequest": "._endpoint",
    "StoreBinaryNotFoundError": "._store",
    "StoreServer": "._store",
    "StoreServerError": "._store",
    "generate_call": "._data",
}


def __getattr__(name: str) -> object:
    """Import a public name from its private module on first access."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names alongside the module's own attributes."""
    return sorted({*globals(), *__all__})
