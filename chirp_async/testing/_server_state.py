"""The parts of `MockChirpServer` that act on its state: calls, fault scripts, statistics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from ._data import is_valid_call_id
from ._endpoint import ENCODER, Endpoint
from ._faults import Fault, as_fault
from ._records import RecordedRequest
from ._scripts import ANY_METHOD, parse_target


class _HasId(msgspec.Struct):
    id: str


_ID_DECODER: Final = msgspec.json.Decoder(_HasId)


class ServerState:
    """Calls, scripted faults and counters of a `MockChirpServer` (its base class)."""

    _endpoint: Endpoint

    # -- data ------------------------------------------------------------------------------

    def add_call(self, call: Mapping[str, Any] | msgspec.Struct) -> str:
        """Register a call, served verbatim for its ``id`` from now on.

        An added call takes precedence over a call created with ``POST /v1/calls`` and
        over a generated one.

        Args:
            call: A mapping with the API's camelCase keys, or any msgspec Struct (such as
                the SDK's ``Call``) encoding to them.

        Returns:
            The call's ID.

        Raises:
            ValueError: The call has no string ``id``, or it is not a valid call ID.
        """
        if isinstance(call, msgspec.Struct):
            body = ENCODER.encode(call)
            try:
                call_id: object = _ID_DECODER.decode(body).id
            except msgspec.DecodeError:
                call_id = None
        else:
            call_id = call.get("id")
            body = ENCODER.encode(dict(call))
        if not isinstance(call_id, str):
            raise ValueError("the call has no string 'id' field")
        _check_call_id(call_id)
        self._endpoint.calls[call_id] = body
        self._endpoint.missing.discard(call_id)
        return call_id

    def remove_call(self, call_id: str) -> None:
        """Unregister a call added with `add_call` (generated calls are unaffected).

        Args:
            call_id: The call's ID.

        Raises:
            KeyError: No call with that ID was added.
        """
        del self._endpoint.calls[call_id]

    def mark_missing(self, call_id: str) -> None:
        """Make a valid ID answer 404, even when calls are generated; `add_call` undoes it.

        Args:
            call_id: The call's ID; a call added for it is removed.

        Raises:
            ValueError: ``call_id`` is not a valid call ID.
        """
        _check_call_id(call_id)
        self._endpoint.calls.pop(call_id, None)
        self._endpoint.missing.add(call_id)

    def call_json(self, call_id: str) -> dict[str, Any]:
        """Return the JSON object the server would serve for ``call_id`` right now.

        Args:
            call_id: The call's ID.

        Returns:
            The added call, the created one (as it is now), or the generated one.

        Raises:
            ValueError: ``call_id`` is not a valid call ID.
            KeyError: The server would answer 404 for it.
        """
        _check_call_id(call_id)
        body = self._endpoint.lookup(call_id)
        if body is None:
            raise KeyError(call_id)
        decoded: dict[str, Any] = msgspec.json.decode(body)
        return decoded

    # -- faults ----------------------------------------------------------------------------

    def script(self, call_id: str, *steps: int | Fault) -> None:
        """Queue faults for the next requests about ``call_id``, one step per request.

        "About" means the ``{callId}`` of the route: ``GET /v1/calls/{callId}``, its
        commands and its recordings list. When the steps run out, the call behaves
        normally again. Steps added later queue behind those not yet consumed.

        Args:
            call_id: The path segment to match (not validated, so a malformed ID can be
                scripted too).
            *steps: HTTP statuses (shorthand for `Fault.status`) or `Fault` objects.

        Raises:
            TypeError: A step is neither an int nor a `Fault`.
        """
        self._endpoint.scripts.add(
            self._endpoint.scripts.by_call, call_id, [as_fault(step) for step in steps]
        )

    def script_route(self, target: str, *steps: int | Fault) -> None:
        """Queue faults for the next requests to a route or an exact path.

        Per-path steps apply before per-template steps, which apply before `script`
        steps; `script_all` steps come first of all.

        Args:
            target: ``"METHOD /path"``: a route template such as
                ``"POST /v1/calls/{callId}/commands"`` (any call), or an exact path such
                as ``"POST /v1/calls"`` or ``"GET /v1/calls/voicemails"``. ``*`` as the
                method matches any method.
            *steps: HTTP statuses or `Fault` objects.

        Raises:
            ValueError: ``target`` is malformed or names an unknown template.
            TypeError: A step is neither an int nor a `Fault`.

        Example:
            >>> server.script_route("POST /v1/calls", Fault.drop_response())  # doctest: +SKIP
        """
        method, path, is_template = parse_target(target, self._endpoint.router.names)
        faults = [as_fault(step) for step in steps]
        scripts = self._endpoint.scripts
        queues = scripts.by_template if is_template else scripts.by_path
        scripts.add(queues, f"{method} {path}", faults)

    def script_all(self, *steps: int | Fault) -> None:
        """Queue faults for the next API requests, whatever their route, before any other.

        Args:
            *steps: HTTP statuses (shorthand for `Fault.status`) or `Fault` objects.

        Raises:
            TypeError: A step is neither an int nor a `Fault`.
        """
        self._endpoint.scripts.every.extend([as_fault(step) for step in steps])

    def clear_scripts(self) -> None:
        """Drop every queued fault: global, per route, per path and per call."""
        self._endpoint.scripts.clear()

    @property
    def latency(self) -> float:
        """Seconds waited before every response; may be changed while running."""
        return self._endpoint.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"latency must be a finite number of seconds >= 0, got {seconds!r}")
        self._endpoint.latency = float(seconds)

    # -- statistics ------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        """Requests received on ``/v1/calls...`` and ``/v1/webhooks...``, all outcomes."""
        return self._endpoint.request_count

    def requests_for(self, call_id: str) -> int:
        """Return how many requests were about ``call_id`` (see `script` for "about").

        Args:
            call_id: The call's ID (the raw path segment).

        Returns:
            The count since start or the last `reset_stats`.
        """
        return self._endpoint.per_id[call_id]

    def requests_to(self, target: str) -> int:
        """Return how many requests went to a route or an exact path.

        Args:
            target: ``"METHOD /path"`` as for `script_route`: a route template (counts
                requests that matched it) or an exact path; method ``*`` sums all methods.

        Returns:
            The count since start or the last `reset_stats`.

        Raises:
            ValueError: ``target`` is malformed or names an unknown template.
        """
        method, path, is_template = parse_target(target, self._endpoint.router.names)
        if is_template:
            routes = self._endpoint.per_route
            if method != ANY_METHOD:
                return routes[f"{method} {path}"]
            return sum(n for name, n in routes.items() if name.partition(" ")[2] == path)
        paths = self._endpoint.per_path
        if method != ANY_METHOD:
            return paths[method, path]
        return sum(n for (_, seen), n in paths.items() if seen == path)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the recorded requests, in completion order (empty if not recording)."""
        return list(self._endpoint.requests)

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted (counted where the event loop creates their protocol)."""
        return self._endpoint.connections_opened

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._endpoint.in_flight

    @property
    def max_in_flight(self) -> int:
        """The highest `in_flight` seen since start or the last `reset_stats`."""
        return self._endpoint.max_in_flight

    def reset_stats(self) -> None:
        """Zero the counters and forget recorded requests; calls, scripts and limits stay."""
        self._endpoint.reset_stats()


def _check_call_id(call_id: str) -> None:
    if not is_valid_call_id(call_id):
        raise ValueError(
            f"invalid call ID {call_id!r}: expected 'call_' or 'call_test_' "
            "followed by 27 letters or digits"
        )
