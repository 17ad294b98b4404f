"""IDs of the resources the mock creates, in the API's documented formats."""

from __future__ import annotations

import random
import re
import string
from typing import Final

_KSUID_LENGTH: Final = 27
_ALNUM: Final = string.ascii_letters + string.digits

RECORDING_ID_PATTERN: Final = re.compile(r"call_rec_(?:test_)?[a-zA-Z0-9]{27}")
VOICEMAIL_ID_PATTERN: Final = re.compile(r"call_vm_(?:test_)?[a-zA-Z0-9]{27}")
WEBHOOK_ID_PATTERN: Final = re.compile(r"whk_(?:test_)?[a-zA-Z0-9]{27}")

# The app every created resource belongs to, per mode (the first of _data's apps).
TEST_APP_ID: Final = "app_test_vJ9TRJez8T74ggj4Irdf55zaobG"
LIVE_APP_ID: Final = "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI"


class IdFactory:
    """Makes ``<prefix>[test_]<27 alphanumerics>`` IDs from a seeded generator.

    The same seed gives the same IDs in the same order, so a test's IDs are stable.
    """

    def __init__(self, *, test_mode: bool, seed: int) -> None:
        self._infix = "test_" if test_mode else ""
        self._rng = random.Random(seed)
        self._issued: set[str] = set()

    def new(self, prefix: str) -> str:
        """Return an ID never returned before, e.g. ``new("call_")``."""
        while True:
            candidate = prefix + self._infix + "".join(self._rng.choices(_ALNUM, k=_KSUID_LENGTH))
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate
