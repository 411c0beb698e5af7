"""The batcher behind the group commit, the task publisher and the rate-limit flusher:
callers queue without waiting, every item is handed over once and in order, a failed
batch costs only itself."""
from __future__ import annotations

import threading
import time

import pytest

from infra import batching
from infra.batching import Batcher


def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_items_from_many_threads_arrive_once_each_in_their_order_and_in_bounded_batches(
) -> None:
    batches: list[list[tuple[int, int]]] = []
    batcher: Batcher[tuple[int, int]] = Batcher("test", batches.append, max_batch=64)

    def produce(thread: int) -> None:
        for n in range(2_000):
            batcher.submit((thread, n))

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait(lambda: sum(map(len, batches)) == 16_000)
    items = [item for batch in batches for item in batch]
    assert len(set(items)) == 16_000
    for t in range(8):
        assert [n for thread, n in items if thread == t] == list(range(2_000))
    assert max(map(len, batches)) <= 64
    assert len(batches) < 16_000  # items that arrived together shared batches


def test_submit_returns_while_the_consumer_is_busy() -> None:
    release = threading.Event()
    seen: list[int] = []

    def handle(batch: list[int]) -> None:
        release.wait(10)
        seen.extend(batch)

    batcher: Batcher[int] = Batcher("test", handle)
    started = time.monotonic()
    for n in range(1_000):
        batcher.submit(n)
    assert time.monotonic() - started < 5  # not one of them waited for the stuck batch
    assert not release.is_set()
    release.set()
    _wait(lambda: seen == list(range(1_000)))


def test_a_failed_batch_is_logged_and_the_next_one_is_handled(caplog) -> None:
    seen: list[int] = []

    def handle(batch: list[int]) -> None:
        if 1 in batch:
            raise RuntimeError("the database is away")
        seen.extend(batch)

    batcher: Batcher[int] = Batcher("test", handle)
    batcher.submit(1)
    _wait(lambda: "a batch of 1 failed" in caplog.text)
    batcher.submit(2)
    _wait(lambda: seen == [2])


def test_beyond_max_queued_the_oldest_are_dropped() -> None:
    release = threading.Event()
    seen: list[int] = []

    def handle(batch: list[int]) -> None:
        release.wait(10)
        seen.extend(batch)

    batcher: Batcher[int] = Batcher("test", handle, max_queued=10)
    batcher.submit(0)
    _wait(lambda: batcher.pending() == 0)  # the consumer holds item 0
    for n in range(1, 31):
        batcher.submit(n)
    assert batcher.pending() == 10
    assert batcher.dropped == 20
    release.set()
    _wait(lambda: seen == [0, *range(21, 31)])


def test_a_forked_process_starts_its_own_consumer_with_an_empty_queue(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    batches: list[list[int]] = []

    def handle(batch: list[int]) -> None:
        if 1 in batch:
            release.wait(10)  # the parent's consumer, stuck in its batch
        batches.append(batch)

    batcher: Batcher[int] = Batcher("test", handle)
    batcher.submit(1)
    _wait(lambda: batcher.pending() == 0)
    batcher.submit(2)  # queued in the parent, behind the stuck batch
    parent_pid = batching.os.getpid()
    monkeypatch.setattr(batching.os, "getpid", lambda: parent_pid + 1)
    batcher.submit(3)
    _wait(lambda: batches == [[3]])  # the child's own consumer, while the parent's is stuck
    release.set()
