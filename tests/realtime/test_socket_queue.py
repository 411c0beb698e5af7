"""The Socket.IO message queue between real web processes a and b (db 1 of a private
redis-server): delivery across processes, per-room channels, local-first emits, and channels
that belong to one deployment. Counters come from each process's /_debug/socket-queue."""
from __future__ import annotations

import uuid

from tests.helpers.cluster import (
    Cluster,
    conversation,
    copies,
    join,
    send,
    settle,
    wait_until,
    with_content,
)

N_MESSAGES = 20


def _worker_emitter(redis_url: str):
    from web.app import _queue_emitter

    return _queue_emitter(redis_url)


def _fake_message(room_id: int, content: str) -> dict:
    return {"message": {"id": 0, "room_id": room_id, "seq": 0, "content": content,
                        "sender_type": "bot", "kind": "text"}}


def test_messages_cross_processes_both_ways_and_from_a_worker(cluster: Cluster) -> None:
    chat = conversation(cluster.api("a"))
    staff, staff_events = cluster.socket("a", chat.staff)
    customer, customer_events = cluster.socket("b", chat.customer)
    join(staff, chat.room_id)
    join(customer, chat.room_id)

    from_b = f"from b {uuid.uuid4().hex[:6]}"
    send(customer, chat.room_id, from_b)
    staff_events.wait_for("chat:new-message", with_content(from_b))

    from_a = f"from a {uuid.uuid4().hex[:6]}"
    send(staff, chat.room_id, from_a)
    customer_events.wait_for("chat:new-message", with_content(from_a))

    from_worker = f"from a worker {uuid.uuid4().hex[:6]}"
    _worker_emitter(cluster.redis_url)("chat:new-message",
                                       _fake_message(chat.room_id, from_worker),
                                       f"room:{chat.room_id}", None)
    staff_events.wait_for("chat:new-message", with_content(from_worker))
    customer_events.wait_for("chat:new-message", with_content(from_worker))

    # One copy each: the sender's own socket is served locally, never again from Redis.
    for recorder in (staff_events, customer_events):
        settle(recorder)
        for content in (from_a, from_b, from_worker):
            assert copies(recorder, "chat:new-message", content) == 1, (content, recorder.seen)


def test_a_process_with_no_socket_in_a_room_does_no_work_for_it(cluster: Cluster) -> None:
    chat = conversation(cluster.api("a"))
    staff, staff_events = cluster.socket("a", chat.staff)
    customer, customer_events = cluster.socket("a", chat.customer)
    join(staff, chat.room_id)
    join(customer, chat.room_id)
    # b holds a socket too, of someone outside the room: b is listening, just not to it.
    bystander = cluster.api("b").register(name="Bystander")
    _client, bystander_events = cluster.socket("b", bystander["access_token"])

    room_channel_suffix = f"#/realtime#room:{chat.room_id}"
    assert any(c.endswith(room_channel_suffix) for c in cluster.stats("a")["channels"])
    assert not any(c.endswith(room_channel_suffix) for c in cluster.stats("b")["channels"])
    a_before, b_before = cluster.counters("a"), cluster.counters("b")

    contents = [f"only on a {i} {uuid.uuid4().hex[:6]}" for i in range(N_MESSAGES)]
    for i, content in enumerate(contents):
        send(staff if i % 2 else customer, chat.room_id, content)
    for content in contents:
        staff_events.wait_for("chat:new-message", with_content(content))
        customer_events.wait_for("chat:new-message", with_content(content))
    # Redis has fanned out a's publications once a has read its own back.
    wait_until(lambda: cluster.counters("a")["own_skipped"] - a_before["own_skipped"]
               >= N_MESSAGES, what="a's own publications to come back")
    # A marker through b's own channel: b has read everything published before it.
    marker = f"marker {uuid.uuid4().hex[:6]}"
    _worker_emitter(cluster.redis_url)("notification:new", {"notification": {"title": marker}},
                                       f"user:{bystander['user']['id']}", None)
    bystander_events.wait_for("notification:new",
                              lambda d: d["notification"]["title"] == marker)

    a_after, b_after = cluster.counters("a"), cluster.counters("b")
    b_delta = {k: b_after[k] - b_before[k] for k in b_after}
    a_delta = {k: a_after[k] - a_before[k] for k in a_after}
    assert b_delta["received"] == 1, b_delta  # the marker, nothing of the room
    assert b_delta["remote_emits"] == 1, b_delta
    assert b_delta["remote_deliveries"] == 1, b_delta
    assert a_delta["local_emits"] >= N_MESSAGES, a_delta
    assert a_delta["local_deliveries"] >= 2 * N_MESSAGES, a_delta
    assert a_delta["published"] >= N_MESSAGES, a_delta


def test_the_sending_process_gets_no_copy_of_its_own_publications(cluster: Cluster) -> None:
    chat = conversation(cluster.api("b"))
    staff, staff_events = cluster.socket("b", chat.staff)
    customer, customer_events = cluster.socket("b", chat.customer)
    join(staff, chat.room_id)
    join(customer, chat.room_id)
    before = cluster.counters("b")

    contents = [f"local first {i} {uuid.uuid4().hex[:6]}" for i in range(5)]
    for content in contents:
        send(customer, chat.room_id, content)
    for content in contents:
        staff_events.wait_for("chat:new-message", with_content(content))
        customer_events.wait_for("chat:new-message", with_content(content))
    wait_until(lambda: cluster.counters("b")["own_skipped"] - before["own_skipped"]
               >= len(contents), what="b's publications to come back")
    after = cluster.counters("b")
    delta = {k: after[k] - before[k] for k in after}
    assert delta["remote_emits"] == 0, delta  # what came back was recognised as b's own
    assert delta["remote_deliveries"] == 0, delta
    assert delta["local_deliveries"] >= 2 * len(contents), delta
    settle(staff_events)
    for content in contents:
        assert copies(staff_events, "chat:new-message", content) == 1
        assert copies(customer_events, "chat:new-message", content) == 1


def test_a_deployment_hears_only_its_own_redis_database(cluster: Cluster) -> None:
    """a runs on db 1; a deployment on db 0 of the same redis-server publishes too."""
    customer = cluster.api("a").register(name="Isolated Customer")
    _client, events = cluster.socket("a", customer["access_token"])
    target = f"user:{customer['user']['id']}"
    other_deployment = _worker_emitter(cluster.redis.url(0))
    this_deployment = _worker_emitter(cluster.redis.url(1))

    def titles() -> list[str]:
        settle(events, 0)
        return [d["notification"]["title"] for name, d in events.seen
                if name == "notification:new"]

    for round_ in (1, 2):
        before = cluster.stats("a", strict=False).get("counters", {}).get("received", 0)
        other_deployment("notification:new", {"notification": {"title": f"db 0 #{round_}"}},
                         target, None)
        this_deployment("notification:new", {"notification": {"title": f"db 1 #{round_}"}},
                        target, None)
        events.wait_for("notification:new",
                        lambda d, r=round_: d["notification"]["title"] == f"db 1 #{r}")
        # Published after db 0's on the same server and read on the same connection: had
        # the db 0 message been heard, it would have come first.
        assert titles() == [f"db 1 #{r}" for r in range(1, round_ + 1)]
        assert cluster.counters("a")["received"] - before == 1
