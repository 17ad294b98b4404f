"""Argument checks shared by the webhooks modules."""

from __future__ import annotations

__all__ = ["check_int"]


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) of at least ``minimum``.

    Args:
        name: The argument's name, for the message.
        value: The value given.
        minimum: The smallest value allowed.

    Returns:
        The value.

    Raises:
        TypeError: Not an int.
        ValueError: Below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value
