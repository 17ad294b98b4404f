"""Test helpers: a loopback mock of the Chirp calling API with scriptable faults, and a store.

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
    from ._calling import MockCalling as MockCalling
    from ._calls import CallTimings as CallTimings
    from ._clock import MockClock as MockClock
    from ._data import generate_call as generate_call
    from ._delivery import DeliveryAttempt as DeliveryAttempt
    from ._delivery import DeliveryPolicy as DeliveryPolicy
    from ._delivery import WebhookDelivery as WebhookDelivery
    from ._fake_clock import FakeClock as FakeClock
    from ._faults import Fault as Fault
    from ._records import RecordedRequest as RecordedRequest
    from ._server import DEFAULT_TEST_API_KEY as DEFAULT_TEST_API_KEY
    from ._server import MockChirpServer as MockChirpServer
    from ._storage import StorageRequest as StorageRequest
    from ._store import StoreBinaryNotFoundError as StoreBinaryNotFoundError
    from ._store import StoreServer as StoreServer
    from ._store import StoreServerError as StoreServerError
    from ._webhooks import MockWebhooks as MockWebhooks
    from ._webhooks import SentEvent as SentEvent

# Plain sorted() order, which the package's tests check (not ruff's constants-first order).
__all__ = [  # noqa: RUF022
    "CallTimings",
    "DEFAULT_TEST_API_KEY",
    "DeliveryAttempt",
    "DeliveryPolicy",
    "FakeClock",
    "Fault",
    "MockCalling",
    "MockChirpServer",
    "MockClock",
    "MockWebhooks",
    "RecordedRequest",
    "SentEvent",
    "StorageRequest",
    "StoreBinaryNotFoundError",
    "StoreServer",
    "StoreServerError",
    "WebhookDelivery",
    "generate_call",
]

_SOURCES: Final = {
    "DEFAULT_TEST_API_KEY": "._server",
    "CallTimings": "._calls",
    "DeliveryAttempt": "._delivery",
    "DeliveryPolicy": "._delivery",
    "FakeClock": "._fake_clock",
    "Fault": "._faults",
    "MockCalling": "._calling",
    "MockChirpServer": "._server",
    "StoreBinaryNotFoundError": "._store",
    "StoreServer": "._store",
    "StoreServerError": "._store",
    "MockClock": "._clock",
    "MockWebhooks": "._webhooks",
    "RecordedRequest": "._records",
    "SentEvent": "._webhooks",
    "StorageRequest": "._storage",
    "WebhookDelivery": "._delivery",
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
