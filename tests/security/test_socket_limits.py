"""Item 3: every socket event is rate limited per user, and joins per socket are capped."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.helpers.chat import ack, join, open_room


@contextmanager
def statements(app):
    """Count the SQL statements run meanwhile."""
    from models import db

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_join_flood_is_refused_past_the_limit_and_others_still_join(
        app, client, connect, shop, customer):
    from tests.factories import register

    limit = app.config["SETTINGS"].rate_limit_socket_events
    assert limit == "60/10 seconds"  # the default
    room = open_room(client, customer, shop.id)
    bystander = register(client)
    their_room = open_room(client, bystander, shop.id)
    flooder, other = connect(customer), connect(bystander)

    answers = [ack(flooder, "chat:join-room", {"room_id": room["id"]}) for _ in range(60)]
    assert all(a["ok"] for a in answers)
    with statements(app) as sql:
        refused = [ack(flooder, "chat:join-room", {"room_id": 10_000 + i}) for i in range(50)]
    assert sql == [], "a refused event touched the database"
    for answer in refused:
        assert answer["ok"] is False
        assert answer["error"]["code"] == "rate_limited"
        assert answer["error"]["retry_after"] >= 1

    assert join(other, their_room["id"])["room"]["id"] == their_room["id"]


@pytest.mark.parametrize("event_name, payload", [
    ("chat:leave-room", {"room_id": 1}),
    ("chat:typing", {"room_id": 1, "is_typing": True}),
    ("chat:read-messages", {"room_id": 1, "up_to_seq": 1}),
    ("auth:refresh", {"token": "x"}),
])
def test_every_event_counts_against_the_limit(app, client, connect, customer, monkeypatch,
                                              event_name: str, payload: dict):
    monkeypatch.setattr(app.config["SETTINGS"], "rate_limit_socket_events", "5/10 seconds")
    sock = connect(customer)
    codes = [ack(sock, event_name, payload) for _ in range(8)]
    assert [a.get("error", {}).get("code") == "rate_limited" for a in codes] == [False] * 5 + [
        True] * 3


def test_the_send_limit_stays_its_own(app, client, connect, shop, customer, monkeypatch):
    monkeypatch.setattr(app.config["SETTINGS"], "rate_limit_socket_events", "2/10 seconds")
    room = open_room(client, customer, shop.id)
    sock = connect(customer)
    for i in range(5):
        result = ack(sock, "chat:send-message", {"room_id": room["id"], "content": f"m{i}"})
        assert result["ok"] is True, result


def test_rooms_joined_by_one_socket_are_capped(app, client, connect, shop, customer, monkeypatch):
    from tests.factories import business

    settings = app.config["SETTINGS"]
    assert settings.max_rooms_per_socket == 200  # the default
    monkeypatch.setattr(settings, "max_rooms_per_socket", 2)
    rooms = [open_room(client, customer, shop.id)]
    for name in ("Second", "Third"):
        created, _ = business(client, name=name)
        rooms.append(open_room(client, customer, created["id"]))
    sock = connect(customer)
    join(sock, rooms[0]["id"])
    join(sock, rooms[1]["id"])
    join(sock, rooms[1]["id"])  # joining a room again is no new room
    with statements(app) as sql:
        result = ack(sock, "chat:join-room", {"room_id": rooms[2]["id"]})
    assert result["ok"] is False and result["error"]["code"] == "too_many_rooms", result
    assert sql == []
    assert ack(sock, "chat:leave-room", {"room_id": rooms[0]["id"]})["ok"] is True
    join(sock, rooms[2]["id"])
