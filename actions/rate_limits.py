"""Per-user rate limits, shared by REST and Socket.IO (Redis-backed across processes)."""
from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from actions.errors import RateLimited

_storage: Storage = MemoryStorage()
_limiter = MovingWindowRateLimiter(_storage)
_items: dict[str, RateLimitItem] = {}


def configure(redis_url: str | None) -> None:
    global _storage, _limiter
    _storage = storage_from_string(redis_url) if redis_url else MemoryStorage()
    _limiter = MovingWindowRateLimiter(_storage)


def reset() -> None:
    _storage.reset()


def _item(spec: str) -> RateLimitItem:
    item = _items.get(spec)
    if item is None:
        item = _items[spec] = parse(spec)
    return item


def hit(spec: str, *key: object) -> None:
    """Count one use; raise RateLimited with the seconds to wait once over the limit."""
    item = _item(spec)
    parts = [str(k) for k in key]
    if _limiter.hit(item, *parts):
        return
    stats = _limiter.get_window_stats(item, *parts)
    retry_after = max(1, math.ceil(stats.reset_time - time.time()))
    raise RateLimited(f"Too many requests; try again in {retry_after} s.", retry_after=retry_after)
