"""The package logger and its opt-in configuration from ``CHIRP_LOG``.

Nothing logged by chirp_async contains the API key: records carry the method, path,
status, attempt number, elapsed time and request ID only.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from typing import Final

from . import defaults

__all__ = ["log_response", "log_retry", "logger", "setup_logging_from_env"]

logger: Final = logging.getLogger("chirp_async")

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging_from_env(env: Mapping[str, str]) -> None:
    """Turn on the ``chirp_async`` logger when ``CHIRP_LOG`` is ``debug``, ``info`` or ``warning``.

    Sets the logger's level and, if neither it nor the root logger has a handler, adds a
    stderr handler. Calling it again does not add a second handler. Without ``CHIRP_LOG``
    it does nothing: configure logging the usual way instead. Another value warns (a
    `UserWarning`) and is ignored.

    Args:
        env: The environment variables to read.
    """
    value = env.get(defaults.ENV_LOG)
    if value is None or not value.strip():
        return
    level = _LEVELS.get(value.strip().lower())
    if level is None:
        # warnings' own registry shows this once per place, not once per client.
        warnings.warn(
            f"{defaults.ENV_LOG}={value[:40]!r} is not one of {', '.join(_LEVELS)}; ignored",
            UserWarning,
            stacklevel=3,
        )
        return
    logger.setLevel(level)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)


def log_response(
    method: str, path: str, status: int, attempt: int, started: float, request_id: str | None
) -> None:
    """Log one answer at DEBUG: method, path, status, attempt, milliseconds, request ID.

    Args:
        method: The HTTP method.
        path: The request path (built from validated IDs: nothing secret).
        status: The status received.
        attempt: Which attempt this was (1 for the first).
        started: `time.perf_counter` when the attempt started.
        request_id: The scrubbed ``x-request-id``, or ``None``.
    """
    logger.debug(
        "%s %s -> %d (attempt %d, %.1f ms, request_id=%s)",
        method,
        path,
        status,
        attempt,
        (time.perf_counter() - started) * 1000.0,
        request_id,
    )


def log_retry(
    method: str, path: str, attempt: int, max_retries: int, cause: object, delay: float
) -> None:
    """Log a retry at INFO: what failed, which retry this is, and the wait before it.

    Args:
        method: The HTTP method.
        path: The request path.
        attempt: The attempt that failed (1 for the first); the retry is number ``attempt``.
        max_retries: Retries allowed.
        cause: The status (an int) or the error that failed the attempt.
        delay: Seconds before the retry.
    """
    reason = f"HTTP {cause}" if isinstance(cause, int) else type(cause).__name__
    logger.info(
        "%s %s failed (%s); retry %d of %d in %.2f s",
        method,
        path,
        reason,
        attempt,
        max_retries,
        delay,
    )
