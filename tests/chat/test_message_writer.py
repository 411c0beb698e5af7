"""The group-committed send path: one transaction per batch, each send judged on its own."""
from __future__ import annotations

import threading

from sqlalchemy.exc import OperationalError

from infra import message_writer
from infra.message_writer import MessageWriter, PendingSend, StoredSend
from models.base import utcnow
from tests import factories
from tests.helpers.chat import (
    join,
    open_room,
    payloads,
    post_message,
    send,
    set_room_status,
    stored,
)


def pending(who, room_id: int, content: str, client_msg_id: str | None = None) -> PendingSend:
    return PendingSend(actor_id=who.id, is_staff=who.role in ("staff", "owner"),
                       business_id=who.business_id, room_id=room_id, content=content,
                       client_msg_id=client_msg_id, created_at=utcnow())


def test_one_batch_stores_what_it_may_and_refuses_the_rest(app, client, shop, other_shop,
                                                           customer):
    mine = open_room(client, customer, shop.id)
    closed = open_room(client, customer, other_shop.id)
    set_room_status(app, closed["id"], "closed")
    stranger = factories.register(client, name="Stranger")
    foreign = open_room(client, stranger, shop.id)
    send(client, customer, mine["id"], "first", client_msg_id="c-1")

    batch = [
        pending(customer, mine["id"], "second"),
        pending(customer, foreign["id"], "not my room"),
        pending(customer, closed["id"], "closed room"),
        pending(customer, mine["id"], "retry of first", client_msg_id="c-1"),
        pending(shop.staff, mine["id"], "staff answer"),
        pending(customer, mine["id"], "third", client_msg_id="c-2"),
        pending(customer, mine["id"], "same id again in the batch", client_msg_id="c-2"),
    ]
    with app.app_context():
        from models import db

        outcomes = MessageWriter(db.engine).store_batch(batch)

    refused = [i for i, outcome in enumerate(outcomes) if outcome is None]
    assert refused == [1, 2, 3, 6]
    stored_outcomes = [o for o in outcomes if isinstance(o, StoredSend)]
    # Sends into one room keep their arrival order within the batch.
    assert [o.seq for o in stored_outcomes] == [2, 3, 4]
    assert stored(app, mine["id"]) == [
        (mine["id"], 1, customer.id, "customer", "first"),
        (mine["id"], 2, customer.id, "customer", "second"),
        (mine["id"], 3, shop.staff.id, "staff", "staff answer"),
        (mine["id"], 4, customer.id, "customer", "third"),
    ]
    assert stored(app, foreign["id"]) == []
    assert stored(app, closed["id"]) == []


def test_a_staff_reply_in_a_batch_reopens_a_waiting_room(app, client, shop, customer):
    room = open_room(client, customer, shop.id)
    set_room_status(app, room["id"], "waiting_for_staff")
    with app.app_context():
        from models import db

        outcomes = MessageWriter(db.engine).store_batch([
            pending(shop.staff, room["id"], "on it"),
            pending(shop.staff, room["id"], "and again"),
        ])
    assert [o.reopened for o in outcomes] == [True, False]
    with app.app_context():
        from models import Room, db

        assert db.session.get(Room, room["id"]).status == "open"


def test_a_failed_batch_is_written_again_send_by_send(app, client, connect, shop, customer,
                                                      monkeypatch):
    room = open_room(client, customer, shop.id)
    watcher = connect(shop.staff)
    join(watcher, room["id"])
    payloads(watcher, "chat:new-message")  # what came before this test's send
    real = MessageWriter._store_all
    calls = []

    def fail_first(self, conn, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("connection lost"))
        return real(self, conn, batch)

    monkeypatch.setattr(MessageWriter, "_store_all", fail_first)
    response = post_message(client, customer, room["id"], {"content": "still here",
                                                           "client_msg_id": "x-1"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["message"]["seq"] == 1
    assert calls == [1, 1]
    assert stored(app, room["id"]) == [(room["id"], 1, customer.id, "customer", "still here")]
    assert [m["message"]["content"] for m in payloads(watcher, "chat:new-message")] == [
        "still here"]


def test_concurrent_senders_get_gap_free_seqs_each_stored_once(app, client, shop, customer):
    room = open_room(client, customer, shop.id)
    staff = [shop.staff] + [factories.staff(client, shop.owner) for _ in range(3)]
    from actions import messages
    from actions.actors import Actor

    errors: list[BaseException] = []

    def sender(account, n: int) -> None:
        actor = Actor(id=account.id, role=account.role, business_id=account.business_id,
                      name=account.name)
        try:
            with app.app_context():
                for i in range(n):
                    messages.send(actor, room["id"], f"{account.id}-{i}", f"{account.id}-{i}")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(who, 15)) for who in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    rows = stored(app, room["id"])
    assert [row[1] for row in rows] == list(range(1, 61))
    assert sorted(row[4] for row in rows) == sorted(f"{who.id}-{i}" for who in staff
                                                    for i in range(15))
    for who in staff:  # each sender's own messages in the order it sent them
        mine = [row[4] for row in rows if row[2] == who.id]
        assert mine == [f"{who.id}-{i}" for i in range(15)]


def test_writers_of_two_processes_share_rooms_without_deadlock_or_gaps(app, client, shop):
    # Each web process has its own writer and connection; their batches lock the same rooms.
    # Rooms are locked in id order whatever order the sends came in, so two batches never
    # wait on each other in a cycle, and each room's seqs stay gap-free.
    first, second = (open_room(client, factories.register(client, name=f"Customer {n}"),
                               shop.id) for n in range(2))
    errors: list[BaseException] = []

    def process(rooms: list[int], tag: str) -> None:
        try:
            with app.app_context():
                from models import db

                writer = MessageWriter(db.engine)
                for n in range(20):
                    batch = [pending(shop.staff, room, f"{tag}-{n}-{room}-{k}")
                             for room in rooms for k in range(2)]
                    assert all(writer.store_batch(batch))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=process, args=(order, tag)) for order, tag in (
        ([first["id"], second["id"]], "a"), ([second["id"], first["id"]], "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for room in (first, second):
        rows = stored(app, room["id"])
        assert [row[1] for row in rows] == list(range(1, 81))
        for tag in "ab":  # each process's sends into the room in the order it sent them
            mine = [row[4] for row in rows if row[4].startswith(tag)]
            assert mine == [f"{tag}-{n}-{room['id']}-{k}" for n in range(20) for k in range(2)]


def test_a_forked_process_gets_its_own_writer(app, monkeypatch):
    with app.app_context():
        from models import db

        first = message_writer.for_engine(db.engine)
        assert message_writer.for_engine(db.engine) is first
        monkeypatch.setattr(message_writer.os, "getpid", lambda: first.pid + 1)
        assert message_writer.for_engine(db.engine) is not first

