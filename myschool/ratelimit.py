"""Fixed-window counters in the cache: the one rate limiter of the project.

Used by the OAuth token endpoint (per client id and IP, per IP), the OneRoster API (per OAuth
application; oneroster-1.1.md §5) and the credential handoff page (failed tries per IP).

One counter per key and window: ``cache.add`` then ``cache.incr``, both atomic in Redis, so every
web process sharing the cache (``REDIS_URL`` in production) shares the budget and concurrent
requests never undercount. Without Redis the cache is local memory: one budget per process.
A rate is written ``"<n>/<s|sec|second|m|min|minute|h|hour|d|day>"``, e.g. ``"30/min"``.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import BaseCache
from django.core.cache import cache as default_cache

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/min"`` → ``(30, 60)``: requests allowed and the window in seconds. ``ValueError`` if malformed."""
    count, _, period = rate.partition("/")
    seconds = _PERIODS.get(period.strip().lower())
    if seconds is None or not count.strip().isdigit():
        raise ValueError(f"A rate looks like '30/min', not {rate!r}.")
    return int(count), seconds


class _Window:
    """The current window of ``rate`` for ``key``: its cache key and the seconds until it ends."""

    def __init__(self, key: str, rate: str) -> None:
        self.allowed, length = parse_rate(rate)
        now = time.time()
        start = int(now // length) * length
        self.length = length
        self.cache_key = f"ratelimit:{hashlib.sha256(key.encode()).hexdigest()}:{length}:{start}"
        self.retry_after = max(1, int(start + length - now + 0.999))

    def count(self, cache: BaseCache) -> int:
        """Count one request in this window; return the window's count after it."""
        cache.add(self.cache_key, 0, timeout=self.length + 1)
        try:
            return cache.incr(self.cache_key)
        except ValueError:  # expired between add and incr
            cache.set(self.cache_key, 1, timeout=self.length + 1)
            return 1


def hit_rate_limit(key: str, rate: str, *, cache: BaseCache | None = None) -> int | None:
    """Count one request for ``key`` in the current window of ``rate`` (``"30/min"``).

    Returns the whole seconds (≥ 1) until the window ends when this request exceeds the limit,
    else ``None``. ``cache`` defaults to Django's default cache. ``ValueError`` for a malformed rate.
    """
    window = _Window(key, rate)
    return window.retry_after if window.count(cache or default_cache) > window.allowed else None


def rate_limit_reached(key: str, rate: str, *, cache: BaseCache | None = None) -> int | None:
    """Without counting: the seconds (≥ 1) until the window ends when ``key`` already used up this
    window's ``rate``, else ``None``. For limits that count only failures (:func:`rate_limit_count`)."""
    window = _Window(key, rate)
    return window.retry_after if ((cache or default_cache).get(window.cache_key) or 0) >= window.allowed else None


def rate_limit_count(key: str, rate: str, *, cache: BaseCache | None = None) -> None:
    """Count one event (e.g. a failed try) for ``key`` in the current window of ``rate``."""
    _Window(key, rate).count(cache or default_cache)
