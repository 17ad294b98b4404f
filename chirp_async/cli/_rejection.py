"""A rejected API key: how to recognise it, and the one line that reports a stopped batch."""

import dataclasses
from typing import Final

from chirp_async import APIStatusError, AuthenticationError, ChirpError, PermissionDeniedError

__all__ = ["KeyRejection", "rejects_key"]

# The SDK's own rule (chirp_async.resources.calls.rejects_key, not public yet): a 401, or
# a 403 about the key or account rather than the ID. Kept identical; see the tests.
_KEY_LEVEL_403_CODES: Final = frozenset({"account_restricted"})
_KEY_LEVEL_403_TYPE: Final = "authentication_error"


def rejects_key(error: ChirpError) -> bool:
    """Return whether ``error`` says the API key (not the ID) was refused.

    Args:
        error: An ID's outcome.

    Returns:
        True for an `AuthenticationError` (401), and for a `PermissionDeniedError` (403)
        whose code says the account is restricted or whose type is ``authentication_error``.
    """
    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, PermissionDeniedError) and (
        error.code in _KEY_LEVEL_403_CODES or error.type == _KEY_LEVEL_403_TYPE
    )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


@dataclasses.dataclass(frozen=True)
class KeyRejection:
    """A batch stopped because the API rejected the key.

    Attributes:
        error: The first rejection seen (a 401 or a key-level 403).
        requests: HTTP requests the client sent in the whole run.
        not_sent: IDs the SDK did not send because of it.
        written: Lines written to the output before and while it stopped.
    """

    error: APIStatusError
    requests: int
    not_sent: int
    written: int

    def message(self) -> str:
        """Describe the stop in one line for stderr (no server text, so nothing to clean).

        Returns:
            E.g. ``error: the API key was rejected (401) after 1 request; 2,999 IDs not
            sent; check --api-key or CHIRP_API_KEY``.
        """
        why = str(self.error.status_code)
        code = self.error.code
        if isinstance(self.error, PermissionDeniedError) and code in _KEY_LEVEL_403_CODES:
            why += f" {code}"
        sent = _plural(self.requests, "request")
        if self.written:
            sent += f" ({_plural(self.written, 'line')} written)"
        hint = (
            "check --api-key or CHIRP_API_KEY"
            if isinstance(self.error, AuthenticationError)
            else "the key may not be used for this account"
        )
        return (
            f"error: the API key was rejected ({why}) after {sent}; "
            f"{_plural(self.not_sent, 'ID')} not sent; {hint}"
        )
