"""Read README.md: its fenced code blocks, its shell lines and its tables, with line numbers.

Pure parsing, no I/O beyond reading the file: `test_readme` decides what to run.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import re
import shlex
from pathlib import Path
from typing import Final, Literal

REPO: Final = Path(__file__).resolve().parents[2]
README: Final = REPO / "README.md"

_FENCE: Final = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING: Final = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_CODE_SPAN: Final = re.compile(r"`([^`]+)`")
# Shell syntax a line is not run through a shell for: such a line needs its own runner.
SHELL_OPERATORS: Final = frozenset({"|", "||", "&", "&&", ";", ">", ">>", "<", "2>", "$("})

BlockKind = Literal["program", "tests", "fragment"]


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block."""

    language: str
    code: str
    line: int  # 1-based line number of the opening fence
    heading: str  # the nearest heading above it ("" before the first one)

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.heading or 'top'})"


@dataclasses.dataclass(frozen=True)
class ShellLine:
    """One command line of a ```sh block (continuations joined, comments kept in `text`)."""

    text: str
    argv: tuple[str, ...]
    line: int
    heading: str

    @property
    def where(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def read_readme() -> str:
    return README.read_text(encoding="utf-8")


def parse_blocks(text: str) -> list[Block]:
    """Return every fenced block (``` or ~~~ fences, any info string) in document order."""
    blocks: list[Block] = []
    heading = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            title = _HEADING.match(line)
            if title is not None:
                heading = title["title"]
            index += 1
            continue
        marker = fence["fence"]
        info = fence["info"].strip()
        language = info.split()[0] if info else ""
        body: list[str] = []
        start = index + 1  # 1-based number of the fence line
        index += 1
        while True:
            if index >= len(lines):
                raise ValueError(f"README.md:{start}: unclosed code fence")
            closing = lines[index].strip()
            if closing.startswith(marker[0] * len(marker)) and not closing.strip(marker[0]):
                break
            body.append(lines[index])
            index += 1
        blocks.append(Block(language, "\n".join(body) + "\n", start, heading))
        index += 1
    return blocks


def shell_lines(block: Block) -> list[ShellLine]:
    """Split a shell block into command lines; blank lines and ``#`` comment lines are dropped."""
    result: list[ShellLine] = []
    pending: list[str] = []
    first = 0
    for offset, raw in enumerate(block.code.splitlines(), start=block.line + 1):
        if not pending:
            first = offset
        stripped = raw.strip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        text = " ".join([*pending, stripped]).strip()
        pending = []
        if not text or text.startswith("#"):
            continue
        argv = tuple(shlex.split(text, comments=True))
        result.append(ShellLine(text, argv, first, block.heading))
    if pending:
        raise ValueError(f"README.md:{first}: a line continuation ends the block")
    return result


def classify(block: Block) -> BlockKind:
    """Tell how a Python block is meant to run.

    Returns:
        ``program`` if it calls ``asyncio.run`` at top level (a whole script), ``tests`` if
        it defines top-level ``test_*`` functions (a test module), else ``fragment`` (code
        that runs inside a coroutine, with top-level ``await``).
    """
    tree = ast.parse(block.code)
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "run"
                and isinstance(func.value, ast.Name)
                and func.value.id == "asyncio"
            ):
                return "program"
    if any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        for node in tree.body
    ):
        return "tests"
    return "fragment"


def free_names(code: str) -> set[str]:
    """Names a block reads but neither binds, imports nor gets from builtins.

    A deliberately simple scope model (one namespace for the whole block), which is what
    matters here: a name a reader would have to supply before pasting the block.
    """
    tree = ast.parse(code)
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - set(dir(builtins))


def table_under(text: str, heading: str) -> list[dict[str, str]]:
    """Return the first Markdown table after ``heading`` as rows keyed by header cell."""
    lines = text.splitlines()
    starts = [
        i for i, line in enumerate(lines) if (m := _HEADING.match(line)) and m["title"] == heading
    ]
    if len(starts) != 1:
        raise ValueError(f"expected one heading {heading!r} in README.md, found {len(starts)}")
    rows: list[list[str]] = []
    for line in lines[starts[0] + 1 :]:
        if _HEADING.match(line):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip()[1:-1].split("|")])
        elif rows:
            break
    if len(rows) < 3 or not all(set(cell) <= set("-: ") for cell in rows[1]):
        raise ValueError(f"no Markdown table under {heading!r}")
    header = rows[0]
    for row in rows[2:]:
        if len(row) != len(header):
            raise ValueError(f"table under {heading!r}: row {row} does not match {header}")
    return [dict(zip(header, row, strict=True)) for row in rows[2:]]


def code_spans(cell: str) -> list[str]:
    """The contents of the `code spans` in a table cell."""
    return _CODE_SPAN.findall(cell)
