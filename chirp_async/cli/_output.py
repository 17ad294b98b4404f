"""Output: JSON Lines records, and the counts a run ends with."""

import collections
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO, Final

import msgspec

from chirp_async import APIError, APIResponseValidationError, APIStatusError, Call, ChirpError

from ._text import echo_id, terminal_safe

__all__ = [
    "FLUSH_BYTES",
    "JsonlWriter",
    "Tally",
    "outcome_record",
    "summary_lines",
]

_ENCODER: Final = msgspec.json.Encoder()
FLUSH_BYTES: Final = 64 * 1024
FLUSH_INTERVAL: Final = 0.2  # seconds: how stale a reader of the file (tail -f) may be


def _error_status(error: ChirpError) -> int | None:
    if isinstance(error, (APIStatusError, APIResponseValidationError)):
        return error.status_code
    return None


def outcome_record(call_id: str, outcome: Call | ChirpError) -> dict[str, object]:
    """Build the JSON Lines record for one input ID.

    Args:
        call_id: The ID as read from the input.
        outcome: The call, or the error it ended with.

    Returns:
        ``{"id", "call"}`` (the call in camelCase) or ``{"id", "error": {"type", "status",
        "message", "request_id"}}``: ``status`` is the HTTP status and ``request_id`` the
        server's ``x-request-id`` (what Chirp support asks for), each ``None`` when there
        was none. The ``id`` of a failed ID is cut short when it is long (`echo_id`), so
        a huge malformed input line does not become a huge record.
    """
    if isinstance(outcome, ChirpError):
        error = {
            "type": type(outcome).__name__,
            "status": _error_status(outcome),
            "message": " ".join(str(outcome).split()),
            "request_id": outcome.request_id if isinstance(outcome, APIError) else None,
        }
        return {"id": echo_id(call_id), "error": error}
    return {"id": call_id, "call": outcome}


class JsonlWriter:
    """Writes JSON Lines to a binary stream, only ever whole lines.

    Records collect in a buffer that is written and flushed when it reaches
    ``flush_bytes``, when ``flush_interval`` seconds passed since the last flush, and by
    `flush`. Every write hands the stream complete lines only, so a file cut short (by
    Ctrl-C, a kill or a full disk) still ends on a line boundary.

    Args:
        stream: The binary stream (a file opened ``"wb"``, ``sys.stdout.buffer``).
        flush_bytes: Buffer size that triggers a write.
        flush_interval: Seconds after which the next record triggers a write.
        clock: Monotonic time source.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        flush_bytes: int = FLUSH_BYTES,
        flush_interval: float = FLUSH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._flush_bytes = flush_bytes
        self._flush_interval = flush_interval
        self._clock = clock
        self._buffer = bytearray()
        self._last_flush = clock()
        self.lines = 0

    def write(self, record: object) -> None:
        """Append one record as a line, writing out the buffer when it is due.

        Args:
            record: Anything msgspec encodes (dicts, `Call`, ...).
        """
        _ENCODER.encode_into(record, self._buffer, len(self._buffer))
        self._buffer += b"\n"
        self.lines += 1
        if (
            len(self._buffer) >= self._flush_bytes
            or self._clock() - self._last_flush >= self._flush_interval
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines and flush the stream.

        Raises:
            OSError: The stream failed (e.g. `BrokenPipeError`); the buffer is dropped.
        """
        self._last_flush = self._clock()
        if not self._buffer:
            return
        data, self._buffer = self._buffer, bytearray()
        self._stream.write(data)
        self._stream.flush()


@dataclasses.dataclass
class Tally:
    """Counts of a run: successes by call status, failures by error class.

    Attributes:
        by_status: Calls fetched, by ``status``.
        by_error: Failed IDs, by exception class name.
        by_channel: Calls by channel, counting both legs (``from_channel``, ``to_channel``).
    """

    by_status: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    by_error: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    by_channel: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    def add(self, outcome: Call | ChirpError) -> None:
        """Count one outcome.

        Args:
            outcome: A call or the error an ID ended with.
        """
        if isinstance(outcome, ChirpError):
            self.by_error[type(outcome).__name__] += 1
        else:
            self.by_status[outcome.status] += 1
            self.by_channel[outcome.from_channel] += 1
            self.by_channel[outcome.to_channel] += 1

    @property
    def succeeded(self) -> int:
        """IDs that returned a call."""
        return self.by_status.total()

    @property
    def failed(self) -> int:
        """IDs that ended with an error."""
        return self.by_error.total()

    @property
    def done(self) -> int:
        """IDs finished, either way."""
        return self.succeeded + self.failed


def _breakdown(counts: Mapping[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    # Statuses come from the server: no escape sequence of theirs reaches the terminal.
    return ", ".join(f"{terminal_safe(name)} {count:,}" for name, count in ordered)


def summary_lines(tally: Tally, elapsed: float, *, interrupted: bool = False) -> list[str]:
    """Describe a finished (or interrupted) run in a few plain lines.

    Args:
        tally: The counts.
        elapsed: Seconds the run took.
        interrupted: The run was stopped before the input ended.

    Returns:
        A headline (IDs, time, rate, successes, failures), then one line of counts by
        status and one by error type, each only when non-empty.
    """
    rate = f"{tally.done / elapsed:,.0f}/s" if elapsed > 0 else "-"
    verb = "interrupted after" if interrupted else "done:"
    lines = [
        f"{verb} {tally.done:,} IDs in {elapsed:.2f} s ({rate}): "
        f"{tally.succeeded:,} ok, {tally.failed:,} failed"
    ]
    if tally.by_status:
        lines.append(f"  by status: {_breakdown(tally.by_status)}")
    if tally.by_error:
        lines.append(f"  by error:  {_breakdown(tally.by_error)}")
    return lines
