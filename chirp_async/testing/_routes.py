"""The mock's route table: templates like ``/v1/calls/{callId}/commands`` matched to handlers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Final, Literal

from ._http import ApiRequest, Reply

Handler = Callable[[ApiRequest], Reply]
Budget = Literal["general", "webhooks"]

_PARAM: Final = re.compile(r"\{(\w+)\}")


@dataclasses.dataclass(frozen=True)
class Route:
    """One method on one path template, and the rate-limit budget it spends.

    ``segments`` is the template split on ``/``: a literal, or ``None`` for a parameter,
    whose name is in ``params`` at the same position.
    """

    method: str
    template: str
    handler: Handler
    budget: Budget
    segments: tuple[str | None, ...]
    params: tuple[str | None, ...]
    literal_segments: int
    name: str = dataclasses.field(init=False)
    """``METHOD template``, e.g. ``POST /v1/calls/{callId}/commands``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.method} {self.template}")


@dataclasses.dataclass(frozen=True)
class Match:
    """The route for a request, or the methods the path allows (for a 405)."""

    route: Route | None
    params: Mapping[str, str]
    allowed: tuple[str, ...]


class Router:
    """Finds the route of a request; the template with the most literal segments wins.

    A parameter matches any one segment, even an empty one, so ``/v1/calls/`` reaches the
    call route (and its 400 for an invalid ID).
    """

    def __init__(self) -> None:
        self._by_length: dict[int, list[Route]] = {}

    def add(self, method: str, template: str, handler: Handler, *, budget: Budget) -> None:
        """Route ``method template`` to ``handler``."""
        segments: list[str | None] = []
        params: list[str | None] = []
        for segment in template.split("/"):
            param = _PARAM.fullmatch(segment)
            segments.append(None if param else segment)
            params.append(param[1] if param else None)
        literal = sum(1 for segment in segments if segment)
        route = Route(method, template, handler, budget, tuple(segments), tuple(params), literal)
        group = self._by_length.setdefault(len(segments), [])
        group.append(route)
        group.sort(key=lambda candidate: -candidate.literal_segments)

    @property
    def names(self) -> frozenset[str]:
        """Every ``METHOD template``."""
        return frozenset(route.name for group in self._by_length.values() for route in group)

    def match(self, method: str, path: str) -> Match | None:
        """Return the route for ``method path``, a 405 answer, or ``None`` (404)."""
        parts = path.split("/")
        allowed: list[str] = []
        for route in self._by_length.get(len(parts), ()):
            pairs = zip(route.segments, parts, strict=True)
            if any(literal is not None and literal != part for literal, part in pairs):
                continue
            if route.method == method:
                named = zip(route.params, parts, strict=True)
                return Match(route, {name: part for name, part in named if name}, ())
            if route.method not in allowed:
                allowed.append(route.method)
        if not allowed:
            return None
        return Match(None, {}, tuple(allowed))
