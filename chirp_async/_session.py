"""The one `aiohttp.ClientSession` a client owns: created in its loop, bound to it, closed once.

`SessionPool` holds the session a client and its `with_options` copies share, the event
loop it is bound to, and the connection slots every attempt takes before it may send.
"""

from __future__ import annotations

import asyncio
import platform
import threading
from typing import Final, final

import aiohttp

from ._aiohttp_shim import ReadSizeConnector, pool_counts
from ._body import ACCEPT_ENCODING
from ._config import ClientConfig, MaskedStr, Timeout
from ._errors import ClientStateError
from ._slots import Slots
from ._version import __version__

__all__ = ["CLOSED_MESSAGE", "SessionPool", "build_headers", "client_timeout", "user_agent"]

CLOSED_MESSAGE: Final = (
    "this AsyncChirp client is closed; create a new one (or keep it open with "
    "'async with AsyncChirp() as client:' around all the work)"
)
_OTHER_LOOP_MESSAGE: Final = (
    "this AsyncChirp client was opened in another event loop; aiohttp sessions "
    "cannot cross loops. Create the client inside the loop that uses it (e.g. in "
    "your app's startup hook or an async fixture), not at module level"
)


def user_agent() -> str:
    """Return the User-Agent sent with every request.

    Returns:
        ``chirp-async/<version> python/<x.y> aiohttp/<version>``.
    """
    py = ".".join(platform.python_version_tuple()[:2])
    return f"chirp-async/{__version__} python/{py} aiohttp/{aiohttp.__version__}"


def build_headers(config: ClientConfig) -> dict[str, str]:
    """Return the headers every request carries: Accept(-Encoding), User-Agent, defaults, key."""
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
        "User-Agent": user_agent(),
        **config.default_headers,
    }
    # aiohttp keeps header values as given: a MaskedStr is sent verbatim but shows '***'
    # in any repr (traceback locals, aiohttp's RequestInfo, our own reprs).
    headers["Authorization"] = MaskedStr("Bearer " + config.api_key.reveal())
    return headers


def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """Return aiohttp's form of the per-attempt ``timeout``."""
    return aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)


def _limit_of(connector: aiohttp.BaseConnector | None) -> int | None:
    """The most connections a connector opens to one host (``None``: unlimited)."""
    if connector is None:
        return None
    limits = [n for n in (connector.limit, connector.limit_per_host) if n]
    return min(limits) if limits else None


@final
class SessionPool:
    """Holds the session a client (and its `with_options` copies) share.

    The session is created inside the running loop, on first use, and bound to that loop;
    binding is atomic, so threads racing for the first call bind exactly one loop. A
    session passed in by the user is used as-is and never closed.

    Args:
        config: The client configuration (key, headers, pool size, TLS).
        session: The user's own session, or ``None`` to create one.

    Raises:
        TypeError: ``session`` is not an `aiohttp.ClientSession`.
    """

    __slots__ = (
        "_bind_lock",
        "_capacity",
        "_closed",
        "_config",
        "_loop",
        "_owns_session",
        "_session",
        "_slots",
    )

    def __init__(self, config: ClientConfig, session: aiohttp.ClientSession | None) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(f"session must be an aiohttp.ClientSession, got {session!r}")
        self._config = config
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # All requests go to one host: the lower of a connector's two limits rules.
        self._capacity = config.max_connections if session is None else _limit_of(session.connector)
        self._slots = None if self._capacity is None else Slots(self._capacity)
        self._bind_lock = threading.Lock()

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    @property
    def owns_session(self) -> bool:
        """Whether this pool created its session (and so closes it)."""
        return self._owns_session

    @property
    def timeout(self) -> Timeout:
        """The per-attempt timeout a session created here has as its default."""
        return self._config.timeout

    @property
    def capacity(self) -> int | None:
        """Connections the pool may hold at once (``None``: the user's session has no limit).

        The one source of that number: for the connection slots, and for how many workers
        a batch runs.
        """
        return self._capacity

    @property
    def slots(self) -> Slots | None:
        """One unit per connection the pool may hold (``None``: unlimited).

        An attempt takes a unit before its timeout starts, so that no attempt spends its
        time limit queueing behind others for a connection.
        """
        return self._slots

    def session(self) -> aiohttp.ClientSession:
        """Return the session, creating it on first use in the running loop.

        Returns:
            The pooled session.

        Raises:
            ClientStateError: The pool was closed, or this is not the loop it was opened in.
        """
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop:
            return session
        with self._bind_lock:
            return self._bind(loop)

    def _bind(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientStateError(CLOSED_MESSAGE)
        if self._loop is not None and self._loop is not loop:
            raise ClientStateError(_OTHER_LOOP_MESSAGE)
        session = self._session
        if session is None:
            session = self._create_session()
        self._session = session
        self._loop = loop  # last: another thread's fast path reads _session, then _loop
        return session

    def connection_counts(self) -> tuple[int, int]:
        """Return (open, idle) connections of the pool; (0, 0) before it was opened."""
        session = self._session
        return pool_counts(session.connector if session is not None else None)

    def _create_session(self) -> aiohttp.ClientSession:
        config = self._config
        connector = ReadSizeConnector(
            limit=config.max_connections,
            limit_per_host=0,
            ssl=config.ssl_context or True,  # never False: verification stays on
        )
        # Headers and timeout are the session's defaults, so that a request passes none
        # (merging per-request ones cost about 3 us a request in the fan-out benchmark).
        return aiohttp.ClientSession(
            connector=connector,
            headers=build_headers(config),
            timeout=client_timeout(config.timeout),
            trust_env=config.trust_env,
            raise_for_status=False,
            # The API authenticates by bearer key: a server setting cookies must not make
            # every later request carry them.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Bodies are decompressed by the transport, step by step, with their decoded
            # size bounded (_body.py).
            auto_decompress=False,
        )

    async def close(self) -> None:
        """Close the session if this pool created it; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()
