"""The ``get-many`` run: stream IDs through ``iter_many``, write lines, and say how it ended."""

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterable, Iterable

from chirp_async import APIStatusError, BatchAbortedError, ChirpError, rejects_key

from ._input import IdInput
from ._output import JsonlWriter, Tally, outcome_record, summary_lines
from ._progress import ProgressBar
from ._rejection import KeyRejection
from ._runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_KEY_REJECTED,
    EXIT_OK,
    CliState,
    Interrupted,
    error_line,
    make_client,
    run_until_interrupted,
)

__all__ = ["BatchReport", "run_batch"]


@dataclasses.dataclass
class _Stop:
    """What a rejected key left behind, collected while the outcomes stream in."""

    rejection: APIStatusError | None = None
    not_sent: int = 0
    requests: int = 0

    def take(self, outcome: ChirpError) -> bool:
        """Count ``outcome`` if it is part of a stopped batch; return whether it was."""
        if isinstance(outcome, BatchAbortedError):
            self.not_sent += 1
            cause = outcome.__cause__
            if self.rejection is None and isinstance(cause, APIStatusError):
                self.rejection = cause
            return True
        if rejects_key(outcome):
            # An ID in flight when the key was refused: its 401 says nothing about the ID,
            # so it gets no line (rerun it with a good key, like the IDs not sent).
            if self.rejection is None and isinstance(outcome, APIStatusError):
                self.rejection = outcome
            return True
        return False


async def _fetch_all(
    state: CliState,
    ids: Iterable[str] | AsyncIterable[str],
    *,
    concurrency: int,
    writer: JsonlWriter,
    tally: Tally,
    bar: ProgressBar,
    stop: _Stop,
) -> None:
    client = make_client(state)  # before the bar appears: a usage error prints one clean line
    async with client:
        results = client.calls.iter_many(ids, concurrency=concurrency, on_progress=bar.update)
        try:
            with bar:
                async with contextlib.aclosing(results):
                    async for call_id, outcome in results:
                        if isinstance(outcome, ChirpError) and stop.take(outcome):
                            continue
                        writer.write(outcome_record(call_id, outcome))
                        tally.add(outcome)
        finally:
            stop.requests = client.stats().attempts


@dataclasses.dataclass(frozen=True)
class BatchReport:
    """How a ``get-many`` run ended.

    Attributes:
        status: The exit status.
        lines: What to print on stderr: the summary, or the one line saying why it stopped;
            nothing when stdout was closed under it.
    """

    status: int
    lines: list[str]


def _outcome(
    tally: Tally,
    stop: _Stop,
    writer: JsonlWriter,
    *,
    elapsed: float,
    interrupted: Interrupted | None,
    failure: OSError | None,
) -> BatchReport:
    if isinstance(failure, BrokenPipeError):
        # `| head` has what it wanted: end quietly, as a process killed by SIGPIPE would.
        return BatchReport(EXIT_BROKEN_PIPE, [])
    if interrupted is not None:
        return BatchReport(interrupted.exit_status, summary_lines(tally, elapsed, interrupted=True))
    lines = [] if failure is None else [error_line(failure)]
    if stop.rejection is not None:
        rejection = KeyRejection(stop.rejection, stop.requests, stop.not_sent, writer.lines)
        return BatchReport(EXIT_KEY_REJECTED, [*lines, rejection.message()])
    status = EXIT_FAILED if failure is not None or tally.failed else EXIT_OK
    return BatchReport(status, [*lines, *summary_lines(tally, elapsed)])


def run_batch(
    state: CliState,
    source: IdInput,
    *,
    concurrency: int,
    writer: JsonlWriter,
    show_progress: bool,
) -> BatchReport:
    """Fetch every ID of ``source``, writing one line per ID as each completes.

    A Call and an ordinary failure (404, timeout, malformed ID, ...) each get a line. When
    the API rejects the key (see `rejects_key`), the SDK sends nothing more; the IDs it
    did not send, and those in flight whose answer was the rejection, get no line: the
    report is one line saying how many requests were made and how many IDs were not sent.

    Args:
        state: The global options.
        source: The opened input.
        concurrency: Requests in flight at most.
        writer: Where the lines go; flushed before returning.
        show_progress: Draw a progress bar on stderr.

    Returns:
        The exit status and the lines for stderr.
    """
    tally = Tally()
    stop = _Stop()
    interrupted: Interrupted | None = None
    failure: OSError | None = None
    started = time.monotonic()
    try:
        bar = ProgressBar(
            state.stderr, description="calls", total=source.total, enabled=show_progress
        )
        run_until_interrupted(
            lambda: _fetch_all(
                state,
                source.ids,
                concurrency=concurrency,
                writer=writer,
                tally=tally,
                bar=bar,
                stop=stop,
            ),
            loop=state.loop,
        )
    except Interrupted as exc:
        interrupted = exc
    except OSError as exc:  # reading the input or writing the output failed
        failure = exc
    elapsed = time.monotonic() - started
    if failure is None:
        try:
            writer.flush()
        except OSError as exc:
            failure = exc
    return _outcome(tally, stop, writer, elapsed=elapsed, interrupted=interrupted, failure=failure)
