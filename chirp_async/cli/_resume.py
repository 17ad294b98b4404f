"""``get-many --resume``: make the output file ready to append to, and say what it held."""

import sys

import typer

from ._runtime import EXIT_USAGE, error_line
from .donefile import DoneFile, DoneFileError, prepare_resume

__all__ = ["resume_lines", "start_resume"]


def start_resume(output: str) -> DoneFile:
    """Read ``output``'s done-set, cut a torn last line and drop retriable error lines.

    Args:
        output: The ``--output`` path (it may not exist yet: then nothing is done).

    Returns:
        What the file held.

    Raises:
        typer.Exit: With status 2 when the file is not a ``get-many`` output or cannot
            be read or rewritten (it is left as it was).
    """
    try:
        return prepare_resume(output)
    except (DoneFileError, OSError) as exc:
        print(error_line(exc), file=sys.stderr, flush=True)
        raise typer.Exit(EXIT_USAGE) from None


def resume_lines(done: DoneFile) -> list[str]:
    """Describe what a resumed run found in its output file, for stderr.

    Args:
        done: What `start_resume` returned.

    Returns:
        Nothing for a new file; else one line, and one more for what was repaired.
    """
    kept = done.fetched + done.final_errors
    if not (kept or done.retriable or done.torn_bytes):
        return []
    lines = [
        f"resuming: {kept:,} IDs already done ({done.fetched:,} fetched, "
        f"{done.final_errors:,} failed for good) will be skipped"
    ]
    repaired: list[str] = []
    if done.retriable:
        repaired.append(f"{done.retriable:,} retriable error lines dropped (fetched again)")
    if done.torn_bytes:
        repaired.append(f"a torn last line of {done.torn_bytes:,} bytes cut off")
    if repaired:
        lines.append("  repaired:  " + "; ".join(repaired))
    return lines
