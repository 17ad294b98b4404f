"""The API key in memory: a `Secret` that never shows itself, and masked strings for locals."""

from __future__ import annotations

import hashlib
from typing import Final, TypeVar, cast

__all__ = ["KNOWN_KEY_PREFIXES", "MaskedStr", "Secret", "mask"]

_T = TypeVar("_T")

KNOWN_KEY_PREFIXES: Final = ("sk_live_app_", "sk_test_app_", "sk_admin_")
"""Key prefixes the API documents; shown in a masked key (they say the mode)."""
_FINGERPRINT_KEY: Final = b"chirp-async key fingerprint v1"


class Secret:
    """A string that never shows itself in a repr, str or traceback.

    Only `reveal` returns the value; the transport calls it once to build its headers.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def fingerprint(self) -> str:
        """Return a stable ID of the key from which the key cannot be read back.

        The same key gives the same fingerprint in every process and on every machine;
        two keys never share one. Shared stores (rate limits, caches) name their entries
        by it, never by the key.

        Returns:
            32 hexadecimal characters (a keyed BLAKE2b digest of the key).
        """
        return hashlib.blake2b(
            self._value.encode(), key=_FINGERPRINT_KEY, digest_size=16
        ).hexdigest()

    @property
    def masked(self) -> str:
        """Return a display form: the known key prefix (which says the mode), then ``***``."""
        for prefix in KNOWN_KEY_PREFIXES:
            if self._value.startswith(prefix):
                return prefix + "***"
        return "***"

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


class MaskedStr(str):
    """A str whose repr hides it: the API key while it is validated, in frame locals.

    A traceback rendered with locals (``capture_locals``, Sentry, ``pytest --showlocals``)
    shows ``'***'`` for it instead of the key.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def mask(value: _T) -> _T:
    """Return ``value`` as a `MaskedStr` if it is a str, else unchanged.

    Args:
        value: A would-be key.

    Returns:
        The masked value.
    """
    return cast("_T", MaskedStr(value)) if isinstance(value, str) else value
