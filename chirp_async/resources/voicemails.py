"""The voicemails resource: ``client.voicemails`` pages, reads, marks and deletes voicemails."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Final, final

import msgspec

from .._models_calling import DeleteResult, Voicemail, VoicemailPage
from .._transport import Transport
from ._ids import validate_voicemail_id
from ._params import check_bool, check_int
from ._requests import delete_resource, request_model

__all__ = ["Voicemails"]

_LIST_PATH: Final = "/v1/calls/voicemails"
_VOICEMAIL_PATH: Final = "/v1/calls/voicemails/"
DEFAULT_LIMIT: Final = 20
"""The page size of `Voicemails.list` when none is given (the API's default)."""
MAX_LIMIT: Final = 100
"""The largest page the API serves."""
_ENCODER: Final = msgspec.json.Encoder()


@final
class Voicemails:
    """The app's voicemails. Reach it as ``client.voicemails``.

    The list is paged by ``limit`` and ``offset`` (newest first on the mock; the
    reference does not state an order). `iter` walks every page lazily.

    Args:
        transport: The client's transport.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def list(self, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> VoicemailPage:
        """Fetch one page of voicemails (``GET /v1/calls/voicemails?limit=&offset=``).

        Args:
            limit: Voicemails on the page, 1 to 100 (default 20).
            offset: How many to skip, >= 0.

        Returns:
            The page: ``data`` and the app's ``total_count``.

        Raises:
            InvalidParameterError: ``limit`` or ``offset`` out of range (nothing is sent).
            TypeError: ``limit`` or ``offset`` is not an int.
            APIError: The request failed, after the client's retries.

        Example:
            ```python
            page = await client.voicemails.list(limit=50)
            print(len(page.data), "of", page.total_count)
            ```
        """
        params = {
            "limit": str(check_int("limit", limit, minimum=1, maximum=MAX_LIMIT)),
            "offset": str(check_int("offset", offset, minimum=0)),
        }
        return await request_model(self._transport, "GET", _LIST_PATH, VoicemailPage, params=params)

    def iter(self, *, page_size: int = MAX_LIMIT) -> AsyncGenerator[Voicemail, None]:
        """Walk every voicemail, one page at a time, as you consume them.

        Pages are fetched lazily (one request per ``page_size`` voicemails), until the
        offset reaches the ``total_count`` of the latest page or a page comes back
        empty. Each voicemail is yielded once: one seen earlier in this walk (a new
        voicemail arriving shifts the later pages, so one can come twice) is skipped,
        by ID. Offset paging cannot see everything while the list changes, though: a
        voicemail deleted during the walk shifts the later ones forward, and one of them
        can then fall between two pages and be missed. Walk again (or re-list) when you
        need a complete view of a list that changes.

        The walk keeps the IDs it has yielded (about 100 bytes each). Leave it early
        with ``break``; close it (``contextlib.aclosing``) to release it at once.

        Args:
            page_size: Voicemails per request, 1 to 100 (default 100).

        Returns:
            An async generator of voicemails.

        Raises:
            InvalidParameterError: ``page_size`` out of range (raised at once, before
                iterating).
            TypeError: ``page_size`` is not an int.

        Example:
            ```python
            async for voicemail in client.voicemails.iter():
                if not voicemail.is_read:
                    print(voicemail.caller_number, voicemail.transcription)
            ```
        """
        size = check_int("page_size", page_size, minimum=1, maximum=MAX_LIMIT)
        return self._walk(size)

    async def _walk(self, page_size: int) -> AsyncGenerator[Voicemail, None]:
        seen: set[str] = set()
        offset = 0
        while True:
            page = await self.list(limit=page_size, offset=offset)
            for voicemail in page.data:
                if voicemail.id not in seen:
                    seen.add(voicemail.id)
                    yield voicemail
            offset += len(page.data)
            if not page.data or offset >= page.total_count:
                return

    async def get(self, voicemail_id: str) -> Voicemail:
        """Fetch one voicemail, with its transcription when there is one.

        Args:
            voicemail_id: The voicemail, ``call_vm_[test_]<27 alphanumerics>``.

        Returns:
            The voicemail.

        Raises:
            InvalidParameterError: ``voicemail_id`` is malformed (nothing is sent).
            NotFoundError: No such voicemail.
            APIError: Any other failure, after the client's retries.
        """
        path = _VOICEMAIL_PATH + validate_voicemail_id(voicemail_id)
        return await request_model(self._transport, "GET", path, Voicemail)

    async def update(self, voicemail_id: str, *, is_read: bool) -> Voicemail:
        """Change a voicemail (``PATCH``): mark it read or unread.

        Setting a value is safe to repeat, so this is retried like a read.

        Args:
            voicemail_id: The voicemail.
            is_read: Whether it has been read.

        Returns:
            The updated voicemail.

        Raises:
            InvalidParameterError: ``voicemail_id`` is malformed (nothing is sent).
            TypeError: ``is_read`` is not a bool.
            NotFoundError: No such voicemail.
            APIError: Any other failure, after the client's retries.
        """
        path = _VOICEMAIL_PATH + validate_voicemail_id(voicemail_id)
        body = _ENCODER.encode({"isRead": check_bool("is_read", is_read)})
        return await request_model(
            self._transport, "PATCH", path, Voicemail, body=body, idempotent=True
        )

    async def mark_read(self, voicemail_id: str) -> Voicemail:
        """Mark a voicemail as read: ``update(voicemail_id, is_read=True)``.

        Args:
            voicemail_id: The voicemail.

        Returns:
            The updated voicemail.

        Raises:
            InvalidParameterError: ``voicemail_id`` is malformed (nothing is sent).
            APIError: As for `update`.
        """
        return await self.update(voicemail_id, is_read=True)

    async def mark_unread(self, voicemail_id: str) -> Voicemail:
        """Mark a voicemail as unread: ``update(voicemail_id, is_read=False)``.

        Args:
            voicemail_id: The voicemail.

        Returns:
            The updated voicemail.

        Raises:
            InvalidParameterError: ``voicemail_id`` is malformed (nothing is sent).
            APIError: As for `update`.
        """
        return await self.update(voicemail_id, is_read=False)

    async def delete(self, voicemail_id: str) -> DeleteResult:
        """Delete a voicemail, permanently.

        Retried like any request safe to repeat: if a first attempt deleted it but its
        answer was lost, the retry gets `NotFoundError`, which then means it is gone.

        Args:
            voicemail_id: The voicemail.

        Returns:
            The API's confirmation (``message``).

        Raises:
            InvalidParameterError: ``voicemail_id`` is malformed (nothing is sent).
            NotFoundError: No such voicemail (or a lost first answer, see above).
            APIError: Any other failure, after the client's retries.
        """
        path = _VOICEMAIL_PATH + validate_voicemail_id(voicemail_id)
        return await delete_resource(self._transport, path)
