"""One API key's budget and cache shared by many processes, through Redis (the ``redis`` extra).

Imported only when you ask for it: ``pip install 'chirp-async[redis]'``, then

Example:
    ```python
    from chirp_async import AsyncChirp
    from chirp_async.redis import RedisCallCache, RedisRateLimiter

    url = "redis://127.0.0.1:6379/0"
    async with RedisRateLimiter(url) as limiter, RedisCallCache(url) as cache:
        async with AsyncChirp(rate_limiter=limiter, cache=cache) as client:
            calls = await client.calls.get_many(ids)
    ```

Every process that uses the same API key with a `RedisRateLimiter` on the same store
shares the key's 120 requests a minute, spread evenly; a 429 seen by one pauses all.
Store entries are named by the key's fingerprint, never by the key.
"""

from __future__ import annotations

import importlib.util as _importlib_util

if _importlib_util.find_spec("redis") is None:  # pragma: no cover - the dev extra installs it
    raise ImportError("chirp_async.redis needs the redis package: pip install 'chirp-async[redis]'")

from ._cache import RedisCallCache as RedisCallCache
from ._errors import RateLimiterUnavailableError as RateLimiterUnavailableError
from ._limiter import RedisRateLimiter as RedisRateLimiter
from ._view import Grant as Grant

__all__ = ["Grant", "RateLimiterUnavailableError", "RedisCallCache", "RedisRateLimiter"]

for _name in __all__:
    globals()[_name].__module__ = __name__  # tracebacks and reprs show the public path
del _name
