"""Help pages that read like the command line: ``CALL_ID``, and no type after a flag.

typer prints the type of every option in its help panel, so a flag such as ``--help``
shows ``<bool>``, and it wraps a required argument in braces on the usage line
(``{CALL_ID}``). The command classes here print flags bare and arguments by name; options
that take a value name it with their ``metavar`` (``--base-url URL``).

The context parameters are ``Any``: typer vendors click since 0.2x, and the context class
the base methods declare is that private copy (or click's own in older typer).
"""

from typing import Any

import typer
import typer.core

__all__ = ["ChirpCommand", "ChirpGroup"]


def _bare(option: typer.core.TyperOption | None) -> typer.core.TyperOption | None:
    if option is not None:
        option.metavar = ""  # shown where the type would be: a flag takes no value
    return option


def _argument_usage(argument: typer.core.TyperArgument) -> str:
    name = argument.metavar or (argument.name or "").upper()
    name = name if argument.required else f"[{name}]"
    return name if argument.nargs == 1 else f"{name}..."


class ChirpCommand(typer.core.TyperCommand):
    """A typer command whose help shows ``CALL_ID`` and bare flags."""

    def get_help_option(self, ctx: Any) -> typer.core.TyperOption | None:
        """Return the ``--help`` option, shown without a type."""
        return _bare(super().get_help_option(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """Return the usage line's pieces, arguments by their plain names."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperArgument):
                pieces.append(_argument_usage(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class ChirpGroup(typer.core.TyperGroup):
    """A typer command group whose help shows bare flags."""

    def get_help_option(self, ctx: Any) -> typer.core.TyperOption | None:
        """Return the ``--help`` option, shown without a type."""
        return _bare(super().get_help_option(ctx))
