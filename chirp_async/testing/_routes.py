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
    """One method on one path template, and the rate-limit budget it spends."""

    method: str
    template: str
    handler: Handler
    budget: Budget
    pattern: re.Pattern[str]
    literal_segments: int

    @property
    def name(self) -> str:
        """``METHOD template``, e.g. ``POST /v1/calls/{callId}/commands``."""
        return f"{self.method} {self.template}"


@dataclasses.dataclass(frozen=True)
class Match:
    """The route for a request, or the methods the path allows (for a 405)."""

    route: Route | None
    params: Mapping[str, str]
    allowed: tuple[str, ...]


class Router:
    """Finds the route of a request; the template with the most literal segments wins."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, budget: Budget) -> None:
        """Route ``method template`` to ``handler``."""
        parts = []
        literal = 0
        for segment in template.split("/"):
            param = _PARAM.fullmatch(segment)
            # A parameter may be empty, so "/v1/calls/" reaches the call route (a 400).
            parts.append(f"(?P<{param[1]}>[^/]*)" if param else re.escape(segment))
            literal += param is None and segment != ""
        regex = "/".join(parts)
        self._routes.append(Route(method, template, handler, budget, re.compile(regex), literal))
        self._routes.sort(key=lambda route: -route.literal_segments)

    @property
    def names(self) -> frozenset[str]:
        """Every ``METHOD template``."""
        return frozenset(route.name for route in self._routes)

    def match(self, method: str, path: str) -> Match | None:
        """Return the route for ``method path``, a 405 answer, or ``None`` (404)."""
        allowed: list[str] = []
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return Match(route, found.groupdict(), ())
            if route.method not in allowed:
                allowed.append(route.method)
        if not allowed:
            return None
        return Match(None, {}, tuple(allowed))
