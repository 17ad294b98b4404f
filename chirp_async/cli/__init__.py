"""The ``chirp-async`` command line (needs the ``cli`` extra: typer and rich).

Run it as ``chirp-async ...`` or ``python -m chirp_async ...``; ``chirp-async --help`` lists
the commands. Without the extra, `main` prints one line saying how to install it and
exits with status 2.
"""

import sys
from collections.abc import Sequence
from typing import Final

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT: Final = (
    "chirp-async: the command line needs the 'cli' extra (typer and rich); install it "
    "from a checkout with: pip install -e '.[cli]' (or add them: pip install typer rich)"
)
"""The one line `main` prints to stderr when typer or rich cannot be imported."""

_EXTRA_MODULES: Final = frozenset({"typer", "rich", "click"})
_USAGE_ERROR: Final = 2


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``chirp-async`` command and exit with its status.

    typer and rich are imported here, not at module import, so that a missing ``cli``
    extra gives a one-line hint instead of a traceback.

    Args:
        argv: The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Raises:
        SystemExit: Always, with the command's exit status (2 when the extra is missing).
    """
    try:
        from ._app import run
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in _EXTRA_MODULES:
            raise
        print(INSTALL_HINT, file=sys.stderr)
        raise SystemExit(_USAGE_ERROR) from None
    run(argv)
