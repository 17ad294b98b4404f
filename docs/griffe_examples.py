"""Griffe extension for the docs build: render ``Example:`` sections as code examples.

The SDK's docstrings title their example sections ``Example:`` (STYLE.md). Griffe's Google
parser knows only the plural, ``Examples:``, as a section of examples; the singular becomes
a plain admonition, in which ``>>>`` doctest lines render as nested block quotes. This
renames the title before the docstrings are parsed; the source is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Read ``Example:`` as ``Examples:`` in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rename the section title in the docstring of ``obj``, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_TITLE.sub(r"\1Examples:", obj.docstring.value)
