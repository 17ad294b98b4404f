"""Argument checks shared by the limiter and the cache (values typed ``object``, checked)."""

from __future__ import annotations

import math

__all__ = ["check_positive_int", "check_prefix", "check_seconds"]


def check_seconds(
    name: str, value: object, *, minimum: float = 0.0, allow_minimum: bool = False
) -> float:
    """Return ``value`` as a float if it is a finite number of seconds above ``minimum``.

    Args:
        name: The argument's name, for the message.
        value: The value given.
        minimum: The value must be greater than this.
        allow_minimum: Accept ``minimum`` itself too.

    Returns:
        The value.

    Raises:
        TypeError: Not a number (a bool is not one either).
        ValueError: Not finite, or not above ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < minimum or (value == minimum and not allow_minimum):
        at_least = "at least" if allow_minimum else "above"
        raise ValueError(
            f"{name} must be a finite number of seconds {at_least} {minimum:g}, got {value!r}"
        )
    return float(value)


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int of at least 1.

    Args:
        name: The argument's name, for the message.
        value: The value given.

    Returns:
        The value.

    Raises:
        TypeError: Not an int (a bool is not one either).
        ValueError: Below 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def check_prefix(value: object) -> str:
    """Return ``value`` if it can prefix store keys: a non-empty str without whitespace.

    Args:
        value: The value given.

    Returns:
        The value.

    Raises:
        TypeError: Not a str.
        ValueError: Empty, or with whitespace.
    """
    if not isinstance(value, str):
        raise TypeError(f"prefix must be a str, got {value!r}")
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"prefix must be non-empty and without whitespace, got {value!r}")
    return value
