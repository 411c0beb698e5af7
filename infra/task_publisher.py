"""Hands tasks to the broker off the request path, in batches.

A send is acknowledged once it is durable; the broker round trip that starts its
automation must not sit on that path. Callers queue a task here (after their commit)
and return at once; one publisher thread per process (a green thread under eventlet)
takes whatever has queued, merges the ids of batched tasks into one task per
``MAX_ITEMS`` ids, and publishes them over one broker connection.

A broker that is slow or down delays the work and never the caller: the publisher
retries with backoff for ``GIVE_UP_AFTER`` seconds, then drops the batch. Nothing is
lost by that: every queued task stands for a row in a pending state, and the beat
sweep enqueues what stayed pending (see ``actions.automation`` and ``actions.audit``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from infra import batching

log = logging.getLogger(__name__)

MAX_ITEMS = 16  # ids per batched task: enough to share a transaction, few enough to spread
MAX_QUEUED = 100_000  # beyond this the oldest are dropped (the sweep has them)
GIVE_UP_AFTER = 30.0  # seconds of failed publishing before a batch is left to the sweep
# Under load, batched jobs go out at most once per LINGER seconds: the ids queued meanwhile
# share its tasks, so a worker gets fewer, larger batches (each task costs a broker round
# trip and a transaction or three whatever its size). When idle, a job goes out at once,
# and so does a job that is not batched (a notification): it cuts the linger short.
LINGER = 0.02
BACKOFF = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class Job:
    task_name: str
    args: tuple
    batched: bool  # args is one id, merged with others into the task's single list argument


Send = Callable[[list[tuple[str, tuple]]], None]


class TaskPublisher:
    """Queues jobs and publishes them from its own thread."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._pid = os.getpid()
        self._batcher: batching.Batcher[Job] = batching.Batcher(
            "task-publisher", self._publish_jobs, linger=LINGER, max_queued=MAX_QUEUED)
        self.published = 0  # tasks handed to the broker (read by tests and benchmarks)
        self._given_up = 0

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def dropped(self) -> int:
        """Tasks left to the sweep: queued past MAX_QUEUED, or given up on."""
        return self._batcher.dropped + self._given_up

    def submit(self, job: Job) -> None:
        # A job that is not batched (a notification) cuts the linger short.
        self._batcher.submit(job, urgent=not job.batched)

    def pending(self) -> int:
        return self._batcher.pending()

    def _publish_jobs(self, jobs: list[Job]) -> None:
        self._publish(merge(jobs))

    def _publish(self, messages: list[tuple[str, tuple]]) -> None:
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                self._send(messages)
                self.published += len(messages)
                return
            except Exception as exc:  # the broker is slow or gone: back off, then give up
                waited = time.monotonic() - started
                if waited >= GIVE_UP_AFTER:
                    self._given_up += len(messages)
                    log.error("broker unavailable for %.0f s; %d tasks left to the sweep",
                              waited, len(messages))
                    return
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                attempt += 1
                log.warning("publishing %d tasks failed (%s); retrying in %.2f s",
                            len(messages), exc, delay)
                time.sleep(delay)


def merge(jobs: list[Job]) -> list[tuple[str, tuple]]:
    """Batched jobs of one task become tasks of up to MAX_ITEMS ids, in arrival order."""
    out: list[tuple[str, tuple]] = []
    ids: dict[str, list[int]] = {}
    for job in jobs:
        if job.batched:
            ids.setdefault(job.task_name, []).extend(job.args)
        else:
            out.append((job.task_name, job.args))
    for name, items in ids.items():
        unique = list(dict.fromkeys(items))
        for start in range(0, len(unique), MAX_ITEMS):
            out.append((name, (unique[start:start + MAX_ITEMS],)))
    return out


_publishers: dict[int, TaskPublisher] = {}


def for_app(key: int, send: Send) -> TaskPublisher:
    """The process's publisher for one Celery app (a forked child gets its own)."""
    publisher = _publishers.get(key)
    if publisher is None or publisher.pid != os.getpid():
        publisher = _publishers[key] = TaskPublisher(send)
    return publisher
