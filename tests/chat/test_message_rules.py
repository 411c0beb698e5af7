"""One table of cases through every path that writes a message: a text send (the group
commit: one statement per batch on PostgreSQL, send by send on SQLite), a send among others
in one batch, a message with an attachment (the session's transaction), and bot replies.
Each path must agree with the table, and the rules' Python functions (actions.message_rules)
must agree with it too."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from actions import message_rules as rules
from models import Message, Participant, Room, db
from tests import factories
from tests.helpers.chat import make_shop, open_room, post_message, staff_room

UPLOAD = "/api/chat/attachments"


@dataclass(frozen=True)
class Case:
    name: str
    sender: str  # customer, other_customer, staff, other_staff (another business), member,
    #              outsider (staff, not a member), bot
    room: str  # customer or staff
    status: str  # the room's status before the write
    stored: bool
    automation_state: str | None = None  # of the stored message
    status_after: str | None = None  # the room's status after the write
    refusal: int | None = None  # the HTTP status of a refused send

    def __str__(self) -> str:
        return self.name


CASES = [
    Case("customer, own room", "customer", "customer", "open", True, "pending", "open"),
    Case("customer, own waiting room", "customer", "customer", "waiting_for_staff", True,
         "pending", "waiting_for_staff"),
    Case("customer, own closed room", "customer", "customer", "closed", False, refusal=409),
    Case("customer, another customer's room", "other_customer", "customer", "open", False,
         refusal=404),
    Case("customer, a staff room", "customer", "staff", "open", False, refusal=404),
    Case("staff, customer room", "staff", "customer", "open", True, "none", "open"),
    Case("staff reply reopens a waiting room", "staff", "customer", "waiting_for_staff", True,
         "none", "open"),
    Case("staff, closed customer room", "staff", "customer", "closed", False, refusal=409),
    Case("staff of another business", "other_staff", "customer", "open", False, refusal=404),
    Case("member of a staff room", "member", "staff", "open", True, "none", "open"),
    Case("staff who is not a member", "outsider", "staff", "open", False, refusal=404),
    Case("bot, customer room", "bot", "customer", "open", True, "none", "open"),
    Case("bot does not reopen a waiting room", "bot", "customer", "waiting_for_staff", True,
         "none", "waiting_for_staff"),
    Case("bot, staff room", "bot", "staff", "open", True, "none", "open"),
]
HUMAN_PATHS = ["text", "batch", "attachment"]


@dataclass
class World:
    app: object
    client: object
    accounts: dict
    rooms: dict  # customer / staff -> room id


@pytest.fixture
def world(app, client) -> World:
    shop = make_shop(app, client, "Salon")
    other = make_shop(app, client, "Clinic")
    customer = factories.register(client, name="Carla")
    accounts = {
        "customer": customer,
        "other_customer": factories.register(client, name="Olga"),
        "staff": shop.staff,
        "member": shop.staff,
        "outsider": shop.owner,
        "other_staff": other.staff,
    }
    customer_room = open_room(client, customer, shop.id)["id"]
    made = staff_room(client, shop.staff, [shop.colleague.id], name="Rota", expect=201)
    return World(app, client, accounts,
                 {"customer": customer_room, "staff": made.get_json()["room"]["id"]})


def _set_status(world: World, room_id: int, status: str) -> None:
    with world.app.app_context():
        db.session.execute(update(Room).where(Room.id == room_id).values(
            status=status,
            waiting_since=datetime.now(UTC) if status == "waiting_for_staff" else None))
        db.session.commit()


def _room(world: World, room_id: int) -> tuple[int, str]:
    with world.app.app_context():
        room = db.session.get(Room, room_id)
        return room.last_seq, room.status


def _message(world: World, message_id: int) -> Message:
    with world.app.app_context():
        message = db.session.get(Message, message_id)
        db.session.expunge(message)
        return message


def _attachment(world: World, account) -> int:
    response = world.client.post(
        UPLOAD, headers=account.headers, content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"booking notes\n" * 4), "notes.txt", "text/plain")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["attachment"]["id"]


def _write_as_person(world: World, case: Case, path: str, room_id: int) -> int | None:
    """Write by ``path``; the stored message's id, or None if it was refused."""
    account = world.accounts[case.sender]
    if path == "batch":
        return _write_in_a_batch(world, case, room_id)
    body: dict = {"content": f"{case.name} by {path}"}
    if path == "attachment":
        body["attachment_ids"] = [_attachment(world, account)]
    response = post_message(world.client, account, room_id, body)
    if not case.stored:
        assert response.status_code == case.refusal, response.get_json()
        return None
    assert response.status_code == 201, response.get_json()
    return response.get_json()["message"]["id"]


def _write_in_a_batch(world: World, case: Case, room_id: int) -> int | None:
    """The case's send in one batch with another send (into the other room), as the
    group commit stores sends that arrive together."""
    from infra import message_writer

    account = world.accounts[case.sender]
    other_room = world.rooms["staff" if room_id == world.rooms["customer"] else "customer"]

    def item(actor, room: int, content: str) -> message_writer.PendingSend:
        sending = message_writer.PendingSend(
            actor_id=actor.id, is_staff=actor.role in ("staff", "owner"),
            business_id=actor.business_id, room_id=room, content=content, client_msg_id=None,
            created_at=datetime.now(UTC))
        sending.finish()  # not waited on: stored directly
        return sending

    with world.app.app_context():
        writer = message_writer.for_engine(db.engine)
        outcomes = writer.store_batch([item(world.accounts["staff"], other_room, "alongside"),
                                       item(account, room_id, f"{case.name} in a batch")])
    return None if outcomes[1] is None else outcomes[1].id


def _write_as_bot(world: World, room_id: int) -> int:
    from actions.bot_replies import BotReplies
    from infra import tx

    with world.app.app_context():
        room = db.session.get(Room, room_id)
        replies = BotReplies([room], datetime.now(UTC))
        replies.post(room, "welcome", "Welcome!", "welcome")
        posted = replies.flush()
        tx.commit()
        return posted[0]["id"]


def _rules_say(world: World, case: Case, room_id: int) -> tuple[bool, str, bool]:
    """What the rules' Python functions decide: (stored, automation state, reopens)."""
    with world.app.app_context():
        room = db.session.get(Room, room_id)
        if case.sender == "bot":
            sender_type, allowed, is_staff = "bot", True, False
        else:
            account = world.accounts[case.sender]
            is_staff = account.role in ("staff", "owner")
            sender_type = "staff" if is_staff else "customer"
            is_member = bool(db.session.scalar(select(Participant.is_member).where(
                Participant.room_id == room_id, Participant.user_id == account.id)))
            allowed = rules.can_see(is_staff, account.id, account.business_id, room, is_member)
        stored = allowed and rules.writable(room.status)
        return (stored, str(rules.automation_state(room.type, sender_type)),
                rules.reopens(room.type, room.status, is_staff))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_write_path_follows_the_rules(world: World, case: Case, monkeypatch) -> None:
    from infra import jobs

    # The automation would run in-process at once and move the state on: record instead.
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_item", lambda _task, item_id: enqueued.append(item_id))
    room_id = world.rooms[case.room]
    paths = ["bot"] if case.sender == "bot" else HUMAN_PATHS
    for path in paths:
        _set_status(world, room_id, case.status)
        stored, state, reopens = _rules_say(world, case, room_id)
        assert stored == case.stored, f"{path}: rules.can_see/writable"
        if stored:
            assert state == case.automation_state, f"{path}: rules.automation_state"
            assert reopens == (case.status_after != case.status), f"{path}: rules.reopens"
        seq_before, _ = _room(world, room_id)
        if path == "bot":
            message_id = _write_as_bot(world, room_id)
        else:
            message_id = _write_as_person(world, case, path, room_id)
        seq_after, status_after = _room(world, room_id)
        if not case.stored:
            assert message_id is None, path
            assert (seq_after, status_after) == (seq_before, case.status), path
            continue
        assert message_id is not None, path
        message = _message(world, message_id)
        assert (message.room_id, message.seq) == (room_id, seq_after), path
        assert seq_after == seq_before + 1, path
        assert message.automation_state == case.automation_state, path
        if path in ("text", "attachment"):  # the send action hands pending ones to the workers
            assert (message_id in enqueued) == (case.automation_state == "pending"), path
        assert status_after == case.status_after, path
