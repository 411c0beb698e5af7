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
from infra import batching

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


class _Hit:
    """One hit waiting for its batch's answer."""

    __slots__ = ("item", "key", "allowed", "error", "_done")

    def __init__(self, item: RateLimitItem, key: str) -> None:
        self.item = item
        self.key = key
        self.allowed = False
        self.error: Exception | None = None
        self._done = threading.Lock()
        self._done.acquire()


class RedisWindow:
    """The ``limits`` library's moving window in Redis, with hits sent in batches.

    Every send is a hit, so a round trip per hit was a quarter of the web process's CPU
    under load. Hits that arrive together go to Redis as one pipeline of the library's
    own moving-window script (the same keys and semantics as its limiter), from one
    flusher thread (a green thread under eventlet): under light load a batch is one hit,
    under heavy load one round trip answers hundreds.
    """

    MAX_BATCH = 512

    def __init__(self, redis_url: str) -> None:
        # A blocking pool: under a burst, a caller waits for a free connection rather than
        # failing with "Too many connections".
        # Socket timeouts: a Redis that stops answering fails the hit ("unavailable")
        # instead of hanging it.
        pool = redis.BlockingConnectionPool.from_url(
            redis_url, max_connections=64, timeout=10, socket_timeout=3,
            socket_connect_timeout=3)
        self._storage = storage_from_string(redis_url, connection_pool=pool)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._script = self._storage.lua_acquire_moving_window
        self._batcher: batching.Batcher[_Hit] = batching.Batcher(
            "rate-limit-flusher", self._flush, max_batch=self.MAX_BATCH)

    def hit(self, item: RateLimitItem, key: str) -> float | None:
        pending = _Hit(item, key)
        self._batcher.submit(pending)
        pending._done.acquire()
        if pending.error is not None:
            raise pending.error
        if pending.allowed:
            return None
        return self._limiter.get_window_stats(item, key).reset_time - time.time()

    def _flush(self, batch: list[_Hit]) -> None:
        try:
            self._send(batch)
        except Exception as exc:  # every hit of the batch fails as the lone call would
            for pending in batch:
                pending.error = exc
        finally:
            for pending in batch:
                pending._done.release()

    def _send(self, batch: list[_Hit]) -> None:
        storage = self._storage
        now = time.time()
        try:
            answers = self._pipeline(batch, now)
        except redis.exceptions.NoScriptError:
            self._script.sha = storage.get_connection().script_load(self._script.script)
            answers = self._pipeline(batch, now)
        for pending, allowed in zip(batch, answers, strict=True):
            pending.allowed = bool(allowed)

    def _pipeline(self, batch: list[_Hit], now: float) -> list[object]:
        pipe = self._storage.get_connection().pipeline(transaction=False)
        sha = self._script.sha
        for pending in batch:
            item = pending.item
            # The arguments RedisStorage.acquire_entry passes: timestamp, limit, expiry, amount.
            pipe.evalsha(sha, 1, self._storage.prefixed_key(item.key_for(pending.key)), now,
                         item.amount, item.get_expiry(), 1)
        return pipe.execute()

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
