"""Typing indicators, presence:update, the connections monitor, and RedisPresence across
processes."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select

from infra.presence import RedisPresence, Socket
from tests import factories
from tests.helpers import NAMESPACE as NS
from tests.helpers.chat import drain, join, make_shop, ok, open_room, payloads, received, refused

# --- typing --------------------------------------------------------------------------------------


@pytest.fixture
def room(client, shop, customer) -> dict:
    return open_room(client, customer, shop.id)


@pytest.fixture
def typing_room(connect, shop, room, customer):
    """The customer, the staff member and the owner, all in the room; inboxes empty."""
    socks = {"customer": connect(customer), "staff": connect(shop.staff),
             "owner": connect(shop.owner)}
    for sock in socks.values():
        join(sock, room["id"])
    drain(*socks.values())
    return socks


def typing(sock, room_id: int, is_typing: bool) -> dict:
    return ok(sock, "chat:typing", {"room_id": room_id, "is_typing": is_typing})


def test_typing_reaches_the_room_except_the_typist(app, client, connect, shop, room, customer,
                                                   typing_room):
    not_joined = connect(factories.staff(client, shop.owner))
    drain(not_joined)

    assert typing(typing_room["customer"], room["id"], True) == {"ok": True, "throttled": False}

    expected = {"room_id": room["id"], "user_id": customer.id, "name": customer.name,
                "is_typing": True,
                "expires_in_ms": app.config["SETTINGS"].typing_expiry_ms}
    assert payloads(typing_room["staff"], "chat:user-typing") == [expected]
    assert payloads(typing_room["owner"], "chat:user-typing") == [expected]
    assert received(typing_room["customer"]) == []
    assert received(not_joined) == []


def test_a_second_is_typing_within_the_interval_is_throttled(monkeypatch, room, typing_room):
    # A long interval stands in for "within 1 s", so the test cannot race the clock.
    monkeypatch.setattr("web.chat_socket.TYPING_MIN_INTERVAL", 3600.0)
    staff, watcher = typing_room["staff"], typing_room["customer"]

    assert typing(staff, room["id"], True)["throttled"] is False
    assert typing(staff, room["id"], True)["throttled"] is True
    assert [p["is_typing"] for p in payloads(watcher, "chat:user-typing")] == [True]

    # Stopping is always relayed, throttle or not.
    assert typing(staff, room["id"], False)["throttled"] is False
    assert typing(staff, room["id"], False)["throttled"] is False
    assert [p["is_typing"] for p in payloads(watcher, "chat:user-typing")] == [False, False]


def test_typing_is_relayed_again_once_the_interval_has_passed(monkeypatch, room, typing_room):
    monkeypatch.setattr("web.chat_socket.TYPING_MIN_INTERVAL", 0.0)
    for _ in range(3):
        typing(typing_room["owner"], room["id"], True)
    assert len(payloads(typing_room["staff"], "chat:user-typing")) == 3


def test_the_throttle_is_per_typist(monkeypatch, room, typing_room):
    monkeypatch.setattr("web.chat_socket.TYPING_MIN_INTERVAL", 3600.0)
    typing(typing_room["staff"], room["id"], True)
    assert typing(typing_room["owner"], room["id"], True)["throttled"] is False
    assert len(payloads(typing_room["customer"], "chat:user-typing")) == 2


def test_typing_in_a_room_not_joined_is_refused(connect, shop, room, typing_room):
    outsider = connect(shop.owner)
    error = refused(outsider, "chat:typing", {"room_id": room["id"], "is_typing": True})
    assert error["code"] == "not_joined"

    ok(typing_room["staff"], "chat:leave-room", {"room_id": room["id"]})
    assert refused(typing_room["staff"], "chat:typing",
                   {"room_id": room["id"], "is_typing": True})["code"] == "not_joined"
    assert received(typing_room["customer"]) == []


def test_a_malformed_typing_event_is_refused(room, typing_room):
    for payload in ({"is_typing": True}, {"room_id": "x", "is_typing": True},
                    {"room_id": room["id"], "is_typing": "yes"},
                    {"room_id": room["id"], "is_typing": "true"},
                    {"room_id": room["id"], "is_typing": None},
                    {"room_id": room["id"]}, "typing", None):
        error = refused(typing_room["customer"], "chat:typing", payload)
        assert error["code"] == "invalid_input", payload
    assert received(typing_room["staff"]) == []


# --- presence ------------------------------------------------------------------------------------


def last_seen(app, user_id: int) -> datetime | None:
    from models import User, db

    with app.app_context():
        return db.session.scalar(select(User.last_seen_at).where(User.id == user_id))


def presence_events(sock) -> list[dict]:
    return payloads(sock, "presence:update")


def test_staff_presence_goes_to_the_business_on_first_and_last_socket(app, connect, shop,
                                                                      other_shop):
    watcher, outsider = connect(shop.owner), connect(other_shop.owner)
    drain(watcher, outsider)
    assert last_seen(app, shop.staff.id) is None

    first = connect(shop.staff)
    [online] = presence_events(watcher)
    assert (online["user_id"], online["online"]) == (shop.staff.id, True)
    assert datetime.fromisoformat(online["last_seen_at"]).tzinfo is not None
    assert last_seen(app, shop.staff.id) is not None

    second = connect(shop.staff)
    assert presence_events(watcher) == []  # already online
    second.disconnect(NS)
    assert presence_events(watcher) == []  # still online on the first socket

    first.disconnect(NS)
    [offline] = presence_events(watcher)
    assert (offline["user_id"], offline["online"]) == (shop.staff.id, False)
    assert datetime.fromisoformat(offline["last_seen_at"]) >= datetime.fromisoformat(
        online["last_seen_at"])
    assert presence_events(outsider) == []


def test_customer_presence_goes_to_the_businesses_they_talk_to(app, client, connect, shop,
                                                               other_shop, customer):
    unrelated = make_shop(app, client, "Unrelated")
    open_room(client, customer, shop.id)
    open_room(client, customer, other_shop.id)
    watchers = {s.id: connect(s.staff) for s in (shop, other_shop, unrelated)}
    drain(*watchers.values())

    sock = connect(customer)
    for business_id in (shop.id, other_shop.id):
        [event] = presence_events(watchers[business_id])
        assert (event["user_id"], event["online"]) == (customer.id, True)
    assert presence_events(watchers[unrelated.id]) == []
    assert last_seen(app, customer.id) is not None

    sock.disconnect(NS)
    for business_id in (shop.id, other_shop.id):
        [event] = presence_events(watchers[business_id])
        assert (event["user_id"], event["online"]) == (customer.id, False)
    assert presence_events(watchers[unrelated.id]) == []


def test_connections_monitor_counts_sockets(client, connect, shop, other_shop, customer):
    connect(shop.owner)
    connect(shop.staff)
    connect(shop.staff)
    connect(customer)
    connect(other_shop.staff)

    response = client.get("/api/monitoring/connections", headers=shop.owner.headers)

    assert response.status_code == 200
    assert response.get_json() == {"total": 5, "business": 3,
                                   "online_user_ids": sorted([shop.owner.id, shop.staff.id])}
    other = client.get("/api/monitoring/connections", headers=other_shop.owner.headers)
    assert other.get_json() == {"total": 5, "business": 1,
                                "online_user_ids": [other_shop.staff.id]}


def test_connections_monitor_is_for_owners_only(client, shop, customer):
    assert client.get("/api/monitoring/connections", headers=shop.staff.headers).status_code == 403
    assert client.get("/api/monitoring/connections", headers=customer.headers).status_code == 403
    assert client.get("/api/monitoring/connections").status_code == 401


# --- RedisPresence across processes --------------------------------------------------------------


@pytest.fixture
def redis_client(redis_server):
    import redis

    return redis.Redis.from_url(redis_server)


@pytest.fixture
def processes(redis_client):
    """Two web processes' presence stores on one Redis, under a key prefix of their own."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    yield RedisPresence(redis_client, prefix), RedisPresence(redis_client, prefix)
    for key in redis_client.scan_iter(f"{prefix}*"):
        redis_client.delete(key)


EXP = 4_102_444_800  # a token expiry far ahead


def sock(sid: str, user_id: int, business_id: int | None = None) -> Socket:
    return Socket(sid, user_id, business_id, f"jti-{sid}")


def test_a_user_is_online_while_any_process_holds_a_socket(processes):
    a, b = processes
    assert a.connect(sock("a1", 7, 1), EXP) is True  # first socket anywhere
    assert b.connect(sock("b1", 7, 1), EXP) is False
    assert a.connect(sock("a2", 7, 1), EXP) is False
    assert a.is_online(7) and b.is_online(7)

    assert a.disconnect("a1") == (sock("a1", 7, 1), False)
    assert b.disconnect("b1") == (sock("b1", 7, 1), False)
    assert b.is_online(7)
    assert a.disconnect("a2") == (sock("a2", 7, 1), True)  # the last one, wherever it was
    assert not a.is_online(7) and not b.is_online(7)
    assert a.disconnect("a2") is None
    assert b.disconnect("a1") is None  # a process forgets only its own sockets


def test_counts_and_online_users_span_processes(processes):
    a, b = processes
    a.connect(sock("a1", 1, 10), EXP)
    b.connect(sock("b1", 2, 10), EXP)
    b.connect(sock("b2", 2, 10), EXP)
    a.connect(sock("a3", 3, 20), EXP)
    a.connect(sock("a4", 4), EXP)  # a customer: no business

    assert a.count() == b.count() == 5
    assert b.count(10) == 3
    assert a.online_user_ids(10) == [1, 2]
    assert b.online_user_ids() == [1, 2, 3, 4]
    assert a.any_online([99, 3]) and not a.any_online([99, 98]) and not a.any_online([])
    assert sorted(a.sids_for_token("jti-b2")) == ["b2"]


def test_heartbeat_sweeps_a_dead_process_and_returns_who_went_offline(processes, redis_client):
    alive, dead = processes
    dead.connect(sock("d1", 1, 10), EXP)  # only on the dead process
    dead.connect(sock("d2", 1, 10), EXP)
    dead.connect(sock("d3", 2, 10), EXP)  # also connected to the live process
    alive.connect(sock("l1", 2, 10), EXP)
    dead.connect(sock("d4", 3), EXP)  # a customer, only on the dead process

    assert alive.heartbeat() == []  # nobody died yet
    redis_client.delete(f"{dead.p}alive:{dead.proc}")  # its heartbeat expired

    gone = alive.heartbeat()

    assert sorted(s.user_id for s in gone) == [1, 3]
    assert {s.sid for s in gone} <= {"d1", "d2", "d4"}
    assert not alive.is_online(1) and not alive.is_online(3)
    assert alive.is_online(2)
    assert alive.count() == 1
    assert alive.online_user_ids(10) == [2]
    assert alive.sids_for_token("jti-d1") == []
    assert alive.heartbeat() == []  # swept once


def test_close_forgets_this_process_only(processes):
    a, b = processes
    a.connect(sock("a1", 1, 10), EXP)
    b.connect(sock("b1", 2, 10), EXP)
    a.close()
    assert not b.is_online(1)
    assert b.is_online(2)
    assert b.count() == 1
