"""The live progress bar of ``get-many`` and ``demo``, fed by ``iter_many``'s ``on_progress``."""

from types import TracebackType
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ._text import terminal_safe

__all__ = ["ProgressBar"]

_REFRESHES_PER_SECOND: Final = 8
_SPEED_WINDOW: Final = 5.0  # seconds of history behind the rate and the ETA


class _RateColumn(ProgressColumn):
    """Renders the completion rate, e.g. ``1,234/s``."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-/s" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


class _EtaColumn(TimeRemainingColumn):
    """Renders ``eta 0:01:23``; nothing when the total is unknown."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return Text.assemble("eta ", super().render(task))


class _FailedColumn(ProgressColumn):
    """Renders the number of failed IDs, red once there is one."""

    def render(self, task: Task) -> Text:
        failed = int(task.fields.get("failed", 0))
        return Text(f"{failed:,} failed", style="red" if failed else "dim")


class ProgressBar:
    """A progress bar on a console: done/total, rate, elapsed, ETA and failures.

    Use it as a context manager and pass `update` as ``on_progress``. When ``enabled`` is
    false (stderr is not a terminal) it shows nothing and `update` costs next to nothing.

    Args:
        console: Where to draw (stderr for ``get-many``).
        description: The label left of the bar.
        total: The number of IDs, if known before the first update.
        enabled: Whether to draw at all.
    """

    def __init__(
        self, console: Console, *, description: str, total: int | None, enabled: bool
    ) -> None:
        self._enabled = enabled
        self._progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            _EtaColumn(),
            _FailedColumn(),
            console=console,
            disable=not enabled,
            refresh_per_second=_REFRESHES_PER_SECOND,
            speed_estimate_period=_SPEED_WINDOW,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task(terminal_safe(description), total=total, failed=0)

    def update(self, done: int, total: int | None, failed: int) -> None:
        """Record progress; the signature of ``iter_many``'s ``on_progress``.

        Args:
            done: IDs finished so far.
            total: All IDs, or ``None`` when unknown (the total set up front stays).
            failed: IDs that failed so far.
        """
        if not self._enabled:
            return
        if total is None:
            self._progress.update(self._task, completed=done, failed=failed)
        else:
            self._progress.update(self._task, completed=done, total=total, failed=failed)

    def __enter__(self) -> "ProgressBar":
        if self._enabled:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._enabled:
            self._progress.stop()
