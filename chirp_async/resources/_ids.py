"""The IDs of the calling API, checked before they go into a URL path.

Each pattern admits only ASCII letters, digits and a fixed prefix, so nothing that could
alter the URL (``/``, ``..``, ``%``, ``?``, CR/LF, unicode) ever reaches it.
"""

from __future__ import annotations

import re
from typing import Final

from .._errors import CallIdTypeError, InvalidCallIdError
from ._params import check_id

__all__ = [
    "validate_call_id",
    "validate_recording_id",
    "validate_voicemail_id",
    "validate_webhook_id",
]

_CALL_ID_PATTERN: Final = re.compile(r"call_(?:test_)?[a-zA-Z0-9]{27}")
_RECORDING_ID_PATTERN: Final = re.compile(r"call_rec_(?:test_)?[a-zA-Z0-9]{27}")
_VOICEMAIL_ID_PATTERN: Final = re.compile(r"call_vm_(?:test_)?[a-zA-Z0-9]{27}")
_WEBHOOK_ID_PATTERN: Final = re.compile(r"whk_(?:test_)?[a-zA-Z0-9]{27}")
_KSUID_EXAMPLE: Final = "2DbBs7GWhGvVNJGrDXr5RG0mBWI"


def validate_call_id(call_id: object) -> str:
    """Check that ``call_id`` has the API's form, ``^call_(?:test_)?[a-zA-Z0-9]{27}$``.

    Because only ASCII letters, digits and the two fixed prefixes pass, nothing that
    could alter the URL (``/``, ``..``, ``%``, ``?``, CR/LF, unicode) ever reaches it.
    A `str` subclass (a `StrEnum` member, ``numpy.str_``) counts by its string value,
    whatever its ``__str__`` says.

    Args:
        call_id: The value to check.

    Returns:
        The ID as a plain `str`, known good.

    Raises:
        InvalidCallIdError: It does not match; the message shows the value (shortened)
            and the expected form.
        CallIdTypeError: It is not a str (also a `TypeError`; the message names the type).
    """
    if type(call_id) is not str:
        if not isinstance(call_id, str):
            raise CallIdTypeError(call_id)
        call_id = str.__str__(call_id)  # the value itself, not a subclass's rendering
    if _CALL_ID_PATTERN.fullmatch(call_id) is None:
        raise InvalidCallIdError(call_id)
    return call_id


def validate_recording_id(recording_id: object) -> str:
    """Check a recording ID, ``^call_rec_(?:test_)?[a-zA-Z0-9]{27}$``.

    Args:
        recording_id: The value to check.

    Returns:
        The ID as a plain `str`.

    Raises:
        InvalidParameterError: It does not match (``param`` is ``recording_id``).
        TypeError: It is not a str.
    """
    return check_id(
        "recording_id", recording_id, _RECORDING_ID_PATTERN, f"call_rec_{_KSUID_EXAMPLE}"
    )


def validate_voicemail_id(voicemail_id: object) -> str:
    """Check a voicemail ID, ``^call_vm_(?:test_)?[a-zA-Z0-9]{27}$``.

    Args:
        voicemail_id: The value to check.

    Returns:
        The ID as a plain `str`.

    Raises:
        InvalidParameterError: It does not match (``param`` is ``voicemail_id``).
        TypeError: It is not a str.
    """
    return check_id(
        "voicemail_id", voicemail_id, _VOICEMAIL_ID_PATTERN, f"call_vm_{_KSUID_EXAMPLE}"
    )


def validate_webhook_id(webhook_id: object) -> str:
    """Check a webhook ID, ``^whk_(?:test_)?[a-zA-Z0-9]{27}$``.

    Args:
        webhook_id: The value to check.

    Returns:
        The ID as a plain `str`.

    Raises:
        InvalidParameterError: It does not match (``param`` is ``webhook_id``).
        TypeError: It is not a str.
    """
    return check_id("webhook_id", webhook_id, _WEBHOOK_ID_PATTERN, f"whk_{_KSUID_EXAMPLE}")
