r"""Removing the API key from everything the server sent, in every form it could echo it.

A server (or a proxy, or an attacker on the path) may echo the ``Authorization`` header
anywhere: the status line's reason phrase, any header value, a body. It may also echo it
escaped: JSON (``sk\u005ftest...``, ``\/``) or percent-encoded (``sk%5Ftest...``), which
decoding would turn back into the key. `Scrubber` finds the key in all of those forms,
mixed freely character by character, and replaces it with ``***``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Final, final

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["REDACTED", "Scrubber"]

REDACTED: Final = "***"
_REDACTED_BYTES: Final = REDACTED.encode()


def _hex_class(nibble: int) -> str:
    digit = f"{nibble:x}"
    return f"[{digit}{digit.upper()}]" if digit.isalpha() else digit


def _char_forms(char: str) -> str:
    """A regex alternation matching ``char`` as itself, JSON-escaped or percent-encoded."""
    code = ord(char)
    high, low = _hex_class(code >> 4), _hex_class(code & 0xF)
    forms = [re.escape(char), f"%{high}{low}", rf"\\u00{high}{low}"]
    if char == "/":
        forms.append(r"\\/")
    return "(?:" + "|".join(forms) + ")"


def _shared(text: str) -> str:
    """One copy of a string that every response repeats (header names, most values).

    Errors keep their headers, possibly by the hundred thousand; interned strings are
    freed again when no error holds them.
    """
    return sys.intern(str.__str__(text))


@final
class Scrubber:
    r"""Replaces an API key in server-sent bytes, strings and headers with ``***``.

    The plain form is found with one substring search; only text holding a backslash or
    a percent sign (where an escaped form could hide) is searched with the full pattern.

    Args:
        secret: The API key (ASCII, as the configuration checks).

    Example:
        >>> Scrubber("sk_test_app_abc").text(r"key: sk\u005ftest_app_abc")
        'key: ***'
    """

    __slots__ = ("_bytes_pattern", "_raw", "_raw_bytes", "_text_pattern")

    def __init__(self, secret: str) -> None:
        self._raw = secret
        self._raw_bytes = secret.encode()
        pattern = "".join(_char_forms(char) for char in secret)
        self._text_pattern = re.compile(pattern)
        self._bytes_pattern = re.compile(pattern.encode())

    def __repr__(self) -> str:
        return "Scrubber('***')"

    def body(self, data: bytes) -> bytes:
        """Return ``data`` with every form of the key replaced.

        Args:
            data: Bytes the server sent (a body, or a prefix of one).

        Returns:
            The same object when the key is not in it, else a scrubbed copy.
        """
        # rfind of one byte is a memrchr: twice as fast as `in` (this runs on every body).
        if data.rfind(b"\\") >= 0 or data.rfind(b"%") >= 0:
            return self._bytes_pattern.sub(_REDACTED_BYTES, data)
        if data.find(self._raw_bytes) < 0:
            return data
        return data.replace(self._raw_bytes, _REDACTED_BYTES)

    def text(self, value: str) -> str:
        """Return ``value`` with every form of the key replaced.

        Args:
            value: Text the server sent (a reason phrase, a header value, a message).

        Returns:
            The same object when the key is not in it, else a scrubbed copy.
        """
        if "\\" in value or "%" in value:
            return self._text_pattern.sub(REDACTED, value)
        if self._raw not in value:
            return value
        return value.replace(self._raw, REDACTED)

    def optional_text(self, value: str | None) -> str | None:
        """`text` for a value that may be absent."""
        return None if value is None else self.text(value)

    def header_items(self, headers: Mapping[str, str]) -> tuple[str, ...]:
        """Return ``headers`` scrubbed, as a flat ``(name, value, name, value, ...)`` tuple.

        The compact form an error keeps (a tenth of a multidict's memory); strings that
        every response repeats are shared.

        Args:
            headers: Response headers.

        Returns:
            The flat tuple.
        """
        flat: list[str] = []
        for name, value in headers.items():
            flat.append(_shared(self.text(name)))
            flat.append(_shared(self.text(value)))
        return tuple(flat)

    def headers(self, headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
        """Return a case-insensitive, read-only copy of ``headers`` with the key removed.

        The copy holds nothing of the response it came from (users keep errors, and with
        them their headers, for as long as they like).

        Args:
            headers: Response headers.

        Returns:
            The scrubbed copy (names and values).
        """
        return CIMultiDictProxy(
            CIMultiDict(
                (_shared(self.text(name)), _shared(self.text(value)))
                for name, value in headers.items()
            )
        )
