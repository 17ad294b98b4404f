"""The package logger and its opt-in configuration from ``CHIRP_LOG``.

Nothing logged by chirp_async contains the API key: records carry the method, path,
status, attempt number, elapsed time and request ID only.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Final

__all__ = ["ENV_LOG", "logger", "setup_logging_from_env"]

ENV_LOG: Final = "CHIRP_LOG"
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
    value = env.get(ENV_LOG)
    if value is None or not value.strip():
        return
    level = _LEVELS.get(value.strip().lower())
    if level is None:
        # warnings' own registry shows this once per place, not once per client.
        warnings.warn(
            f"{ENV_LOG}={value[:40]!r} is not one of {', '.join(_LEVELS)}; ignored",
            UserWarning,
            stacklevel=3,
        )
        return
    logger.setLevel(level)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
