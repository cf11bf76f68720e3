"""Outside services a test may need, and the rule for when one is missing.

On a developer's machine a missing service skips the test with the reason; with ``CI=true``
it fails it, so a green CI run always means the test really ran.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(service: str, problem: str | None) -> None:
    """Skip (or, in CI, fail) the calling test when ``problem`` names why ``service`` is unusable."""
    if problem is None:
        return
    message = f"{service} unavailable: {problem}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: services must be present)")
    pytest.skip(message)


def redis_problem(url: str = TEST_REDIS_URL) -> str | None:
    """None when a Redis server answers PING at ``url``, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"no Redis at {url} ({exc}); start one with `redis-server --daemonize yes`"
    return None


def chromium_problem() -> str | None:
    """None when Playwright for Python and Debian's Chromium are both present, else why not."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not (os.path.exists(CHROMIUM_PATH) or shutil.which(CHROMIUM_PATH)):
        return f"no Chromium at {CHROMIUM_PATH}; install Debian's `chromium` package"
    return None
