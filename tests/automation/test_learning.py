"""FAQs that learn: proposals from helpful answers, staff filing questions, the gap report,
and the automation's daily figures."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from infra.faq_index import growth
from logic.faq_matcher import FaqDoc, FaqIndex
from models import Faq, FaqProposal, Message, db
from tests import factories
from tests.helpers import assert_error
from web.extensions import socketio

NS = "/realtime"
CHAT = "/api/chat"
# The default parking FAQ is this one's best match, under 0.70 but above the 0.30 floor.
PARKING = "my car needs somewhere to stay while i'm with you"
PARAPHRASE = "where can my car stay while i'm with you"
UNKNOWN = "can my dog wait inside while I get my fringe trimmed"


def _sock(app, account, room_id: int | None = None):
    sock = socketio.test_client(app, namespace=NS, auth={"token": account.access_token})
    if room_id is not None:
        assert sock.emit("chat:join-room", {"room_id": room_id}, namespace=NS,
                         callback=True)["ok"]
    return sock


def _send(sock, room_id: int, text: str) -> dict:
    ack = sock.emit("chat:send-message", {"room_id": room_id, "content": text},
                    namespace=NS, callback=True)
    assert ack["ok"], ack
    return ack["message"]


def _events(sock, name: str) -> list[dict]:
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


@pytest.fixture
def shop(app, client):
    business, owner = factories.business(client, "Learning Studio", hours=factories.ALWAYS_OPEN)
    staff_sock = _sock(app, owner)
    customer = factories.register(client)
    room_id = client.post(f"{CHAT}/rooms/create", json={"business_id": business["id"]},
                          headers=customer.headers).get_json()["room"]["id"]
    sock = _sock(app, customer, room_id)
    yield business, owner, customer, room_id, sock
    sock.disconnect(NS)
    staff_sock.disconnect(NS)


def _faq_id(client, owner, starts: str) -> int:
    faqs = client.get(f"{CHAT}/faqs", headers=owner.headers).get_json()["faqs"]
    return next(f["id"] for f in faqs if f["question"].startswith(starts))


def test_suggestion_pick_helpful_proposal_accept_then_the_paraphrase_is_answered(
        app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    parking = _faq_id(client, owner, "Is there parking")
    question = _send(sock, room_id, PARKING)
    (suggested,) = _events(sock, "chat:faq-suggestions")
    assert suggested["suggestions"][0]["faq_id"] == parking
    assert 0.3 <= suggested["suggestions"][0]["confidence"] < 0.7
    picked = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                                "faq_id": parking}, namespace=NS, callback=True)
    assert picked["ok"], picked
    ack = sock.emit("chat:answer-feedback", {"room_id": room_id,
                                             "message_id": picked["message"]["id"],
                                             "helpful": True}, namespace=NS, callback=True)
    assert ack["ok"] and ack["proposed"]

    proposals = client.get(f"{CHAT}/faq-proposals", headers=owner.headers).get_json()
    (proposal,) = proposals["proposals"]
    assert {k: proposal[k] for k in ("faq_id", "question", "source_message_id")} == {
        "faq_id": parking, "question": PARKING, "source_message_id": question["id"]}
    assert proposal["created_at"]
    accepted = client.post(f"{CHAT}/faq-proposals/{proposal['id']}/accept",
                           headers=owner.headers)
    assert accepted.status_code == 200
    assert PARKING in accepted.get_json()["faq"]["alternative_questions"]
    assert client.get(f"{CHAT}/faq-proposals", headers=owner.headers).get_json() == {
        "proposals": []}
    assert_error(client.post(f"{CHAT}/faq-proposals/{proposal['id']}/reject",
                             headers=owner.headers), 409, "already_decided")

    # The index is rebuilt without a restart: the next similar question is answered.
    sock.get_received(NS)
    _send(sock, room_id, PARAPHRASE)
    answers = [e["message"] for e in _events(sock, "chat:faq-response")]
    assert [(a["faq_id"], a["picked"]) for a in answers] == [(parking, False)]
    assert answers[0]["confidence"] >= 0.7


def test_reject_keeps_the_faq_and_a_deleted_faq_drops_its_proposals(app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    for text in (PARKING, "can I leave my car outside"):
        question = _send(sock, room_id, text)
        (event,) = _events(sock, "chat:faq-suggestions")
        pick = sock.emit("chat:pick-suggestion", {
            "room_id": room_id, "message_id": question["id"],
            "faq_id": event["suggestions"][0]["faq_id"]}, namespace=NS, callback=True)
        assert sock.emit("chat:answer-feedback", {
            "room_id": room_id, "message_id": pick["message"]["id"], "helpful": True},
            namespace=NS, callback=True)["proposed"]
    first, second = client.get(f"{CHAT}/faq-proposals",
                               headers=owner.headers).get_json()["proposals"]
    faq_before = client.get(f"{CHAT}/faqs/{first['faq_id']}", headers=owner.headers).get_json()
    response = client.post(f"{CHAT}/faq-proposals/{first['id']}/reject", headers=owner.headers)
    assert response.status_code == 204
    assert client.get(f"{CHAT}/faqs/{first['faq_id']}",
                      headers=owner.headers).get_json() == faq_before
    assert client.delete(f"{CHAT}/faqs/{second['faq_id']}",
                         headers=owner.headers).status_code == 204
    assert client.get(f"{CHAT}/faq-proposals", headers=owner.headers).get_json() == {
        "proposals": []}
    assert_error(client.post(f"{CHAT}/faq-proposals/{second['id']}/accept",
                             headers=owner.headers), 404)


def test_staff_file_an_escalated_question_as_a_new_faq_or_a_phrasing(app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    question = _send(sock, room_id, UNKNOWN)
    created = client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json={
        "message_id": question["id"], "answer": "Dogs are welcome in the waiting area."})
    assert created.status_code == 201, created.get_json()
    faq = created.get_json()["faq"]
    assert (faq["question"], faq["answer"]) == (UNKNOWN, "Dogs are welcome in the waiting area.")
    other = _send(sock, room_id, "do you take apple pay or only cash")
    payment = _faq_id(client, owner, "What payment methods")
    added = client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json={
        "message_id": other["id"], "faq_id": payment})
    assert added.status_code == 200
    assert "do you take apple pay or only cash" in added.get_json()["faq"][
        "alternative_questions"]
    # The new FAQ answers the next customer who asks it.
    _send(sock, room_id, "can my dog wait inside while I get my hair trimmed")
    answers = [e["message"] for e in _events(sock, "chat:faq-response")]
    assert faq["id"] in [a["faq_id"] for a in answers]


def test_a_filed_phrasing_or_new_faq_grows_the_index_and_an_edit_rebuilds_it(app, client, shop,
                                                                 monkeypatch):
    _business, owner, _customer, room_id, sock = shop
    built = []
    build = FaqIndex.build.__func__

    def counting_build(cls, faqs):
        built.append(len(faqs))
        return build(cls, faqs)

    monkeypatch.setattr(FaqIndex, "build", classmethod(counting_build))
    question = _send(sock, room_id, PARKING)
    assert len(built) == 1  # the business's first index in this process
    parking = _faq_id(client, owner, "Is there parking")
    assert client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json={
        "message_id": question["id"], "faq_id": parking}).status_code == 200
    sock.get_received(NS)
    _send(sock, room_id, PARAPHRASE)
    answers = [e["message"] for e in _events(sock, "chat:faq-response")]
    assert [a["faq_id"] for a in answers] == [parking]
    assert len(built) == 1  # grown by the filed question, not rebuilt
    # A new FAQ saved from an escalated question grows it too, and answers the next asker.
    unknown = _send(sock, room_id, UNKNOWN)
    created = client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json={
        "message_id": unknown["id"], "answer": "Dogs are welcome in the waiting area."})
    assert created.status_code == 201
    sock.get_received(NS)
    _send(sock, room_id, "can my dog wait inside while I get my hair trimmed")
    answers = [e["message"] for e in _events(sock, "chat:faq-response")]
    assert [a["faq_id"] for a in answers] == [created.get_json()["faq"]["id"]]
    assert len(built) == 1
    # Any other change to the FAQs builds the index afresh.
    faq = client.get(f"{CHAT}/faqs", headers=owner.headers).get_json()["faqs"][0]
    assert client.put(f"{CHAT}/faqs/{faq['id']}", headers=owner.headers,
                      json={"answer": faq["answer"] + " (updated)"}).status_code == 200
    _send(sock, room_id, "do you take apple pay")
    assert len(built) == 2


@pytest.mark.parametrize("body", [
    {"message_id": 1, "answer": "   "}, {"message_id": "one", "answer": "x"},
    {"message_id": 1, "answer": "x", "extra": 1}])
def test_from_message_bad_input_is_400(client, shop, body):
    owner = shop[1]
    assert_error(client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json=body), 400)


@pytest.mark.parametrize("body", [{"message_id": 1}, {"message_id": 1, "faq_id": 1,
                                                     "answer": "x"}])
def test_from_message_needs_exactly_one_of_faq_id_and_answer(client, shop, body):
    owner = shop[1]
    assert_error(client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json=body),
                 422, "faq_id_or_answer")


def test_from_message_refuses_bot_and_staff_messages(app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    _send(sock, room_id, UNKNOWN)
    with app.app_context():
        bot = db.session.scalar(select(Message.id).where(Message.sender_type == "bot"))
    reply = client.post(f"{CHAT}/rooms/{room_id}/messages", headers=owner.headers,
                        json={"content": "Let me check."}).get_json()["message"]
    for message_id in (bot, reply["id"]):
        assert_error(client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json={
            "message_id": message_id, "answer": "x"}), 422, "not_a_customer_message")


def test_learning_routes_are_tenant_isolated(app, client, shop):
    _business, owner, customer, room_id, sock = shop
    question = _send(sock, room_id, PARKING)
    (event,) = _events(sock, "chat:faq-suggestions")
    pick = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                              "faq_id": event["suggestions"][0]["faq_id"]},
                     namespace=NS, callback=True)
    sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": pick["message"]["id"],
                                       "helpful": True}, namespace=NS, callback=True)
    (proposal,) = client.get(f"{CHAT}/faq-proposals",
                             headers=owner.headers).get_json()["proposals"]
    _other, stranger = factories.business(client, "Other Studio")
    stranger_faq = _faq_id(client, stranger, "Is there parking")
    assert client.get(f"{CHAT}/faq-proposals", headers=stranger.headers).get_json() == {
        "proposals": []}
    assert_error(client.post(f"{CHAT}/faq-proposals/{proposal['id']}/accept",
                             headers=stranger.headers), 404)
    assert_error(client.post(f"{CHAT}/faq-proposals/{proposal['id']}/reject",
                             headers=stranger.headers), 404)
    assert_error(client.post(f"{CHAT}/faqs/from-message", headers=stranger.headers, json={
        "message_id": question["id"], "faq_id": stranger_faq}), 404)
    assert_error(client.post(f"{CHAT}/faqs/from-message", headers=owner.headers, json={
        "message_id": question["id"], "faq_id": stranger_faq}), 404)
    assert client.get(f"{CHAT}/faq-gaps", headers=stranger.headers).get_json() == {"gaps": []}
    days = client.get(f"{CHAT}/automation-stats?days=1",
                      headers=stranger.headers).get_json()["days"]
    assert days[0]["customer_messages"] == 0
    for path in ("/faq-proposals", "/faq-gaps", "/automation-stats"):
        assert_error(client.get(f"{CHAT}{path}", headers=customer.headers), 403)
    assert_error(client.post(f"{CHAT}/faq-proposals/{proposal['id']}/accept",
                             headers=customer.headers), 403)
    with app.app_context():
        assert db.session.get(FaqProposal, proposal["id"]).status == "pending"
        assert PARKING not in db.session.get(Faq, stranger_faq).alternative_questions


def test_gap_report_groups_unanswered_questions_by_meaning(app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    dogs = ["can my dog wait inside while I get my fringe trimmed",
            "is it ok to bring my dog into the salon",
            "are dogs allowed inside"]
    for text in (*dogs, "is the building wheelchair accessible", "hello"):
        _send(sock, room_id, text)
    _send(sock, room_id, "how do I cancel my booking")  # answered: no gap
    gaps = client.get(f"{CHAT}/faq-gaps?days=7", headers=owner.headers).get_json()["gaps"]
    assert gaps[0]["count"] == 3 and set(gaps[0]["examples"]) == set(dogs)
    assert gaps[0]["representative"] in dogs
    assert gaps[0]["last_seen_at"]
    assert "nearest_faq_id" in gaps[0]
    texts = [t for g in gaps for t in g["examples"]]
    assert "hello" not in texts and "how do I cancel my booking" not in texts
    assert sum(g["count"] for g in gaps) == 4
    assert_error(client.get(f"{CHAT}/faq-gaps?days=0", headers=owner.headers), 400)


def test_automation_stats_count_the_day_and_reach_the_activity_summary(app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    _send(sock, room_id, "how do I cancel my booking")  # answered
    (answer,) = [e["message"] for e in _events(sock, "chat:faq-response")]
    sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": answer["id"],
                                       "helpful": True}, namespace=NS, callback=True)
    question = _send(sock, room_id, PARKING)  # suggested (and escalated)
    (event,) = _events(sock, "chat:faq-suggestions")
    pick = sock.emit("chat:pick-suggestion", {"room_id": room_id, "message_id": question["id"],
                                              "faq_id": event["suggestions"][0]["faq_id"]},
                     namespace=NS, callback=True)
    sock.emit("chat:answer-feedback", {"room_id": room_id, "message_id": pick["message"]["id"],
                                       "helpful": False}, namespace=NS, callback=True)
    body = client.get(f"{CHAT}/automation-stats?days=3", headers=owner.headers).get_json()
    assert [d["date"] for d in body["days"]][-1] == datetime.now(UTC).date().isoformat()
    assert len(body["days"]) == 3
    today = body["days"][-1]
    assert today == {
        "date": today["date"], "customer_messages": 2, "faq_answers": 2, "helpful": 1,
        "not_helpful": 1, "suggestions_shown": 1, "suggestions_picked": 1, "escalations": 1,
        "resolved_without_staff": 0}
    assert body["days"][0]["customer_messages"] == 0
    advisor = body["threshold_advisor"]
    assert advisor["samples"] == 2 and advisor["current_threshold"] == pytest.approx(0.7)
    at_70 = next(p for p in advisor["thresholds"] if p["threshold"] == 0.7)
    assert (at_70["answered"], at_70["precision"], at_70["recall"]) == (1, 1.0, 1.0)
    at_30 = next(p for p in advisor["thresholds"] if p["threshold"] == 0.3)
    assert (at_30["answered"], at_30["precision"]) == (2, 0.5)
    summary = client.get("/api/activity/summary", headers=owner.headers).get_json()["summary"]
    assert summary["automation_today"] == today


def test_a_conversation_the_bot_answered_alone_counts_as_resolved(app, client, shop):
    _business, owner, _customer, room_id, sock = shop
    _send(sock, room_id, "how do I cancel my booking")
    today = client.get(f"{CHAT}/automation-stats?days=1",
                       headers=owner.headers).get_json()["days"][0]
    assert today["resolved_without_staff"] == 1 and today["escalations"] == 0


def test_the_index_cache_grows_only_by_appended_phrasings_and_faqs():
    a = FaqDoc(1, "Is there parking?", ("Where do I park?",), ("parking",), "Yes.")
    b = FaqDoc(2, "Do you sell vouchers?", (), (), "Yes.")
    c = FaqDoc(3, "Can I bring my dog?", (), (), "Yes.")
    longer = FaqDoc(1, "Is there parking?", ("Where do I park?", "car park?"), ("parking",),
                    "Yes.")
    assert growth((a, b), (a, b)) == ({}, ())
    assert growth((a, b), (longer, b, c)) == ({1: ("car park?",)}, (c,))
    assert growth((a, b), (a, b, c)) == ({}, (c,))
    assert growth((longer, b), (a, b)) is None  # a phrasing removed
    assert growth((a, b), (a,)) is None  # an FAQ deleted or switched off
    assert growth((a, c), (a, b, c)) is None  # one switched back on, between the others
    edited = FaqDoc(2, "Do you sell gift vouchers?", (), (), "Yes.")
    assert growth((a, b), (a, edited)) is None
