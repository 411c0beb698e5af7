"""The automation locks a room only when it posts in it or changes it, so that sends into a
running conversation never wait for a worker."""
from __future__ import annotations

import threading

import psycopg2
import pytest
from sqlalchemy import select

from actions import automation
from models import Message, Room, db
from tests import factories
from workers import task_names

UNANSWERED = "can i bring my pet iguana along to the session"  # no default FAQ answers it


@pytest.fixture
def business(client) -> dict:
    business, _owner = factories.business(client, "Open Studio", hours=factories.ALWAYS_OPEN)
    return business


@pytest.fixture(autouse=True)
def no_worker(app, monkeypatch) -> None:
    """The automation runs only when a test calls it."""
    for name in (task_names.PROCESS_CUSTOMER_MESSAGES, task_names.PROCESS_CUSTOMER_MESSAGE):
        monkeypatch.setattr(app.extensions["celery"].tasks[name], "apply_async",
                            lambda *args, **kwargs: None)


def _room(client, business: dict):
    customer = factories.register(client)
    room = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                       headers=customer.headers).get_json()["room"]
    return customer, room["id"]


def _send(client, customer, room_id: int, text: str) -> int:
    response = client.post(f"/api/chat/rooms/{room_id}/messages", json={"content": text},
                           headers=customer.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["message"]["id"]


def _run(app, message_id: int) -> int:
    with app.app_context():
        return automation.process_customer_messages([message_id])


def _state(app, message_id: int) -> str:
    with app.app_context():
        return db.session.get(Message, message_id).automation_state


def _status(app, room_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(Room.status).where(Room.id == room_id))


class RoomLock:
    """Another connection holding the room's row locked, as a send does while it commits."""

    def __init__(self, database_url: str, room_id: int) -> None:
        self._conn = psycopg2.connect(database_url.replace("+psycopg2", ""))
        self._conn.cursor().execute("SELECT id FROM rooms WHERE id = %s FOR UPDATE", (room_id,))

    def release(self) -> None:
        self._conn.rollback()
        self._conn.close()


def _in_background(app, message_id: int) -> threading.Thread:
    thread = threading.Thread(target=_run, args=(app, message_id), daemon=True)
    thread.start()
    return thread


@pytest.fixture
def postgres(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    return database_url


def test_a_question_in_a_waiting_room_is_automated_while_a_send_holds_the_room(
        app, client, business, postgres):
    customer, room_id = _room(client, business)
    assert _run(app, _send(client, customer, room_id, UNANSWERED)) == 1  # welcome + escalation
    assert _status(app, room_id) == "waiting_for_staff"
    later = _send(client, customer, room_id, "and may my iguana sit on the chair next to me")
    lock = RoomLock(postgres, room_id)
    try:
        worker = _in_background(app, later)
        worker.join(timeout=15)
        assert not worker.is_alive(), "the automation waited for the room's lock"
        assert _state(app, later) == "done"
    finally:
        lock.release()


def test_a_question_that_escalates_waits_for_the_room_and_then_escalates(
        app, client, business, postgres):
    customer, room_id = _room(client, business)
    assert _run(app, _send(client, customer, room_id, "hello")) == 1  # welcome only
    assert _status(app, room_id) == "open"
    question = _send(client, customer, room_id, UNANSWERED)
    lock = RoomLock(postgres, room_id)
    try:
        worker = _in_background(app, question)
        worker.join(timeout=1.5)
        assert worker.is_alive(), "the escalation changed the room without locking it"
    finally:
        lock.release()
    worker.join(timeout=15)
    assert not worker.is_alive()
    assert _state(app, question) == "done"
    assert _status(app, room_id) == "waiting_for_staff"


def test_a_change_to_a_room_the_batch_did_not_lock_fails_the_batch(
        app, client, business, monkeypatch):
    customer, room_id = _room(client, business)
    message_id = _send(client, customer, room_id, UNANSWERED)
    monkeypatch.setattr(automation, "_changes_room", lambda *args: False)
    with pytest.raises(RuntimeError, match="did not lock"):
        _run(app, message_id)
    assert _state(app, message_id) == "pending"
    assert _status(app, room_id) == "open"
