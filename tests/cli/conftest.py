"""Fixtures for the CLI tests: mock servers on their own threads, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .helpers import SECRET_KEY, ServerThread

ServerFactory = Callable[..., ServerThread]


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Start mock servers (``SECRET_KEY``, no recording unless asked); all stopped afterwards."""
    started: list[ServerThread] = []

    def make(**options: Any) -> ServerThread:
        options.setdefault("api_key", SECRET_KEY)
        options.setdefault("record_requests", False)
        thread = ServerThread(**options).start()
        started.append(thread)
        return thread

    yield make
    for thread in started:
        thread.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> ServerThread:
    return make_server()
