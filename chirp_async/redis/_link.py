"""One limiter's or cache's way to the store: opened lazily, bounded, aware of outages.

`StoreLink` owns the redis client it builds from a URL (and closes it), or uses one it is
given (and leaves it open). Every command goes through `StoreLink.run`, which turns a store
that does not answer into `StoreDown`, logs one warning per outage, stops asking the store
for ``recheck_interval`` seconds, and then lets one call find out whether it is back.
Secrets in the URL never reach a repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, TypeVar, final

import redis.asyncio
import redis.exceptions
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .._errors import ClientStateError, ConfigurationError
from ._checks import check_positive_int, check_seconds
from ._url import mask_url, redact, url_secrets

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["KEY_ID_PATTERN", "StoreDown", "StoreLink", "check_key_id", "logger"]

T = TypeVar("T")

logger: Final = logging.getLogger("chirp_async.redis")

KEY_ID_PATTERN: Final = re.compile(r"[0-9a-f]{16,128}")
"""What a key fingerprint looks like (`Secret.fingerprint` gives 32 hex digits). Anything
else is refused, so that an API key passed by mistake never names a store entry."""

_URL_SCHEMES: Final = ("redis://", "rediss://", "unix://")


class StoreDown(Exception):
    """The store did not answer (or is resting after it did not); the message is masked."""


def check_key_id(key_id: object, *, current: str | None, what: str) -> str:
    """Validate the key fingerprint a limiter or cache is bound to.

    Args:
        key_id: What the client passed.
        current: The fingerprint already bound, if any.
        what: The binding object's class name, for messages.

    Returns:
        ``key_id``.

    Raises:
        ValueError: It does not look like a fingerprint (never quoted: it may be a key).
        ConfigurationError: Another key is bound already.
    """
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.fullmatch(key_id):
        raise ValueError(
            f"{what}.bind(key_id=...) takes the API key's fingerprint "
            "(Secret.fingerprint(): lowercase hex digits), never the key itself"
        )
    if current is not None and key_id != current:
        raise ConfigurationError(
            f"this {what} is bound to the API key with fingerprint {current[:8]}..., not "
            f"{key_id[:8]}...: one {what} holds one key's budget; create one per API key"
        )
    return key_id


def _describe_client(client: redis.asyncio.Redis) -> str:
    """Say where a client we were given points, from its pool's settings (no password)."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        where = f"unix://{kwargs['path']}"
    else:
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
    return f"<redis client {where} db={kwargs.get('db', 0)}>"


@final
class StoreLink:
    """The connection to the store for one limiter or cache, with outage handling.

    Args:
        target: A store URL (``redis://[:password@]host:port/db``, ``rediss://``,
            ``unix://``) or a ``redis.asyncio.Redis`` client.
        timeout: Seconds allowed to connect, and to wait for each reply, when the link
            builds the client (a client you pass keeps its own settings).
        recheck_interval: Seconds between two attempts to reach a store that did not answer.
        max_connections: Connections the link's own pool may open; more callers wait.
        what: The owner's class name, for messages.
        fallback_note: What the owner does meanwhile, for the outage warning.

    Raises:
        ValueError: A bad URL scheme, or a number out of range.
        TypeError: ``target`` is neither a str nor a redis client, or a number is not one.
    """

    __slots__ = (
        "_client",
        "_clock",
        "_closed",
        "_down",
        "_fallback_note",
        "_loop",
        "_max_connections",
        "_next_check",
        "_owned",
        "_probing",
        "_recheck_interval",
        "_secrets",
        "_slots",
        "_timeout",
        "_url",
        "display",
        "what",
    )

    def __init__(
        self,
        target: str | redis.asyncio.Redis,
        *,
        timeout: float,
        recheck_interval: float,
        max_connections: int,
        what: str,
        fallback_note: str,
    ) -> None:
        self._timeout = check_seconds("store_timeout", timeout)
        self._recheck_interval = check_seconds("recheck_interval", recheck_interval)
        self._max_connections = check_positive_int("max_connections", max_connections)
        self.what = what
        self._fallback_note = fallback_note
        self._client: redis.asyncio.Redis | None
        if isinstance(target, str):
            self._secrets = url_secrets(target)
            if not target.startswith(_URL_SCHEMES):
                raise ValueError(
                    f"{what} needs a redis://, rediss:// or unix:// URL, got {mask_url(target)!r}"
                )
            try:
                parse_url(target)
            except ValueError as exc:
                problem = redact(str(exc), self._secrets)
                raise ValueError(f"invalid store URL {mask_url(target)!r}: {problem}") from None
            self._url: str | None = target
            self.display = mask_url(target)
            self._client = None
            self._owned = True
        else:
            if not isinstance(target, redis.asyncio.Redis):
                raise TypeError(
                    f"{what} takes a store URL or a redis.asyncio.Redis client, "
                    f"got {type(target).__name__}"
                )
            self._url = None
            self._secrets = ()
            self.display = _describe_client(target)
            self._client = target
            self._owned = False
        # At most max_connections commands at once: callers queue here, not in the pool,
        # so that those queued when the store stops answering learn it without asking it.
        self._slots = asyncio.Semaphore(self._max_connections)
        self._clock: Clock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._down = False
        self._probing = False
        self._next_check = 0.0

    def set_clock(self, clock: Clock) -> None:
        """Use ``clock``'s monotonic time for the outage pauses (set by ``bind``)."""
        if self._clock is None:
            self._clock = clock

    @property
    def closed(self) -> bool:
        """Whether `aclose` was called."""
        return self._closed

    @property
    def recheck_interval(self) -> float:
        """Seconds between two tries of a store that did not answer."""
        return self._recheck_interval

    @property
    def is_down(self) -> bool:
        """Whether the last attempt to reach the store failed."""
        return self._down

    def resting(self, now: float) -> bool:
        """Whether the store is down and not to be asked again yet (no I/O is needed to know).

        Args:
            now: The bound clock's monotonic time.
        """
        return self._down and (self._probing or now < self._next_check)

    def mask(self, text: str) -> str:
        """Return ``text`` with the URL's secrets masked."""
        return redact(text, self._secrets)

    def _get_client(self) -> redis.asyncio.Redis:
        if self._closed:
            raise ClientStateError(f"{self.what} for {self.display} is closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ClientStateError(
                f"{self.what} for {self.display} was first used in another event loop: "
                "its connections belong to that loop; create one per event loop"
            )
        client = self._client
        if client is None:
            assert self._url is not None  # a link without a URL was given its client
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self._url,
                max_connections=self._max_connections,
                timeout=self._timeout,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                # One immediate retry on a fresh connection: after a store restart the
                # pooled connections are dead, and the first command should not fail for it.
                retry=Retry(NoBackoff(), 1),
            )
            client = self._client = redis.asyncio.Redis.from_pool(pool)
        return client

    async def run(self, operation: Callable[[redis.asyncio.Redis], Awaitable[T]]) -> T:
        """Run ``operation`` on the store client, unless the store is resting after an outage.

        Args:
            operation: What to do with the client (one round trip, ideally).

        Returns:
            What ``operation`` returned.

        Raises:
            StoreDown: The store did not answer, or is known to be down and not due for
                another try; the message is masked and the driver's error chained.
            ClientStateError: The link is closed or used from another event loop.
        """
        clock = self._clock
        if clock is None:
            raise ClientStateError(f"{self.what} is not bound to a client yet")
        now = clock.monotonic()
        probe = False
        if self._down:
            if self._probing or now < self._next_check:
                raise StoreDown(f"the store {self.display} is unreachable")
            probe = self._probing = True
        try:
            async with self._slots:
                if self._down and not probe:  # it went down while this call queued
                    raise StoreDown(f"the store {self.display} is unreachable")
                result = await operation(self._get_client())
        except (redis.exceptions.RedisError, OSError, asyncio.TimeoutError) as exc:
            reason = self.mask(f"{type(exc).__name__}: {exc}")
            self._mark_down(reason, clock.monotonic())
            raise StoreDown(f"the store {self.display} did not answer ({reason})") from exc
        finally:
            if probe:
                self._probing = False
        if probe:
            self._down = False
            logger.info("%s: the store %s answers again", self.what, self.display)
        return result

    def _mark_down(self, reason: str, now: float) -> None:
        self._next_check = now + self._recheck_interval
        if self._down:
            return
        self._down = True
        logger.warning(
            "%s: the store %s did not answer (%s); %s; trying it again every %g s",
            self.what,
            self.display,
            reason,
            self._fallback_note,
            self._recheck_interval,
        )

    async def aclose(self) -> None:
        """Close the client if the link built it (a client you passed stays open)."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owned:
            await client.aclose()

    def __repr__(self) -> str:
        return f"StoreLink({self.display})"
