"""The per-process task publisher: callers never wait on the broker; ids are merged into
tasks of MAX_ITEMS; a failing broker is retried, then left to the sweep."""
from __future__ import annotations

import threading
import time

import pytest

from infra import task_publisher
from infra.task_publisher import MAX_ITEMS, Job, TaskPublisher, merge


def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_merge_batches_ids_per_task_in_arrival_order_without_repeats() -> None:
    jobs = [Job("auto", (i,), batched=True) for i in range(MAX_ITEMS + 3)]
    jobs += [Job("audit", (7,), batched=False), Job("auto", (0,), batched=True)]
    merged = merge(jobs)
    assert merged == [
        ("audit", (7,)),
        ("auto", (list(range(MAX_ITEMS)),)),
        ("auto", ([MAX_ITEMS, MAX_ITEMS + 1, MAX_ITEMS + 2],)),
    ]


def test_submit_returns_while_the_broker_hangs_and_the_jobs_go_out_after() -> None:
    released = threading.Event()
    sent: list[list] = []

    def send(messages: list) -> None:
        released.wait(10)
        sent.append(messages)

    publisher = TaskPublisher(send)
    for item in range(40):
        publisher.submit(Job("auto", (item,), batched=True))
    # Forty submits returned although the first publish is still stuck in the broker.
    assert not released.is_set()
    released.set()
    _wait(lambda: sum(len(batch) for batch in sent) >= 1 and publisher.pending() == 0
          and sorted(i for batch in sent for _, (ids,) in batch for i in ids) == list(range(40)))
    assert publisher.dropped == 0


def test_a_failing_broker_is_retried_until_it_answers() -> None:
    calls = {"n": 0}
    sent: list = []

    def send(messages: list) -> None:
        calls["n"] += 1
        if calls["n"] < 4:
            raise ConnectionError("broker down")
        sent.extend(messages)

    publisher = TaskPublisher(send)
    publisher.submit(Job("audit", (1,), batched=False))
    _wait(lambda: sent == [("audit", (1,))])
    assert calls["n"] == 4
    assert publisher.published == 1 and publisher.dropped == 0


def test_after_give_up_the_batch_is_dropped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_publisher, "GIVE_UP_AFTER", 0.2)

    def send(messages: list) -> None:
        raise ConnectionError("broker down")

    publisher = TaskPublisher(send)
    publisher.submit(Job("auto", (1,), batched=True))
    publisher.submit(Job("auto", (2,), batched=True))
    _wait(lambda: publisher.dropped >= 1)
    assert publisher.published == 0
    # The publisher keeps working once the broker is back.
    monkeypatch.setattr(publisher, "_send", lambda messages: None)
    publisher.submit(Job("auto", (3,), batched=True))
    _wait(lambda: publisher.published == 1)


def test_a_forked_process_gets_its_own_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    first = task_publisher.for_app(12345, lambda messages: None)
    assert task_publisher.for_app(12345, lambda messages: None) is first
    monkeypatch.setattr(task_publisher.os, "getpid", lambda: first.pid + 1)
    assert task_publisher.for_app(12345, lambda messages: None) is not first


def test_under_load_jobs_wait_for_the_linger_and_share_a_task(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_publisher, "LINGER", 0.5)
    batches: list[list] = []
    publisher = TaskPublisher(batches.append)
    publisher.submit(Job("auto", (1,), batched=True))
    _wait(lambda: len(batches) == 1)  # idle: out at once, alone
    for item in range(2, 7):
        publisher.submit(Job("auto", (item,), batched=True))
    _wait(lambda: len(batches) == 2)
    assert batches == [[("auto", ([1],))], [("auto", ([2, 3, 4, 5, 6],))]]


def test_a_job_that_is_not_batched_cuts_the_linger_short(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A notification does not wait for the automation's linger."""
    monkeypatch.setattr(task_publisher, "LINGER", 30.0)
    batches: list[list] = []
    publisher = TaskPublisher(batches.append)
    publisher.submit(Job("auto", (1,), batched=True))
    _wait(lambda: len(batches) == 1)  # idle: out at once; the linger starts now
    publisher.submit(Job("auto", (2,), batched=True))
    time.sleep(0.2)
    assert len(batches) == 1  # batched: waits for the linger
    publisher.submit(Job("notify", (7,), batched=False))
    _wait(lambda: len(batches) == 2, timeout=5.0)  # far less than the 30 s linger
    assert batches[1] == [("notify", (7,)), ("auto", ([2],))]
