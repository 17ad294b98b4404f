"""Tables for people: one call, field by field, and counts with their shares."""

from collections.abc import Mapping
from typing import Final

import msgspec
from rich.table import Table
from rich.text import Text

from chirp_async import Call

from ._text import terminal_safe

__all__ = ["call_table", "counts_table"]

_NONE: Final = "-"


def _cell(value: object) -> Text:
    if value is None:
        return Text(_NONE, style="dim")
    if isinstance(value, (dict, list)):
        return Text(terminal_safe(msgspec.json.encode(value).decode()))
    return Text(terminal_safe(str(value)))


def call_table(call: Call) -> Table:
    """Show a call as a two-column table, one row per API field (camelCase names).

    Every value is the server's, so each passes through `terminal_safe`, and none is
    read as rich markup.

    Args:
        call: The call.

    Returns:
        The rich table.
    """
    table = Table(title=Text(f"Call {terminal_safe(call.id)}"), title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields: dict[str, object] = msgspec.to_builtins(call)
    for name, value in fields.items():
        table.add_row(name, _cell(value))
    return table


def counts_table(title: str, header: str, counts: Mapping[str, int], total: int) -> Table:
    """Show counts with their share of ``total``, largest first.

    The keys (statuses, channels) are the server's: they pass through `terminal_safe`.

    Args:
        title: The table title.
        header: The first column's heading.
        counts: Count per key.
        total: The denominator of the percentages.

    Returns:
        The rich table.
    """
    table = Table(title=title, title_justify="left")
    table.add_column(header)
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        share = f"{count / total:.1%}" if total else "-"
        table.add_row(Text(terminal_safe(name)), f"{count:,}", share)
    return table
