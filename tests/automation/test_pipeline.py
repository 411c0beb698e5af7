"""The automation of customer messages: welcome, offline, FAQ, escalation, idempotency."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from actions import automation
from models import AuditLog, Message, Notification, Room, db
from tests import factories
from tests.helpers import NAMESPACE as NS
from web.extensions import socketio

WEEKDAYS_9_TO_17 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def _room(client, business, customer) -> int:
    response = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                           headers=customer.headers)
    return response.get_json()["room"]["id"]


def _send(client, room_id: int, account, text: str) -> dict:
    response = client.post(f"/api/chat/rooms/{room_id}/messages", json={"content": text},
                           headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["message"]


def _bot_messages(app, room_id: int) -> list[Message]:
    with app.app_context():
        rows = db.session.scalars(select(Message).where(
            Message.room_id == room_id, Message.sender_type == "bot").order_by(Message.seq))
        return [(m.kind, m.content, m.faq_id, m.confidence) for m in rows]


def _kinds(app, room_id: int) -> list[str]:
    return [kind for kind, *_ in _bot_messages(app, room_id)]


@pytest.fixture
def open_business(client):
    business, owner = factories.business(client, "Open Studio", hours=factories.ALWAYS_OPEN)
    return business, owner


@pytest.fixture
def staff_online(app, client, open_business):
    """A staff socket connected, so the business counts as attended."""
    _business, owner = open_business
    sock = socketio.test_client(app, namespace=NS, auth={"token": owner.access_token})
    assert sock.is_connected(NS)
    yield sock
    sock.disconnect(NS)


def test_welcome_goes_out_once_per_room(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    sock = socketio.test_client(app, namespace=NS, auth={"token": customer.access_token})
    sock.emit("chat:join-room", {"room_id": room_id}, namespace=NS, callback=True)

    _send(client, room_id, customer, "hello")
    _send(client, room_id, customer, "hello again")

    assert _kinds(app, room_id).count("welcome") == 1
    events = sock.get_received(NS)
    autos = [e["args"][0]["message"] for e in events if e["name"] == "chat:auto-response"]
    assert [m["kind"] for m in autos] == ["welcome"]
    news = [e["args"][0]["message"] for e in events if e["name"] == "chat:new-message"]
    assert any(m["kind"] == "welcome" and m["sender_type"] == "bot" for m in news)


def test_seqs_stay_gap_free_with_bot_messages(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    for text in ("hi", "how do I cancel my booking?", "thanks"):
        _send(client, room_id, customer, text)
    with app.app_context():
        seqs = list(db.session.scalars(select(Message.seq).where(Message.room_id == room_id)
                                       .order_by(Message.seq)))
        last_seq = db.session.get(Room, room_id).last_seq
    assert seqs == list(range(1, len(seqs) + 1))
    assert last_seq == len(seqs)


def test_faq_answer_is_posted_with_confidence(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    sock = socketio.test_client(app, namespace=NS, auth={"token": customer.access_token})
    sock.emit("chat:join-room", {"room_id": room_id}, namespace=NS, callback=True)

    _send(client, room_id, customer, "how can i cancel my appointment")

    faqs = [m for m in _bot_messages(app, room_id) if m[0] == "faq"]
    assert len(faqs) == 1
    _kind, _content, faq_id, confidence = faqs[0]
    assert faq_id is not None and 0.70 <= confidence <= 1
    answers = [e["args"][0]["message"] for e in sock.get_received(NS)
               if e["name"] == "chat:faq-response"]
    assert answers and answers[0]["faq_id"] == faq_id and answers[0]["confidence"] == confidence


def test_unanswered_question_escalates_and_staff_reply_reopens(app, client, open_business,
                                                               staff_online):
    business, owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    staff_online.get_received(NS)

    _send(client, room_id, customer, "can my dog wait inside while I get my fringe trimmed")

    with app.app_context():
        room = db.session.get(Room, room_id)
        assert room.status == "waiting_for_staff"
        entries = db.session.scalars(select(AuditLog).where(AuditLog.type == "chat.escalated"))
        assert [e.data["room_id"] for e in entries] == [room_id]
    assert "escalation" in _kinds(app, room_id)
    names = [e["name"] for e in staff_online.get_received(NS)]
    assert "chat:room-updated" in names

    _send(client, room_id, owner, "Yes, dogs are welcome!")
    with app.app_context():
        assert db.session.get(Room, room_id).status == "open"


def test_greeting_and_thanks_do_not_escalate(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    _send(client, room_id, customer, "hi!")
    _send(client, room_id, customer, "thank you so much :)")
    with app.app_context():
        assert db.session.get(Room, room_id).status == "open"
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0
    assert "escalation" not in _kinds(app, room_id)


def test_unknown_script_gets_no_answer_and_no_crash(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    _send(client, room_id, customer, "请问你们周末营业吗")
    kinds = _kinds(app, room_id)
    assert "faq" not in kinds
    with app.app_context():
        states = set(db.session.scalars(select(Message.automation_state).where(
            Message.room_id == room_id, Message.sender_type == "customer")))
    assert states == {"done"}


def _at(moment: datetime):
    """Travel to a moment; accounts sign in again there, so tokens are valid then."""
    return time_machine.travel(moment, tick=True)


def test_offline_reply_once_per_closed_period(app, client):
    # Friday 2026-11-27 20:00 London: closed until Monday 09:00.
    with _at(datetime(2026, 11, 27, 20, 0, tzinfo=UTC)):
        business, _owner = factories.business(client, "Weekday Studio",
                                              timezone="Europe/London", hours=WEEKDAYS_9_TO_17)
        customer = factories.register(client)
        room_id = _room(client, business, customer)
        _send(client, room_id, customer, "hello, are you there")
        _send(client, room_id, customer, "anyone?")
    with _at(datetime(2026, 11, 28, 11, 0, tzinfo=UTC)):
        customer = factories.login(client, customer.email)
        _send(client, room_id, customer, "still closed on saturday?")
    offline = [content for kind, content, *_ in _bot_messages(app, room_id) if kind == "offline"]
    assert len(offline) == 1
    assert "Monday 30 November at 09:00" in offline[0]
    # The next closed period (Monday evening) gets its own reply.
    with _at(datetime(2026, 11, 30, 18, 30, tzinfo=UTC)):
        customer = factories.login(client, customer.email)
        _send(client, room_id, customer, "back again after hours")
    assert _kinds(app, room_id).count("offline") == 2


def test_offline_reply_on_a_holiday(app, client):
    with _at(datetime(2026, 12, 25, 11, 0, tzinfo=UTC)):
        business, _owner = factories.business(client, "Holiday Studio",
                                              timezone="Europe/London", hours=WEEKDAYS_9_TO_17,
                                              holidays=["2026-12-25"])
        customer = factories.register(client)
        room_id = _room(client, business, customer)
        _send(client, room_id, customer, "are you open today")
    offline = [content for kind, content, *_ in _bot_messages(app, room_id) if kind == "offline"]
    assert len(offline) == 1 and "Monday 28 December at 09:00" in offline[0]


def test_offline_reply_when_open_but_no_staff_online(app, client, open_business):
    business, _owner = open_business  # no staff socket has ever connected
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    _send(client, room_id, customer, "is anyone there")
    _send(client, room_id, customer, "hello??")
    assert _kinds(app, room_id).count("offline") == 1
    # Nobody is there, so the offline reply is what the customer gets; the room still waits,
    # flagged, and the staff are notified for when they come back.
    assert "escalation" not in _kinds(app, room_id)
    _assert_waiting_and_notified(app, room_id)


def _assert_waiting_and_notified(app, room_id: int) -> None:
    with app.app_context():
        room = db.session.get(Room, room_id)
        assert room.status == "waiting_for_staff" and room.waiting_since is not None
        notes = list(db.session.scalars(select(Notification).where(
            Notification.type == "chat.escalated")))
        assert [n.data["room_id"] for n in notes] == [room_id]


def test_question_while_closed_waits_flagged_with_notification(app, client):
    # Friday 2026-11-27 20:00 London: closed until Monday 09:00.
    with _at(datetime(2026, 11, 27, 20, 0, tzinfo=UTC)):
        business, owner = factories.business(client, "Night Studio",
                                             timezone="Europe/London", hours=WEEKDAYS_9_TO_17)
        customer = factories.register(client)
        room_id = _room(client, business, customer)
        _send(client, room_id, customer, "can my dog wait inside while I get my fringe trimmed")
        _send(client, room_id, customer, "and can I pay with a voucher from another shop")
        assert _kinds(app, room_id).count("offline") == 1
        assert "escalation" not in _kinds(app, room_id)
        _assert_waiting_and_notified(app, room_id)  # one escalation per wait
    with _at(datetime(2026, 11, 30, 9, 30, tzinfo=UTC)):
        owner = factories.login(client, owner.email)
        _send(client, room_id, owner, "Good morning! Yes to both.")
        with app.app_context():
            assert db.session.get(Room, room_id).status == "open"


def test_small_talk_while_closed_does_not_escalate(app, client):
    with _at(datetime(2026, 11, 27, 20, 0, tzinfo=UTC)):
        business, _owner = factories.business(client, "Quiet Studio",
                                              timezone="Europe/London", hours=WEEKDAYS_9_TO_17)
        customer = factories.register(client)
        room_id = _room(client, business, customer)
        _send(client, room_id, customer, "hi!")
        with app.app_context():
            assert db.session.get(Room, room_id).status == "open"


def test_escalation_note_when_closed_without_an_offline_text(app, client):
    with _at(datetime(2026, 11, 27, 20, 0, tzinfo=UTC)):
        business, owner = factories.business(client, "Silent Studio",
                                             timezone="Europe/London", hours=WEEKDAYS_9_TO_17)
        listed = client.get("/api/chat/auto-responses?trigger=offline",
                            headers=owner.headers).get_json()["auto_responses"]
        for item in listed:
            client.delete(f"/api/chat/auto-responses/{item['id']}", headers=owner.headers)
        customer = factories.register(client)
        room_id = _room(client, business, customer)
        _send(client, room_id, customer, "can my dog wait inside while I get my fringe trimmed")
        kinds = _kinds(app, room_id)
        assert "offline" not in kinds and "escalation" in kinds
        _assert_waiting_and_notified(app, room_id)


def test_no_offline_reply_while_staff_online(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    _send(client, room_id, customer, "is anyone there")
    assert "offline" not in _kinds(app, room_id)


def test_running_the_task_twice_has_one_effect(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    message = _send(client, room_id, customer, "how do i cancel my booking")
    before = _bot_messages(app, room_id)
    with app.app_context():
        assert automation.process_customer_message(message["id"]) is False
        # Even with its state forced back (a crash after commit, a duplicate delivery),
        # the dedup keys keep every reply single.
        db.session.get(Message, message["id"]).automation_state = "pending"
        db.session.commit()
        assert automation.process_customer_message(message["id"]) is True
    assert _bot_messages(app, room_id) == before


def test_escalation_reminder_once_during_hours(app, client, open_business, staff_online):
    business, _owner = open_business
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    _send(client, room_id, customer, "can my dog wait inside while I get my fringe trimmed")
    with app.app_context():
        assert automation.remind_escalations() == 0  # not waited long enough
        later = datetime.now(UTC) + timedelta(minutes=16)
        assert automation.remind_escalations(now=later) == 1
        assert automation.remind_escalations(now=later) == 0
        reminders = db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.type == "chat.escalation_reminder"))
    assert reminders == 1


def test_a_business_without_faqs_escalates_without_running_the_encoder(
        app, client, open_business, staff_online, monkeypatch):
    from logic import faq_semantic
    from tests.helpers.chat import silence_bots

    business, _owner = open_business
    question = "how can i cancel my appointment"
    encoded: list[list[str]] = []  # the encoder's calls for customer messages
    real_embed = faq_semantic.embed

    def embed(texts):  # noqa: ANN001, ANN202
        if question in texts:
            encoded.append(list(texts))
        return real_embed(texts)

    monkeypatch.setattr(faq_semantic, "embed", embed)
    customer = factories.register(client)
    room_id = _room(client, business, customer)

    _send(client, room_id, customer, question)
    assert encoded == [[question]]  # the default FAQs are scored
    assert "faq" in _kinds(app, room_id)

    silence_bots(app, business["id"])  # every FAQ switched off
    other = factories.register(client)
    other_room = _room(client, business, other)
    _send(client, other_room, other, question)
    assert len(encoded) == 1  # nothing to match: the encoder is not run
    with app.app_context():
        assert db.session.get(Room, other_room).status == "waiting_for_staff"
        escalated = db.session.scalars(select(AuditLog).where(AuditLog.type == "chat.escalated"))
        assert other_room in [entry.data["room_id"] for entry in escalated]
