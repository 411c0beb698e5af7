"""One consumer thread per process that takes what callers queue, in batches.

The send path's group commit (``infra.message_writer``), the task publisher
(``infra.task_publisher``) and the rate-limit flusher (``infra.rate_limits``) each share
one round trip among the items that arrive together: callers queue, and a consumer
thread (a green thread under eventlet) takes whatever has queued and hands it over as
one batch. Under light load a batch is one item; under heavy load, hundreds.

Queueing takes no lock: an append to a deque and, only when the consumer sleeps, one
wake-up. A lock that every caller took turned into a convoy under eventlet: with
thousands of green threads queued on it, each hand-over cost a turn of the hub and each
new waiter a scan of the waiting list, and at 1,800 sends/s the web process spent a
third of its CPU waiting to queue.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Batcher(Generic[T]):
    """Queues items from any thread and hands them, in batches, to ``handle``.

    ``handle`` runs on the consumer thread with up to ``max_batch`` items in arrival order
    (all that are queued when ``max_batch`` is None); it is responsible for telling each
    item's caller the outcome, and an exception it lets out is logged and costs only that
    batch. With ``linger``, batches start at most once per ``linger`` seconds, so that
    the items of the next moments join them, unless an item is queued as urgent; when
    idle, an item goes at once. Beyond ``max_queued`` items the oldest are dropped
    (``dropped`` counts them).
    """

    def __init__(self, name: str, handle: Callable[[list[T]], None], *,
                 max_batch: int | None = None, linger: float = 0.0,
                 max_queued: int | None = None) -> None:
        self._name = name
        self._handle = handle
        self._max_batch = max_batch
        self._linger = linger
        self._max_queued = max_queued
        self._start_lock = threading.Lock()
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._queue: deque[T] = deque()
        self._wakeup = threading.Event()
        self._urgent = threading.Event()
        self._last_batch = 0.0
        self.dropped = 0

    def submit(self, item: T, urgent: bool = False) -> None:
        """Queue ``item`` for the next batch; returns at once."""
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            self._start()
        queue = self._queue
        queue.append(item)
        if self._max_queued is not None and len(queue) > self._max_queued:
            queue.popleft()
            self.dropped += 1
        if urgent and not self._urgent.is_set():
            self._urgent.set()
        if not self._wakeup.is_set():
            self._wakeup.set()

    def pending(self) -> int:
        return len(self._queue)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid != os.getpid():
                # A forked child: the parent's queue and consumer are not its own.
                self._pid = os.getpid()
                self._queue = deque()
                self._wakeup = threading.Event()
                self._urgent = threading.Event()
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        queue = self._queue
        while True:
            self._wakeup.wait()
            if self._linger:
                left = self._last_batch + self._linger - time.monotonic()
                if left > 0:
                    self._urgent.wait(left)
            # Cleared before the queue is read: an item queued from here on either is in
            # this batch or sets the event again.
            self._wakeup.clear()
            self._urgent.clear()
            time.sleep(0)  # let the items queued in the same turn join this batch
            self._last_batch = time.monotonic()
            while queue:
                size = len(queue) if self._max_batch is None else min(len(queue),
                                                                      self._max_batch)
                batch = [queue.popleft() for _ in range(size)]
                try:
                    self._handle(batch)
                except Exception:  # the consumer outlives a failed batch
                    log.exception("%s: a batch of %d failed", self._name, len(batch))
