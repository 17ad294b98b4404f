"""Every default of chirp_async and the environment variables it reads, in one place.

The client, its configuration, the retry policy and the command line all read their defaults
from here, so a default is changed once.

Example:
    >>> from chirp_async import defaults
    >>> defaults.MAX_RETRIES
    2
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASE_URL",
    "CONCURRENCY",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_LOG",
    "ERROR_BODY_BYTES",
    "INITIAL_RETRY_DELAY",
    "MAX_CONNECTIONS",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRIES",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "MESSAGE_TEXT_CHARS",
    "RATE_LIMIT_WINDOW",
    "RETRY_BUDGET",
    "TIMEOUT",
]

BASE_URL: Final = "https://api.buildwithchirp.com"
"""The API root."""

TIMEOUT: Final = 30.0
"""Seconds one attempt may take, from sending to the last body byte."""

MAX_RETRIES: Final = 2
"""Retries after the first attempt (2 means at most 3 attempts)."""

MAX_CONNECTIONS: Final = 100
"""Size of the keep-alive connection pool."""

MAX_RESPONSE_BYTES: Final = 10 * 1024 * 1024
"""The largest response body read, after decoding (10 MiB)."""

ERROR_BODY_BYTES: Final = 64 * 1024
"""The most bytes of an error response's body read and kept (64 KiB)."""

MESSAGE_TEXT_CHARS: Final = 200
"""The most characters of a body quoted in an error message."""

RETRY_BUDGET: Final = 500
"""Client-wide retry tokens (a retry costs 5, one after a timeout 10, a success refills 1)."""

INITIAL_RETRY_DELAY: Final = 0.5
"""Seconds before the first retry without a server hint (doubling, jittered)."""

MAX_RETRY_DELAY: Final = 8.0
"""Upper bound of the exponential retry delay, in seconds."""

MAX_RETRY_AFTER: Final = 60.0
"""Upper bound of a server-requested delay (``Retry-After``), in seconds."""

RATE_LIMIT_WINDOW: Final = 60.0
"""The API's documented rate-limit window, in seconds (120 requests per minute per key)."""

CONCURRENCY: Final = 16
"""Requests in flight at most for ``get_many`` / ``iter_many``."""

ENV_API_KEY: Final = "CHIRP_API_KEY"
"""The environment variable holding the API key (the name the API's docs use)."""

ENV_BASE_URL: Final = "CHIRP_BASE_URL"
"""The environment variable holding the base URL."""

ENV_LOG: Final = "CHIRP_LOG"
"""The environment variable that turns on the ``chirp_async`` logger (debug, info, warning)."""
