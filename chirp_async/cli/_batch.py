"""The ``get-many`` run: stream IDs through ``iter_many``, write lines, and say how it ended."""

import contextlib
import dataclasses
import sys
import time
from collections.abc import AsyncIterable, Iterable

import typer

from chirp_async import (
    APIStatusError,
    AsyncChirp,
    BatchAbortedError,
    CacheBackend,
    ChirpError,
    RateLimiter,
    rejects_key,
)

from ._input import IdInput
from ._output import JsonlWriter, Tally, outcome_record, summary_lines
from ._progress import ProgressBar
from ._rejection import KeyRejection
from ._runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_KEY_REJECTED,
    EXIT_OK,
    EXIT_USAGE,
    CliState,
    Interrupted,
    error_line,
    make_client,
    run_until_interrupted,
)
from ._shared import DEFAULT_LIMIT, ENV_REDIS_URL, RateSpec, SkipSet, open_shared_store

__all__ = ["BatchReport", "Scale", "run_batch"]


@dataclasses.dataclass(frozen=True)
class Scale:
    """How a run shares its key with others and what it leaves out.

    Attributes:
        redis_url: ``--redis-url``: pace by the shared limiter and use the shared cache
            on this store (never shown: it may hold a password), or ``None``.
        rate: ``--limit``: the shared limit with a store; an in-process cap without one.
        skip: The IDs to leave out (``--resume``, ``--shard``), or ``None``.
    """

    redis_url: str | None = dataclasses.field(default=None, repr=False)
    rate: RateSpec | None = None
    skip: SkipSet | None = None


@dataclasses.dataclass
class _Shared:
    """What the run learned of the store, for the summary (the address masked)."""

    store: str | None = None
    cache_hits: int = 0


async def _open_client(
    state: CliState, scale: Scale, stack: contextlib.AsyncExitStack, shared: _Shared
) -> AsyncChirp:
    """The client, on the shared limiter and cache when ``--redis-url`` was given."""
    limiter: RateLimiter | None = None
    cache: CacheBackend | None = None
    if scale.redis_url is not None:
        rate = scale.rate or RateSpec.parse(DEFAULT_LIMIT)
        try:
            limiter, cache = await stack.enter_async_context(
                open_shared_store(scale.redis_url, rate)
            )
        except ModuleNotFoundError as exc:
            print(
                f"error: --redis-url needs the redis package ({exc.name} is missing): "
                "pip install 'chirp-async[redis]'",
                file=sys.stderr,
                flush=True,
            )
            raise typer.Exit(EXIT_USAGE) from None
        except (TypeError, ValueError) as exc:  # the message masks the password
            print(f"{error_line(exc)} (--redis-url / {ENV_REDIS_URL})", file=sys.stderr, flush=True)
            raise typer.Exit(EXIT_USAGE) from None
        shared.store = getattr(limiter, "store", None)
    local_rate = scale.rate.per_second if scale.rate is not None and limiter is None else None
    return make_client(state, rate_limiter=limiter, cache=cache, rate_limit=local_rate)


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
    scale: Scale,
    writer: JsonlWriter,
    tally: Tally,
    bar: ProgressBar,
    stop: _Stop,
    shared: _Shared,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        # Before the bar appears: a usage error prints one clean line.
        client = await _open_client(state, scale, stack, shared)
        async with client:
            # buffer=0: no results wait in a read-ahead buffer, so a killed run leaves at most
            # `concurrency` + 1 fetched IDs unrecorded (fetched again on resume).
            results = client.calls.iter_many(
                ids, concurrency=concurrency, on_progress=bar.update, skip=scale.skip, buffer=0
            )
            try:
                with bar:
                    async with contextlib.aclosing(results):
                        async for call_id, outcome in results:
                            if isinstance(outcome, ChirpError) and stop.take(outcome):
                                continue
                            writer.write(outcome_record(call_id, outcome))
                            tally.add(outcome)
            finally:
                stats = client.stats()
                stop.requests = stats.attempts
                shared.cache_hits = stats.cache_hits


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


def _scale_lines(scale: Scale, shared: _Shared) -> list[str]:
    """Say what was skipped and what was shared, after the summary."""
    lines: list[str] = []
    skip = scale.skip
    if skip is not None and skip.skipped_done:
        lines.append(f"  skipped:   {skip.skipped_done:,} IDs already done in the output file")
    if skip is not None and skip.skipped_shard:
        lines.append(f"  skipped:   {skip.skipped_shard:,} IDs of other shards")
    if shared.store is not None:
        rate = scale.rate or RateSpec.parse(DEFAULT_LIMIT)
        lines.append(
            f"  shared:    limit {rate} and cache on {shared.store} "
            f"({shared.cache_hits:,} answered from the cache)"
        )
    return lines


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
    scale: Scale | None = None,
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
        scale: The shared store, the limit and the IDs to leave out, if any.

    Returns:
        The exit status and the lines for stderr.
    """
    scale = scale or Scale()
    shared = _Shared()
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
                scale=scale,
                writer=writer,
                tally=tally,
                bar=bar,
                stop=stop,
                shared=shared,
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
    report = _outcome(
        tally, stop, writer, elapsed=elapsed, interrupted=interrupted, failure=failure
    )
    if report.lines and stop.rejection is None:
        report.lines.extend(_scale_lines(scale, shared))
    return report
