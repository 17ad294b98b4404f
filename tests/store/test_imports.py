"""chirp_async.redis is imported only when asked for, and says what to install without redis."""

from __future__ import annotations

import subprocess
import sys

import chirp_async.redis


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_sdk_or_its_testing_helpers_does_not_import_redis() -> None:
    done = _run(
        "import sys, chirp_async, chirp_async.testing\n"
        "from chirp_async.testing import StoreServer\n"
        "names = ('redis', 'chirp_async.redis')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis' or m in names))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_redis_the_import_error_names_the_extra() -> None:
    done = _run("import sys\nsys.modules['redis'] = None\nimport chirp_async.redis\n")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ImportError: chirp_async.redis needs the redis package: pip install 'chirp-async[redis]'"
    )


def test_public_names_are_sorted_documented_and_report_the_public_module() -> None:
    assert chirp_async.redis.__all__ == sorted(chirp_async.redis.__all__)
    assert chirp_async.redis.__all__ == [
        "Grant",
        "RateLimiterUnavailableError",
        "RedisCallCache",
        "RedisRateLimiter",
    ]
    for name in chirp_async.redis.__all__:
        value = getattr(chirp_async.redis, name)
        assert value.__module__ == "chirp_async.redis", name
        assert value.__doc__, name
    assert issubclass(chirp_async.redis.RateLimiterUnavailableError, chirp_async.ChirpError)
