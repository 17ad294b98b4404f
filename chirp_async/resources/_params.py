"""Arguments checked before the wire: IDs, addresses, channels, JSON fields, URLs, headers.

A value the API would refuse raises `InvalidParameterError` (naming the argument) and a
value of the wrong type `TypeError`, before any request. Where the reference is silent
(calling.md section 9), the checks are loose on purpose: they stop what is surely wrong,
not what the API might accept.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Final

import msgspec
import yarl

from .._errors import InvalidParameterError
from .._validate import is_loopback

__all__ = [
    "CHANNELS",
    "RECORDING_FORMATS",
    "check_address",
    "check_bool",
    "check_channel",
    "check_choice",
    "check_command",
    "check_events",
    "check_headers",
    "check_id",
    "check_int",
    "check_length",
    "check_text",
    "check_url",
    "encode_body",
    "to_camel",
]

CHANNELS: Final = frozenset({"pstn", "whatsapp", "webrtc"})
"""The channels the reference documents for ``fromChannel`` / ``toChannel``."""
RECORDING_FORMATS: Final = ("mp4", "ogg", "webm")
"""The documented values of ``start_recording``'s ``format``."""

_E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")  # [0-9], not \d: no other scripts' digits
# A channel, a command type or an event name: the API's own are lowercase snake_case.
_TOKEN: Final = re.compile(r"[a-z][a-z0-9_]*")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_HOST: Final = re.compile(r"[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+")
_SHOWN_CHARS: Final = 80
_KSUID_CHARS: Final = 27
_ENCODER: Final = msgspec.json.Encoder()


def _shown(value: str) -> str:
    return repr(value) if len(value) <= _SHOWN_CHARS else repr(value[:_SHOWN_CHARS]) + "..."


def _plain_str(param: str, value: object) -> str:
    """``value`` as a plain `str` (a subclass by its value), else `TypeError`."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(f"{param} must be a str, got {type(value).__name__}")


def check_id(param: str, value: object, pattern: re.Pattern[str], example: str) -> str:
    """Check an ID against its documented pattern; only ASCII letters, digits and ``_`` pass.

    Args:
        param: The argument's name.
        value: The value given.
        pattern: The ID's full pattern.
        example: A valid ID, for the message.

    Returns:
        The ID as a plain `str`: safe in a URL path.

    Raises:
        TypeError: Not a str.
        InvalidParameterError: It does not match.
    """
    text = _plain_str(param, value)
    if pattern.fullmatch(text) is None:
        prefix = example[:-_KSUID_CHARS]
        raise InvalidParameterError(
            param,
            f"invalid {param} {_shown(text)}: expected '{prefix}' or '{prefix}test_' "
            f"followed by 27 ASCII letters or digits, e.g. {example!r}",
        )
    return text


def check_text(param: str, value: object) -> str:
    """Check a non-empty string without control characters (an address, a name, a URL).

    Raises:
        TypeError: Not a str.
        InvalidParameterError: Empty, or with a control character.
    """
    text = _plain_str(param, value)
    if not text.strip():
        raise InvalidParameterError(param, f"{param} must not be empty")
    if _CONTROL.search(text) is not None:
        raise InvalidParameterError(param, f"{param} must not contain control characters")
    return text


def check_length(param: str, value: object, *, max_chars: int) -> str:
    """Check a free text of at most ``max_chars`` characters (anything else goes).

    Raises:
        TypeError: Not a str.
        InvalidParameterError: Too long.
    """
    text = _plain_str(param, value)
    if len(text) > max_chars:
        raise InvalidParameterError(
            param, f"{param} has {len(text)} characters; the API allows at most {max_chars}"
        )
    return text


def check_channel(param: str, value: object, *, stacklevel: int = 3) -> str:
    """Check a channel: lowercase, and one of `CHANNELS` (an unknown one only warns).

    The reference documents three channels. A lowercase name it does not list is sent
    anyway, with a `UserWarning`, so that a channel the API adds later is not blocked by
    this SDK version; the API answers 400 if it does not know it.

    Args:
        param: The argument's name.
        value: The value given.
        stacklevel: The warning's ``stacklevel`` as seen from here: 2 is the caller of
            this function, 3 (the default) the caller's caller.

    Returns:
        The channel.

    Raises:
        TypeError: Not a str.
        InvalidParameterError: Not a lowercase name (``"PSTN"``, ``""``, ``"pstn "``).
    """
    channel = _plain_str(param, value)
    if channel in CHANNELS:
        return channel
    if _TOKEN.fullmatch(channel) is None:
        raise InvalidParameterError(
            param,
            f"invalid {param} {_shown(channel)}: expected one of "
            f"{', '.join(sorted(CHANNELS))} (lowercase)",
        )
    warnings.warn(
        f"{param}={channel!r} is not a channel the API documents "
        f"({', '.join(sorted(CHANNELS))}); sending it anyway",
        UserWarning,
        stacklevel=stacklevel,
    )
    return channel


def check_address(param: str, value: object, channel: str) -> str:
    """Check a ``from`` / ``to`` address: E.164 for ``pstn``, a non-empty identity otherwise.

    Raises:
        TypeError: Not a str.
        InvalidParameterError: A ``pstn`` address that is not E.164, or an empty one.
    """
    address = _plain_str(param, value)
    if channel == "pstn":
        if _E164.fullmatch(address) is None:
            raise InvalidParameterError(
                param,
                f"invalid {param} {_shown(address)} for channel 'pstn': expected an E.164 "
                "number, '+' then 2 to 15 digits without spaces, e.g. '+15551234567'",
            )
        return address
    return check_text(param, address)


def check_choice(param: str, value: object, choices: Sequence[str]) -> str:
    """Check a value from a documented, closed set (e.g. a recording format).

    Raises:
        TypeError: Not a str.
        InvalidParameterError: Not one of ``choices``.
    """
    text = _plain_str(param, value)
    if text not in choices:
        raise InvalidParameterError(
            param, f"invalid {param} {_shown(text)}: expected one of {', '.join(choices)}"
        )
    return text


def check_command(value: object) -> str:
    """Check a command ``type``: any lowercase snake_case name (the API has undocumented ones).

    Raises:
        TypeError: Not a str.
        InvalidParameterError: Not lowercase snake_case.
    """
    command = _plain_str("command", value)
    if _TOKEN.fullmatch(command) is None:
        raise InvalidParameterError(
            "command",
            f"invalid command {_shown(command)}: expected a lowercase name such as 'mute'",
        )
    return command


def check_int(param: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """Check an int in ``[minimum, maximum]``.

    Raises:
        TypeError: Not an int (a bool is not one either).
        InvalidParameterError: Out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{param} must be an int, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise InvalidParameterError(param, f"{param} must be {allowed}, got {value}")
    return value


def check_bool(param: str, value: object) -> bool:
    """Check a bool (not a truthy int or string).

    Raises:
        TypeError: Not a bool.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{param} must be a bool, got {type(value).__name__}")
    return value


def check_url(param: str, value: object, *, what: str) -> str:
    """Check an absolute ``https`` URL (plain ``http`` only to a loopback host).

    The API wants public HTTPS URLs; ``http`` to this machine is let through for local
    mock servers (the real API refuses it).

    Args:
        param: The argument's name.
        value: The value given.
        what: What the URL is for, in the message (``"webhook url"``).

    Returns:
        The URL as given.

    Raises:
        TypeError: Not a str.
        InvalidParameterError: Not an absolute URL, or neither https nor http to loopback.
    """
    text = check_text(param, value)
    try:
        url = yarl.URL(text)
    except (TypeError, ValueError):
        url = None
    host = None if url is None or not url.absolute else url.raw_host
    if url is not None and host and _HOST.fullmatch(host) is not None:
        if url.scheme == "https" or (url.scheme == "http" and is_loopback(url.host or "")):
            return text
    raise InvalidParameterError(
        param,
        f"invalid {what} {_shown(text)}: expected an absolute https:// URL "
        "(http:// only to this machine, for a local mock server)",
    )


def check_events(value: object) -> list[str]:
    """Check a webhook's event names: a list of non-empty strings, not checked against an enum.

    The reference's enum for this field lists no ``calls.*`` names although the calling
    guide subscribes to them (calling.md section 9.8), so any name is sent as given.

    Raises:
        TypeError: Not a sequence of str (a single str is refused too).
        InvalidParameterError: An empty name, or one with a control character.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"events must be a list of event names, got {type(value).__name__}; "
            "e.g. ['calls.completed']"
        )
    return [check_text(f"events[{index}]", item) for index, item in enumerate(value)]


def check_headers(value: object) -> dict[str, str]:
    """Check a webhook's custom headers: token names, values without CR, LF or NUL.

    Raises:
        TypeError: Not a mapping of str to str.
        InvalidParameterError: A name that is not an HTTP token, or a value with a
            control character other than tab.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, got {type(value).__name__}")
    checked: dict[str, str] = {}
    for name, header in value.items():
        name = _plain_str("headers", name)
        header = _plain_str(f"headers[{name!r}]", header)
        if _HEADER_NAME.fullmatch(name) is None:
            raise InvalidParameterError("headers", f"invalid header name {_shown(name)}")
        if _CONTROL.search(header.replace("\t", " ")) is not None:
            raise InvalidParameterError(
                "headers", f"the value of header {name!r} must not contain control characters"
            )
        checked[name] = header
    return checked


def to_camel(name: str) -> str:
    """``music_url`` -> ``musicUrl``: a Python keyword's name as the API's JSON key."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def encode_body(body: Mapping[str, object], free: Mapping[str, str]) -> bytes:
    """Encode a JSON body; a value msgspec cannot encode names its argument.

    Args:
        body: The body (API keys to values).
        free: The body keys whose values came unchecked from the caller (``metadata``,
            a command's extra fields), each mapped to its argument's name.

    Returns:
        The JSON bytes.

    Raises:
        InvalidParameterError: A free value is not JSON (an unsupported type, a dict
            key that is not a string or number, a reference cycle).
    """
    try:
        return _ENCODER.encode(body)
    except (TypeError, ValueError, RecursionError) as exc:
        param = next((name for key, name in free.items() if not _encodes(body.get(key))), "body")
        raise InvalidParameterError(param, f"{param} cannot be encoded as JSON: {exc}") from None


def _encodes(value: object) -> bool:
    try:
        _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True
