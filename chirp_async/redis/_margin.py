"""The spacing of a shared limiter's slots: why a margin is added to each period, and its default.

The margin is there because the API counts a request when it arrives, not when it was
granted: with slots exactly ``period / limit`` apart, a request delayed a little more than
the one ``limit`` slots later (scheduling, network) puts ``limit + 1`` arrivals in one of
the server's windows, and a 429 pauses everyone (the docs show ``Retry-After: 30``). With
``margin`` seconds added to each period, arrivals may jitter by up to ``margin`` seconds
without that happening.

The default margin (`default_margin`) does more: it leaves one request of each window
unused, ``period / (limit - 1)``, plus a jitter allowance of a hundredth of the period (at
most 50 ms). Slots exactly ``period / limit`` apart fill every window to the brim, so the
server's ``X-RateLimit-Remaining`` reads 0 after nearly every request of a saturated
batch, and each time the limiter must pause until ``X-RateLimit-Reset``: whole Unix
seconds, so up to a second lost each time. Against a 1 s sliding window that cost 1.77x
the ideal wall time (``benchmarks/shared_limit.py``); with one request of headroom the
budget is never announced spent and the run stays within a few percent of the ideal. For
the API's 120 a minute the default is 0.55 s (0.9 % of the budget); for 50 a second, 31 ms.
"""

from __future__ import annotations

from typing import Final

__all__ = ["JITTER_SHARE", "MAX_JITTER", "default_margin"]

JITTER_SHARE: Final = 1 / 100
"""The default margin's jitter allowance, as a share of the period..."""
MAX_JITTER: Final = 0.05
"""...and at most this many seconds (arrival jitter on one network is milliseconds)."""


def default_margin(limit: int, period: float) -> float:
    """Return the margin used when none is given (see the module docstring).

    One slot of each window left unused, ``period / (limit - 1)``, plus a jitter
    allowance of ``min(0.05, period / 100)`` seconds.

    Args:
        limit: Requests per period.
        period: The window, in seconds.

    Returns:
        About 0.55 s for the API's 120 per 60 s, 0.03 s for 50 per 1 s.
    """
    jitter = min(MAX_JITTER, period * JITTER_SHARE)
    headroom = period / (limit - 1) if limit > 1 else 0.0
    return headroom + jitter
