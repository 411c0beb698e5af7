"""The message queue across a Redis restart: the web processes reconnect within about a
second, subscribe again, tell their sockets to resync, and carry messages again.

(Emits while Redis is down are in test_offline.py: every socket event now also counts against
a rate limit kept in Redis, so a client cannot drive an emit through a web process then.)"""
from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import (
    Cluster,
    conversation,
    join,
    send,
    start_cluster,
    stop_cluster,
    with_content,
)


@pytest.fixture(scope="module")
def restartable(realtime_database: str) -> Iterator[Cluster]:
    """A cluster of its own: restarting its Redis must not disturb other tests."""
    tmp = Path(tempfile.mkdtemp(prefix="realtime-restart-"))
    started = start_cluster(tmp, realtime_database)
    try:
        yield started
    finally:
        stop_cluster(started)
        shutil.rmtree(tmp, ignore_errors=True)


def test_after_a_redis_restart_sockets_resync_and_messages_flow_again(
        restartable: Cluster) -> None:
    cluster = restartable
    chat = conversation(cluster.api("a"))
    staff, staff_events = cluster.socket("a", chat.staff)
    customer_b, customer_b_events = cluster.socket("b", chat.customer)
    for client in (staff, customer_b):
        join(client, chat.room_id)

    cluster.redis.stop()
    time.sleep(0.5)
    restarted_at = time.monotonic()
    cluster.redis.start()

    for events in (staff_events, customer_b_events):
        assert events.wait_for("connection:resync", timeout=10) == {}
    resynced_in = time.monotonic() - restarted_at
    print(f"resync {resynced_in:.2f} s after the restart")
    assert resynced_in < 5.0

    after_b = f"after the restart, from b {uuid.uuid4().hex[:6]}"
    send(customer_b, chat.room_id, after_b)
    staff_events.wait_for("chat:new-message", with_content(after_b))
    after_a = f"after the restart, from a {uuid.uuid4().hex[:6]}"
    send(staff, chat.room_id, after_a)
    customer_b_events.wait_for("chat:new-message", with_content(after_a))

    for name in ("a", "b"):
        stats = cluster.stats(name)
        assert stats["state"] == "up"
        assert stats["counters"]["reconnects"] == 1  # this module's Redis restarts once
        assert any(c.endswith(f"#/realtime#room:{chat.room_id}") for c in stats["channels"])
