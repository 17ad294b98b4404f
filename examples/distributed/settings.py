"""What the producer, the workers and the collector share: names, sizes, the environment.

Everything comes from environment variables, read once at import, so that the same
``taskiq worker`` command works on every machine:

- ``CHIRP_REDIS_URL``: the one store for the queue, the shared limiter and cache, and the
  results (``redis://[:password@]host:port/db``).
- ``CHIRP_API_KEY`` (and ``CHIRP_BASE_URL``): read by the client, as everywhere.
- ``CHIRP_LIMIT``: the key's limit as ``N/SECONDS`` (default ``120/60``, the API's).
- ``CHIRP_JOB``: a name for this batch; its keys in the store start with ``chirp:JOB:``.
- ``CHIRP_CLAIM_AFTER``: seconds a chunk taken by a worker that died stays untouched
  before another worker takes it over (default 1800). It must be longer than a live worker
  takes for one chunk: ``CHUNK_SIZE * workers / rate`` (500 IDs, 4 workers, 2 a second:
  1,000 s), or a slow chunk is taken over while it still runs (harmless, results are
  written per ID, but its IDs are fetched twice).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Final

CHUNK_SIZE: Final = 500
"""IDs per task: small enough to be redone cheaply, large enough to keep the queue short."""
FLUSH_EVERY: Final = 50
"""Results written to the store every this many IDs, so that a killed worker loses few."""
MAX_ATTEMPTS: Final = 3
"""Deliveries of a chunk with retriable failures before those are written as they are."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The environment, read once."""

    redis_url: str = dataclasses.field(repr=False)
    limit: int
    period: float
    job: str
    claim_after: float

    @classmethod
    def from_env(cls) -> Settings:
        """Read the variables listed in the module docstring."""
        limit, _, period = os.environ.get("CHIRP_LIMIT", "120/60").partition("/")
        return cls(
            redis_url=os.environ.get("CHIRP_REDIS_URL", "redis://127.0.0.1:6379/0"),
            limit=int(limit),
            period=float(period.rstrip("s") or 60),
            job=os.environ.get("CHIRP_JOB", "calls"),
            claim_after=float(os.environ.get("CHIRP_CLAIM_AFTER", "1800")),
        )

    def key(self, name: str) -> str:
        """The store key ``chirp:JOB:name``."""
        return f"chirp:{self.job}:{name}"

    @property
    def queue(self) -> str:
        """The stream the chunks go through."""
        return self.key("queue")
