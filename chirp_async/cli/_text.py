r"""Text that reaches a terminal: control characters out, long echoes cut short.

Anything the server sent (statuses, addresses, metadata, error messages, request IDs) and
anything read from an input file may carry escape sequences: ``\x1b]0;title\x07``
retitles the terminal, ``\x1b[2J`` clears it. Every such string passes through
`terminal_safe` (or `one_line`) before a console prints it. JSON Lines output needs none
of this: msgspec writes control characters as ``\u001b`` escapes.
"""

import re
from typing import Final

from .idfile import OverlongId

__all__ = ["MAX_ECHO_CHARS", "MAX_MESSAGE_CHARS", "echo_id", "one_line", "terminal_safe"]

MAX_ECHO_CHARS: Final = 80
"""How much of an invalid ID is echoed back; the rest is replaced by its length."""
MAX_MESSAGE_CHARS: Final = 1000
"""The longest message `one_line` keeps (server messages have no documented limit)."""

# ESC-introduced sequences as terminals parse them (ECMA-48): OSC / DCS / SOS / PM / APC
# strings up to BEL or ST (or the end, when unterminated), CSI with its parameters, and the
# two-character escapes; then the same in their 8-bit (C1) forms.
_ESCAPE_SEQUENCE: Final = re.compile(
    r"""
      \x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?
    | \x1b\[[0-?]*[ -/]*[@-~]?
    | \x1b[ -/]*[0-~]?
    | [\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?
    | \x9b[0-?]*[ -/]*[@-~]?
    """,
    re.VERBOSE,
)
# C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidirectional
# overrides and isolates (they reorder what the terminal shows, "Trojan Source").
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE: Final = re.compile(r"\s+")
_ELLIPSIS: Final = "..."


def terminal_safe(text: str) -> str:
    """Remove escape sequences and control characters, keeping tabs and newlines.

    Args:
        text: Text from the server or an input file.

    Returns:
        The text without ANSI/ECMA-48 escape sequences (their parameters included), C0
        controls other than tab and newline, DEL, C1 controls and bidirectional overrides.
    """
    if text.isprintable():  # the usual case: nothing to remove, no regex pass
        return text
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def one_line(text: str, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Make ``text`` safe for a terminal and fit it on one line of at most ``limit`` characters.

    Args:
        text: A message, possibly multi-line, possibly from the server.
        limit: The longest result kept; a longer one ends with ``...``.

    Returns:
        The text, escape sequences and controls removed, whitespace runs folded into one
        space, cut at ``limit``.
    """
    folded = _WHITESPACE.sub(" ", terminal_safe(text)).strip()
    if len(folded) <= limit:
        return folded
    return folded[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def echo_id(call_id: str) -> str:
    """Return ``call_id`` as it may be echoed in output and messages: short ones whole.

    A valid call ID has at most 37 characters. An ID longer than `MAX_ECHO_CHARS` is
    echoed as its first `MAX_ECHO_CHARS` characters, ``...`` and its length, e.g.
    ``call_xxxx...xxx... (52,428,800 bytes)`` for an over-long input line (`OverlongId`,
    measured in bytes) or ``... (1,234 chars)`` for any other string.

    Args:
        call_id: The ID as read.

    Returns:
        The text to echo. It is not made terminal-safe here: JSON output escapes it, and
        terminal output passes through `terminal_safe`.
    """
    if isinstance(call_id, OverlongId):
        return f"{call_id[:MAX_ECHO_CHARS]}{_ELLIPSIS} ({call_id.size:,} bytes)"
    if len(call_id) <= MAX_ECHO_CHARS:
        return call_id
    return f"{call_id[:MAX_ECHO_CHARS]}{_ELLIPSIS} ({len(call_id):,} chars)"
