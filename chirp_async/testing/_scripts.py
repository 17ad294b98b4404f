"""Queues of scripted faults: for every request, for a call, for a route or for a path."""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterable
from typing import Final

from ._faults import Fault

ANY_METHOD: Final = "*"


def parse_target(target: str, routes: Collection[str]) -> tuple[str, str, bool]:
    """Split ``"METHOD /path"`` into (method, path, is_template); ``*`` means any method.

    A path containing ``{`` must be one of the server's route templates.

    Raises:
        ValueError: Not ``METHOD /path``, or an unknown template.
    """
    method, _, path = target.strip().partition(" ")
    path = path.strip()
    if not method or not path.startswith("/"):
        raise ValueError(
            f"expected 'METHOD /path', e.g. 'POST /v1/calls' or "
            f"'POST /v1/calls/{{callId}}/commands', got {target!r}"
        )
    method = method.upper()
    is_template = "{" in path
    if is_template:
        names = {name.partition(" ")[2] for name in routes}
        if path not in names:
            raise ValueError(f"unknown route template {path!r}; known: {sorted(names)}")
    return method, path, is_template


class FaultScripts:
    """The scripted faults, consumed one per matching request.

    Order: `every` first, then the exact path's (``"METHOD /path"``, then
    ``"* /path"``), then the route template's (likewise), then the call ID's.
    """

    def __init__(self) -> None:
        self.every: collections.deque[Fault] = collections.deque()
        self.by_call: dict[str, collections.deque[Fault]] = {}
        self.by_path: dict[str, collections.deque[Fault]] = {}
        self.by_template: dict[str, collections.deque[Fault]] = {}

    def clear(self) -> None:
        """Drop every queued fault."""
        self.every.clear()
        self.by_call.clear()
        self.by_path.clear()
        self.by_template.clear()

    @staticmethod
    def add(queues: dict[str, collections.deque[Fault]], key: str, faults: Iterable[Fault]) -> None:
        """Queue ``faults`` under ``key`` behind those already there."""
        items = list(faults)
        if items:
            queues.setdefault(key, collections.deque()).extend(items)

    def next(
        self, method: str, path: str, template: str | None, call_id: str | None
    ) -> Fault | None:
        """Take the fault for this request, if one is queued."""
        if self.every:
            return self.every.popleft()
        if not (self.by_path or self.by_template or self.by_call):
            return None
        for queues, target in ((self.by_path, path), (self.by_template, template)):
            if target is None:
                continue
            for key in (f"{method} {target}", f"{ANY_METHOD} {target}"):
                fault = _pop(queues, key)
                if fault is not None:
                    return fault
        return None if call_id is None else _pop(self.by_call, call_id)


def _pop(queues: dict[str, collections.deque[Fault]], key: str) -> Fault | None:
    queue = queues.get(key)
    if not queue:
        return None
    fault = queue.popleft()
    if not queue:
        del queues[key]
    return fault
