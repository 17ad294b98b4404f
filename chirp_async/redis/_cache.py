"""`RedisCallCache`: final calls fetched once for every process that uses the same API key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import msgspec

from .._cache import is_final
from .._errors import ClientStateError
from .._models import Call
from ._checks import check_prefix, check_seconds
from ._link import StoreDown, StoreLink, check_key_id, logger

if TYPE_CHECKING:
    from types import TracebackType

    import redis.asyncio
    from typing_extensions import Self

    from .._clock import Clock

__all__ = ["RedisCallCache"]

_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(Call)
DEFAULT_TTL: Final = 24 * 60 * 60.0


@final
class RedisCallCache:
    """Keep final calls in Redis, shared by every process that uses the same API key.

    Implements the client's `CacheBackend` protocol. Entries are the API's own JSON of
    the call (msgspec-encoded), under ``{prefix}:call:{key fingerprint}:{call ID}``, and
    expire after ``ttl`` seconds. Only calls in a final status are stored (others are
    ignored, whoever passes them).

    Nothing the store does reaches the caller as an exception: an entry that does not
    decode into a `Call` (or holds another call) is a miss and is deleted; while the store
    does not answer, `get` is a miss and `put` does nothing, with one warning logged per
    outage, and the store is tried again every ``recheck_interval`` seconds.

    The client binds the cache to its API key (`bind`). Close it when done (`aclose` or
    ``async with``); a client you pass in stays open.

    Args:
        redis_url_or_client: ``redis://[:password@]host:port/db`` (or ``rediss://``,
            ``unix://``), or a ``redis.asyncio.Redis`` client (which keeps its own timeouts
            and retries; see `RedisRateLimiter`).
        ttl: Seconds an entry is kept (a final call never changes; the TTL bounds memory).
        prefix: Prefix of the store's key names.
        store_timeout: Seconds allowed to connect and for each reply (own client only).
        recheck_interval: Seconds between two tries of a store that did not answer.
        max_connections: Connections the cache's own pool may open.

    Raises:
        ValueError: An argument is out of range (``ttl`` must round to 1 ms at least).
        TypeError: An argument is of the wrong type.

    Example:
        ```python
        from chirp_async import AsyncChirp
        from chirp_async.redis import RedisCallCache

        async with RedisCallCache("redis://127.0.0.1:6379/0", ttl=3600) as cache:
            async with AsyncChirp(cache=cache) as client:
                call = await client.calls.get(call_id)  # fetched once across processes
        ```
    """

    __slots__ = ("_key_id", "_link", "_namespace", "_prefix", "_ttl_ms")

    def __init__(
        self,
        redis_url_or_client: str | redis.asyncio.Redis,
        *,
        ttl: float = DEFAULT_TTL,
        prefix: str = "chirp_async",
        store_timeout: float = 1.0,
        recheck_interval: float = 5.0,
        max_connections: int = 16,
    ) -> None:
        self._ttl_ms = round(check_seconds("ttl", ttl, minimum=0.0005) * 1000)
        self._prefix = check_prefix(prefix)
        self._link = StoreLink(
            redis_url_or_client,
            timeout=store_timeout,
            recheck_interval=recheck_interval,
            max_connections=max_connections,
            what="RedisCallCache",
            fallback_note="every lookup is a miss and nothing is stored meanwhile",
        )
        self._key_id: str | None = None
        self._namespace = ""

    @property
    def ttl(self) -> float:
        """Seconds an entry is kept."""
        return self._ttl_ms / 1000

    @property
    def store(self) -> str:
        """Where the store is, the password masked."""
        return self._link.display

    def bind(self, *, key_id: str, clock: Clock) -> None:
        """Tie the cache to one API key; the client calls it when it is built.

        Args:
            key_id: The API key's fingerprint (``Secret.fingerprint()``); it names the
                entries, so that two keys never see each other's calls.
            clock: Monotonic time for the pauses after the store did not answer.

        Raises:
            ValueError: ``key_id`` is not a fingerprint.
            ConfigurationError: The cache is bound to another key already.
        """
        self._key_id = check_key_id(key_id, current=self._key_id, what="RedisCallCache")
        self._namespace = f"{self._prefix}:call:{key_id}:"
        self._link.set_clock(clock)

    def key_for(self, call_id: str) -> str:
        """Return the store key of ``call_id``'s entry.

        Args:
            call_id: A call ID.

        Returns:
            ``{prefix}:call:{key fingerprint}:{call_id}``.

        Raises:
            ClientStateError: The cache is not bound.
        """
        if self._key_id is None:
            raise ClientStateError(
                "RedisCallCache is not bound to an API key: pass it to AsyncChirp(cache=...), "
                "which binds it, or call cache.bind(key_id=..., clock=...) first"
            )
        return self._namespace + call_id

    async def get(self, call_id: str) -> Call | None:
        """Return the cached call, or ``None`` (not cached, corrupt, or store unreachable).

        Args:
            call_id: A valid call ID.

        Returns:
            The call, or ``None``.

        Raises:
            ClientStateError: The cache is not bound, is closed, or is used from another
                event loop.
        """
        key = self.key_for(call_id)
        try:
            raw = await self._link.run(lambda client: client.get(key))
        except StoreDown:
            return None
        if raw is None:
            return None
        try:
            call = _DECODER.decode(raw)
        except msgspec.DecodeError as exc:
            problem = f"does not decode into a Call ({exc})"
        else:
            if call.id == call_id:
                return call
            problem = "holds another call"
        logger.warning("RedisCallCache: the entry for %s %s; deleted it", call_id, problem)
        try:
            await self._link.run(lambda client: client.delete(key))
        except StoreDown:
            pass
        return None

    async def put(self, call: Call) -> None:
        """Store ``call`` if its status is final (others are ignored); never raises for the store.

        Args:
            call: The call.

        Raises:
            ClientStateError: The cache is not bound, is closed, or is used from another
                event loop.
        """
        if not is_final(call):
            return
        key = self.key_for(call.id)
        data = _ENCODER.encode(call)
        try:
            await self._link.run(lambda client: client.set(key, data, px=self._ttl_ms))
        except StoreDown:
            return

    async def aclose(self) -> None:
        """Close the store connections the cache opened (a client you passed stays open)."""
        await self._link.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        key = "unbound" if self._key_id is None else f"key {self._key_id[:8]}..."
        return f"RedisCallCache({self._link.display!r}, ttl={self.ttl:g}, {key})"
