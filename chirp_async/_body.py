"""Reading a response body with its decoded size bounded, whatever the Content-Encoding.

The client asks for ``gzip`` or ``deflate`` only and decompresses itself, in steps, with
a running count of decoded bytes (`zlib`'s ``max_length``), so that a small compressed
body that inflates to gigabytes stops at the limit instead of filling memory. Peak memory
per response stays near the limit.

A plain body whose ``Content-Length`` fits is read in one call: the common case costs
nothing extra.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "ACCEPT_ENCODING",
    "BodyTooLargeError",
    "UndecodableBodyError",
    "read_body",
    "read_prefix",
]

ACCEPT_ENCODING: Final = "gzip, deflate"
"""The encodings the client asks for: the ones it decodes itself, step by step."""

_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS
_ZLIB_WBITS: Final = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS: Final = -zlib.MAX_WBITS
_DEFLATE_METHOD: Final = 8


class BodyTooLargeError(Exception):
    """The decoded body is larger than the limit; ``prefix`` holds its first bytes.

    Attributes:
        prefix: The first ``limit`` decoded bytes.
    """

    def __init__(self, prefix: bytes) -> None:
        super().__init__("response body larger than the limit")
        self.prefix = prefix


class UndecodableBodyError(Exception):
    """The body's Content-Encoding is not one the client asked for, or is corrupt."""


@final
class _Inflater:
    """Decompresses gzip (several members allowed) or deflate (zlib-wrapped or raw)."""

    __slots__ = ("_decoder", "_encoding", "_pending")

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._decoder: zlib._Decompress | None = None
        self._pending = b""  # deflate: the first byte decides zlib or raw

    def _start(self, data: bytes) -> bytes:
        if self._encoding == "gzip":
            self._decoder = zlib.decompressobj(_GZIP_WBITS)
            return data
        data = self._pending + data
        if not data:
            return data
        self._pending = b""
        zlib_wrapped = data[0] & 0x0F == _DEFLATE_METHOD
        self._decoder = zlib.decompressobj(_ZLIB_WBITS if zlib_wrapped else _RAW_DEFLATE_WBITS)
        return data

    def feed(self, data: bytes, max_length: int) -> bytes:
        """Decode ``data``; return at most ``max_length`` bytes (more pending means too large).

        Raises:
            UndecodableBodyError: The stream is corrupt.
            BodyTooLargeError: Never; the caller compares lengths.
        """
        if self._decoder is None:
            data = self._start(data)
            if self._decoder is None:
                return b""
        out = bytearray()
        try:
            while True:
                decoder = self._decoder
                out += decoder.decompress(data, max_length - len(out))
                if decoder.unconsumed_tail:
                    return bytes(out)  # stopped at max_length: the caller sees the limit hit
                if not (decoder.eof and decoder.unused_data and self._encoding == "gzip"):
                    return bytes(out)
                data = decoder.unused_data  # another gzip member follows
                self._decoder = zlib.decompressobj(_GZIP_WBITS)
                if len(out) >= max_length:
                    return bytes(out)
        except zlib.error as exc:
            raise UndecodableBodyError(f"corrupt {self._encoding} body: {exc}") from None

    @property
    def complete(self) -> bool:
        """Whether the compressed stream ended properly (a truncated one did not)."""
        return self._decoder is not None and self._decoder.eof


def _encoding_of(resp: aiohttp.ClientResponse) -> str:
    value = resp.headers.get("Content-Encoding")
    if value is None:
        return ""
    encoding = value.strip().lower()
    if encoding == "identity":
        return ""
    if encoding not in ("gzip", "deflate"):
        raise UndecodableBodyError(
            f"the server sent Content-Encoding {value[:40]!r}, which was not asked for "
            f"(Accept-Encoding: {ACCEPT_ENCODING})"
        )
    return encoding


async def read_body(
    resp: aiohttp.ClientResponse, limit: int, *, keep_prefix: bool = False
) -> bytes:
    """Read ``resp``'s body, decoded, holding at most about ``limit`` bytes.

    Args:
        resp: A response whose body has not been read, from a request sent with
            ``auto_decompress=False``.
        limit: The most decoded bytes to accept.
        keep_prefix: Read the first ``limit`` bytes of a body known to be too long (from
            its ``Content-Length``) instead of failing before reading any.

    Returns:
        The decoded body.

    Raises:
        BodyTooLargeError: The decoded body is longer than ``limit``; nothing more is read
            (the connection is not reused).
        UndecodableBodyError: An encoding the client did not ask for, a corrupt stream,
            or a compressed stream that ended early.
        aiohttp.ClientError: The connection failed while reading.
    """
    encoding = _encoding_of(resp)
    length = resp.content_length
    if not encoding and length is not None:
        if length <= limit:
            return await resp.read()
        if not keep_prefix:
            raise BodyTooLargeError(b"")
    inflater = _Inflater(encoding) if encoding else None
    body = bytearray()
    fed = False
    async for chunk in resp.content.iter_any():
        fed = True
        room = limit + 1 - len(body)
        body += chunk if inflater is None else inflater.feed(chunk, room)
        if len(body) > limit:
            raise BodyTooLargeError(bytes(body[:limit]))
    if inflater is not None and fed and not inflater.complete:
        raise UndecodableBodyError(f"the {encoding} body ended before its end marker")
    return bytes(body)


async def read_prefix(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` decoded bytes of ``resp``'s body (an error's, for its message).

    Args:
        resp: A response whose body has not been read (``auto_decompress=False``).
        limit: The most decoded bytes to keep.

    Returns:
        The body or its first ``limit`` bytes, and whether it was cut.

    Raises:
        UndecodableBodyError: As `read_body`.
        aiohttp.ClientError: The connection failed while reading.
    """
    try:
        return await read_body(resp, limit, keep_prefix=True), False
    except BodyTooLargeError as exc:
        return exc.prefix, True
