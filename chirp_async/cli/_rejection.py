"""The one line that reports a batch the API stopped by rejecting the key."""

import dataclasses

from chirp_async import APIStatusError, AuthenticationError

__all__ = ["KeyRejection"]


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
        if not isinstance(self.error, AuthenticationError) and code:
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
