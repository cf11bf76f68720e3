"""Fixed-window request counters in the cache, for the token endpoint and the API (oneroster-1.1.md §5).

One counter per key and window: ``cache.add`` then ``cache.incr``, both atomic in Redis, so every
web process sharing the cache (``REDIS_URL`` in production) shares the budget and concurrent
requests never undercount. Without Redis the cache is local memory: one budget per process.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import BaseCache
from django.core.cache import cache as default_cache

from .conf import parse_rate


def hit_rate_limit(key: str, rate: str, *, cache: BaseCache | None = None) -> int | None:
    """Count one request for ``key`` in the current window of ``rate`` (``"30/min"``).

    Returns the whole seconds (≥ 1) until the window ends when this request exceeds the limit,
    else ``None``. ``cache`` defaults to Django's default cache. ``ValueError`` for a malformed rate.
    """
    cache = cache or default_cache
    allowed, window = parse_rate(rate)
    now = time.time()
    window_start = int(now // window) * window
    cache_key = f"oneroster:rate:{hashlib.sha256(key.encode()).hexdigest()}:{window_start}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    if count > allowed:
        return max(1, int(window_start + window - now + 0.999))
    return None
