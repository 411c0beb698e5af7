"""Suggestions below the threshold, picking one, and feedback on the bot's answers."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import FaqProposal, Message, Notification, Room, db
from tests import factories
from tests.helpers import NAMESPACE as NS
from web.extensions import socketio

CANCEL = "how can i cancel my appointment"  # answered by the default cancel FAQ
UNKNOWN = "can my dog wait inside while I get my fringe trimmed"


def _set(client, business: dict, owner, **fields) -> None:
    response = client.put(f"/api/businesses/{business['id']}", json=fields,
                          headers=owner.headers)
    assert response.status_code == 200, response.get_json()


def _room(client, business: dict, customer) -> int:
    response = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                           headers=customer.headers)
    return response.get_json()["room"]["id"]


def _sock(app, account, room_id: int | None = None):
    sock = socketio.test_client(app, namespace=NS, auth={"token": account.access_token})
    assert sock.is_connected(NS)
    if room_id is not None:
        ack = sock.emit("chat:join-room", {"room_id": room_id}, namespace=NS, callback=True)
        assert ack["ok"], ack
    return sock


def _send(sock, room_id: int, text: str) -> dict:
    ack = sock.emit("chat:send-message", {"room_id": room_id, "content": text},
                    namespace=NS, callback=True)
    assert ack["ok"], ack
    return ack["message"]


def _received(sock, name: str) -> list[dict]:
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


def _state(app, room_id: int) -> tuple:
    """Everything a refused call must leave as it was."""
    with app.app_context():
        room = db.session.get(Room, room_id)
        messages = db.session.execute(select(Message.id, Message.kind, Message.feedback).where(
            Message.room_id == room_id).order_by(Message.seq)).all()
        proposals = db.session.scalar(select(func.count()).select_from(FaqProposal))
        return room.status, room.last_seq, tuple(messages), proposals


@pytest.fixture
def studio(app, client):
    """A business open around the clock with an owner online; nothing reaches its threshold,
    so every question with any evidence gets suggestions."""
    business, owner = factories.business(client, "Suggesting Studio",
                                         hours=factories.ALWAYS_OPEN)
    _set(client, business, owner, faq_threshold=1.0, suggestion_floor=0.0)
    staff_sock = _sock(app, owner)
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    sock = _sock(app, customer, room_id)
    yield business, owner, customer, room_id, sock, staff_sock
    staff_sock.disconnect(NS)
    sock.disconnect(NS)


def _suggested(studio) -> tuple[dict, dict]:
    _business, _owner, _customer, room_id, sock, _staff = studio
    question = _send(sock, room_id, CANCEL)
    (event,) = _received(sock, "chat:faq-suggestions")
    return question, event


def test_question_under_the_threshold_gets_up_to_three_suggestions(app, studio):
    question, event = _suggested(studio)
    room_id = studio[3]
    assert event["room_id"] == room_id and event["message_id"] == question["id"]
    assert 1 <= len(event["suggestions"]) <= 3
    assert set(event["suggestions"][0]) == {"faq_id", "question", "confidence"}
    assert "cancel" in event["suggestions"][0]["question"].lower()
    with app.app_context():
        stored = db.session.get(Message, question["id"])
        assert stored.suggestions == event["suggestions"] and stored.outcome == "suggested"
        # Suggestions do not delay the escalation.
        assert db.session.get(Room, room_id).status == "waiting_for_staff"
        kinds = set(db.session.scalars(select(Message.kind).where(Message.room_id == room_id)))
    assert "faq" not in kinds


def test_no_suggestions_under_the_floor_and_none_above_the_threshold(app, client, studio):
    business, owner, _customer, room_id, sock, _staff = studio
    _set(client, business, owner, suggestion_floor=1.0)
    _send(sock, room_id, CANCEL)
    assert _received(sock, "chat:faq-suggestions") == []
    _set(client, business, owner, faq_threshold=0.7, suggestion_floor=0.0)
    _send(sock, room_id, "how do I cancel my booking")
    events = sock.get_received(NS)
    assert [e for e in events if e["name"] == "chat:faq-suggestions"] == []
    assert any(e["name"] == "chat:faq-response" for e in events)


def test_pick_posts_the_answer_marked_as_picked(app, studio):
    question, event = _suggested(studio)
    _business, _owner, _customer, room_id, sock, _staff = studio
    choice = event["suggestions"][0]
    ack = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                             "faq_id": choice["faq_id"]},
                    namespace=NS, callback=True)
    assert ack["ok"], ack
    posted = ack["message"]
    assert posted["kind"] == "faq" and posted["sender_type"] == "bot"
    assert posted["picked"] is True and posted["faq_id"] == choice["faq_id"]
    assert posted["reply_to_id"] == question["id"] and posted["feedback"] is None
    assert posted["confidence"] == choice["confidence"]
    assert [m["message"]["id"] for m in _received(sock, "chat:faq-response")] == [posted["id"]]
    # Picking it again is answered with the same message; nothing more is posted.
    again = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                               "faq_id": choice["faq_id"]},
                      namespace=NS, callback=True)
    assert again["ok"] and again["message"]["id"] == posted["id"]
    before = _state(app, room_id)
    if len(event["suggestions"]) > 1:
        other = sock.emit("chat:pick-suggestion", {
            "room_id": room_id, "message_id": question["id"],
            "faq_id": event["suggestions"][1]["faq_id"]}, namespace=NS, callback=True)
        assert other["error"]["code"] == "already_picked"
    assert _state(app, room_id) == before
    with app.app_context():
        seqs = list(db.session.scalars(select(Message.seq).where(Message.room_id == room_id)
                                       .order_by(Message.seq)))
    assert seqs == list(range(1, len(seqs) + 1))


def test_pick_of_an_faq_not_suggested_or_of_another_business_is_refused(app, client, studio):
    question, event = _suggested(studio)
    _business, owner, _customer, room_id, sock, _staff = studio
    suggested = {s["faq_id"] for s in event["suggestions"]}
    own = client.get("/api/chat/faqs", headers=owner.headers).get_json()["faqs"]
    not_suggested = next(f["id"] for f in own if f["id"] not in suggested)
    _other_business, other_owner = factories.business(client, "Other Studio")
    foreign = client.get("/api/chat/faqs", headers=other_owner.headers).get_json()["faqs"][0]
    before = _state(app, room_id)
    for faq_id in (not_suggested, foreign["id"]):
        ack = sock.emit("chat:pick-suggestion", {"room_id": room_id,
                                                 "message_id": question["id"],
                                                 "faq_id": faq_id}, namespace=NS, callback=True)
        assert ack == {"ok": False, "error": ack["error"]}
        assert ack["error"]["code"] == "not_suggested"
    assert _state(app, room_id) == before


def test_pick_by_anyone_but_the_customer_is_refused(app, client, studio):
    question, event = _suggested(studio)
    _business, owner, _customer, room_id, _customer_sock, staff_sock = studio
    payload = {"room_id": room_id, "message_id": question["id"],
               "faq_id": event["suggestions"][0]["faq_id"]}
    stranger = _sock(app, factories.register(client))
    _other, other_owner = factories.business(client, "Nosy Studio")
    nosy = _sock(app, other_owner)
    before = _state(app, room_id)
    assert staff_sock.emit("chat:pick-suggestion", payload, namespace=NS,
                           callback=True)["error"]["code"] == "forbidden"
    for sock in (stranger, nosy):
        ack = sock.emit("chat:pick-suggestion", payload, namespace=NS, callback=True)
        assert ack["error"]["code"] == "not_found"
        ack = sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": 1,
                                                 "helpful": True}, namespace=NS, callback=True)
        assert ack["error"]["code"] == "not_found"
        sock.disconnect(NS)
    assert _state(app, room_id) == before


def _pick(studio) -> tuple[dict, dict]:
    question, event = _suggested(studio)
    room_id, sock = studio[3], studio[4]
    ack = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                             "faq_id": event["suggestions"][0]["faq_id"]},
                    namespace=NS, callback=True)
    assert ack["ok"], ack
    return question, ack["message"]


def test_helpful_pick_reopens_the_room_and_proposes_the_question(app, studio):
    question, answer = _pick(studio)
    room_id, sock = studio[3], studio[4]
    with app.app_context():
        assert db.session.get(Room, room_id).status == "waiting_for_staff"
    ack = sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": answer["id"],
                                             "helpful": True}, namespace=NS, callback=True)
    assert ack["ok"] and ack["proposed"] is True and ack["escalated"] is False
    with app.app_context():
        assert db.session.get(Room, room_id).status == "open"
        (proposal,) = db.session.scalars(select(FaqProposal))
        assert (proposal.faq_id, proposal.question, proposal.source_message_id) == (
            answer["faq_id"], CANCEL, question["id"])
        assert db.session.get(Message, answer["id"]).feedback == "helpful"
    # Once per answer: a second verdict changes nothing.
    before = _state(app, room_id)
    again = sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": answer["id"],
                                               "helpful": False}, namespace=NS, callback=True)
    assert again["error"]["code"] == "feedback_given"
    assert _state(app, room_id) == before


def test_feedback_on_a_message_that_is_not_a_bot_answer_is_refused(app, studio):
    question, _event = _suggested(studio)
    room_id, sock = studio[3], studio[4]
    before = _state(app, room_id)
    with app.app_context():
        note = db.session.scalar(select(Message.id).where(
            Message.room_id == room_id, Message.kind == "escalation"))
    for message_id in (question["id"], note):
        ack = sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": message_id,
                                                 "helpful": True}, namespace=NS, callback=True)
        assert ack["error"]["code"] == "not_an_answer"
    for bad in ({"room_id": room_id, "message_id": question["id"]},
                {"room_id": room_id, "message_id": question["id"], "helpful": "yes"},
                {"room_id": room_id, "message_id": 10**9, "helpful": True}):
        ack = sock.emit("chat:answer-feedback", bad, namespace=NS, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] in ("invalid_input", "not_found")
    assert _state(app, room_id) == before


def test_not_helpful_escalates_at_once_and_shows_staff_the_question(app, client):
    business, owner = factories.business(client, "Direct Studio", hours=factories.ALWAYS_OPEN)
    staff_sock = _sock(app, owner)
    customer = factories.register(client)
    room_id = _room(client, business, customer)
    sock = _sock(app, customer, room_id)
    question = _send(sock, room_id, CANCEL)
    (answer,) = [e["message"] for e in _received(sock, "chat:faq-response")]
    assert answer["reply_to_id"] == question["id"] and answer["picked"] is False
    with app.app_context():
        assert db.session.get(Room, room_id).status == "open"
    staff_sock.get_received(NS)

    ack = sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": answer["id"],
                                             "helpful": False}, namespace=NS, callback=True)
    assert ack["ok"] and ack["escalated"] is True and ack["proposed"] is False
    with app.app_context():
        assert db.session.get(Room, room_id).status == "waiting_for_staff"
        (note,) = db.session.scalars(select(Notification).where(
            Notification.type == "chat.escalated"))
        assert note.data["question"] == CANCEL and note.data["reason"] == "not_helpful"
        assert note.data["answer_message_id"] == answer["id"]
        assert CANCEL in note.message
        assert db.session.scalar(select(func.count()).select_from(FaqProposal)) == 0
    names = [e["name"] for e in staff_sock.get_received(NS)]
    assert "notification:new" in names and "chat:room-updated" in names
    staff_sock.disconnect(NS)
    sock.disconnect(NS)


def test_a_batch_of_escalations_reads_the_customers_once(app, client, monkeypatch):
    """The batch pipeline's write step asks for the escalating customers in one query, not
    one per escalated message (the worker's throughput depends on it)."""
    from sqlalchemy import event

    from actions import automation
    from workers import task_names

    business, owner = factories.business(client, "Busy Studio", hours=factories.ALWAYS_OPEN)
    for name in (task_names.PROCESS_CUSTOMER_MESSAGES, task_names.PROCESS_CUSTOMER_MESSAGE):
        monkeypatch.setattr(app.extensions["celery"].tasks[name], "apply_async",
                            lambda *_a, **_kw: None)  # left pending: run as one batch below
    ids, rooms = [], []
    for _ in range(4):
        customer = factories.register(client)
        room_id = _room(client, business, customer)
        response = client.post(f"/api/chat/rooms/{room_id}/messages",
                               json={"content": UNKNOWN}, headers=customer.headers)
        ids.append(response.get_json()["message"]["id"])
        rooms.append(room_id)
    statements: list[str] = []
    with app.app_context():
        def record(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert automation.process_customer_messages(ids) == 4
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert {db.session.get(Room, r).status for r in rooms} == {"waiting_for_staff"}
    one_by_one = [s for s in statements if "FROM users" in s and "users.id = " in s]
    together = [s for s in statements
                if "FROM users" in s and "users.id IN" in s and "users.email" in s]
    assert one_by_one == [] and len(together) == 1


def test_pick_and_feedback_in_a_closed_conversation_are_refused(app, studio):
    question, event = _suggested(studio)
    room_id, sock = studio[3], studio[4]
    with app.app_context():
        db.session.get(Room, room_id).status = "closed"
        db.session.commit()
    before = _state(app, room_id)
    ack = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                             "faq_id": event["suggestions"][0]["faq_id"]},
                    namespace=NS, callback=True)
    assert ack["error"]["code"] == "room_closed"
    ack = sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": question["id"],
                                             "helpful": True}, namespace=NS, callback=True)
    assert ack["error"]["code"] == "room_closed"
    assert _state(app, room_id) == before
