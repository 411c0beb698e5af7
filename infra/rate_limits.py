"""Per-user rate limits, shared by REST and Socket.IO.

With Redis the `limits` library's moving window is shared by every process. In
the embedded mode a small in-process moving window does the same job: limits'
MemoryStorage starts a timer thread for expiry, which costs more than the send
it guards on the hot path.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

import redis
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from actions.errors import RateLimited

_items: dict[str, RateLimitItem] = {}


class LocalWindow:
    """A moving window per key: the times of the last `amount` hits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, item: RateLimitItem, key: str) -> float | None:
        """Count a hit; None if allowed, else the seconds until the next one is."""
        now = time.monotonic()
        window = item.get_expiry()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque(maxlen=item.amount)
            if len(hits) >= item.amount and now - hits[0] < window:
                return window - (now - hits[0])
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class RedisWindow:
    def __init__(self, redis_url: str) -> None:
        # A blocking pool: under a burst, a send waits for a free connection rather than
        # failing with "Too many connections".
        # Socket timeouts: a Redis that stops answering fails the send ("unavailable")
        # instead of hanging it.
        pool = redis.BlockingConnectionPool.from_url(
            redis_url, max_connections=64, timeout=10, socket_timeout=3,
            socket_connect_timeout=3)
        self._storage = storage_from_string(redis_url, connection_pool=pool)
        self._limiter = MovingWindowRateLimiter(self._storage)

    def hit(self, item: RateLimitItem, key: str) -> float | None:
        if self._limiter.hit(item, key):
            return None
        return self._limiter.get_window_stats(item, key).reset_time - time.time()

    def reset(self) -> None:
        self._storage.reset()


_backend: LocalWindow | RedisWindow = LocalWindow()


def configure(redis_url: str | None) -> None:
    global _backend
    _backend = RedisWindow(redis_url) if redis_url else LocalWindow()


def reset() -> None:
    _backend.reset()


def _item(spec: str) -> RateLimitItem:
    item = _items.get(spec)
    if item is None:
        item = _items[spec] = parse(spec)
    return item


def hit(spec: str, *key: object) -> None:
    """Count one use; raise RateLimited with the seconds to wait once over the limit."""
    wait = _backend.hit(_item(spec), ":".join(str(k) for k in key))
    if wait is None:
        return
    retry_after = max(1, math.ceil(wait))
    raise RateLimited(f"Too many requests; try again in {retry_after} s.", retry_after=retry_after)
