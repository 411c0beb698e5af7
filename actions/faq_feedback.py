"""What a customer does with the FAQ bot's help: pick a suggested FAQ, judge an answer.

A pick posts the FAQ's answer as an ``faq`` message marked as picked. Feedback on an
answer is given once: "helpful" proposes the customer's question as a phrasing of that
FAQ (staff decide, actions/faq_learning.py) and, for a picked suggestion, sets a waiting
room back to ``open``; "not helpful" escalates the room at once, naming the question the
bot got wrong. Each runs in one transaction that holds the room locked, as the automation
batch does, so seqs stay gap-free and a pick or a verdict lands once.
"""
from __future__ import annotations

from sqlalchemy import select

from actions import rooms
from actions.actors import Actor
from actions.bot_replies import BotReplies
from actions.errors import Conflict, Forbidden, NotFound, Unprocessable
from infra import tx
from models import AutoResponse, Faq, FaqProposal, Message, Room, db
from models.base import utcnow


def _customer_room(actor: Actor, room_id: int) -> Room:
    """The actor's own customer room, locked; staff may see it but these are the customer's."""
    room = rooms.visible_room(actor, room_id)
    if room.type != "customer" or room.customer_id != actor.id:
        raise Forbidden("Only the customer of this conversation can do this.")
    room = db.session.scalars(select(Room).where(Room.id == room.id).with_for_update()
                              .execution_options(populate_existing=True)).one()
    if room.status == "closed":
        raise Conflict("This conversation is closed.", code="room_closed")
    return room


def _message_in(room: Room, message_id: int) -> Message:
    message = db.session.get(Message, message_id, populate_existing=True)
    if message is None or message.room_id != room.id:
        raise NotFound("Message not found.")
    return message


def pick_suggestion(actor: Actor, room_id: int, message_id: int, faq_id: int) -> dict:
    """Post the answer of an FAQ suggested for the customer's message; returns the message.

    Picking the same FAQ again returns the message posted the first time; another FAQ for
    a message already answered by a pick is a 409."""
    room = _customer_room(actor, room_id)
    question = _message_in(room, message_id)
    suggested = {s["faq_id"]: s for s in (question.suggestions or [])}
    if question.sender_type != "customer" or faq_id not in suggested:
        raise Unprocessable("That FAQ was not suggested for this message.", code="not_suggested")
    existing = db.session.scalar(select(Message).where(
        Message.room_id == room.id, Message.dedup_key == f"pick:{message_id}"))
    if existing is not None:
        tx.rollback()
        if existing.faq_id == faq_id:
            return existing.to_dict()
        raise Conflict("A suggestion was already picked for this message.",
                       code="already_picked")
    faq = db.session.get(Faq, faq_id)
    if faq is None or faq.business_id != room.business_id or not faq.is_active:
        raise NotFound("That FAQ no longer exists.", code="faq_not_found")
    bot = BotReplies([room], utcnow())
    bot.post(room, "faq", faq.answer, f"pick:{message_id}", faq_id=faq.id,
             confidence=suggested[faq_id]["confidence"], reply_to_id=message_id)
    (posted,) = bot.flush()
    tx.commit()
    return posted


def answer_feedback(actor: Actor, room_id: int, message_id: int, helpful: bool) -> dict:
    """Record the customer's verdict on an FAQ answer; returns what it led to."""
    room = _customer_room(actor, room_id)
    answer = _message_in(room, message_id)
    if answer.sender_type != "bot" or answer.kind != "faq":
        raise Unprocessable("Feedback is for the FAQ bot's answers only.", code="not_an_answer")
    if answer.feedback is not None:
        raise Conflict("Feedback on this answer was already given.", code="feedback_given")
    answer.feedback = "helpful" if helpful else "not_helpful"
    answer.feedback_at = utcnow()
    question = db.session.get(Message, answer.reply_to_id) if answer.reply_to_id else None
    result: dict = {"feedback": answer.feedback, "proposed": False, "escalated": False}
    if helpful:
        result["proposed"] = _propose(room, answer, question)
        if (answer.dedup_key or "").startswith("pick:") and room.status == "waiting_for_staff":
            rooms.set_status(room, "open")  # the customer found the answer themselves
    else:
        result["escalated"] = _escalate_wrong_answer(room, answer, question)
    tx.commit()
    return result


def _propose(room: Room, answer: Message, question: Message | None) -> bool:
    """The question as a proposed phrasing of the FAQ that answered it, unless it has it."""
    if question is None or answer.faq_id is None:
        return False
    faq = db.session.get(Faq, answer.faq_id)
    if faq is None:
        return False
    text = question.content.strip()[:500]
    known = {p.strip().casefold() for p in (faq.question, *(faq.alternative_questions or []))}
    if text.casefold() in known:
        return False
    taken = db.session.scalar(select(FaqProposal.id).where(
        FaqProposal.source_message_id == question.id))
    if taken is not None:
        return False
    db.session.add(FaqProposal(business_id=room.business_id, faq_id=faq.id, question=text,
                               source_message_id=question.id, status="pending"))
    return True


def _escalate_wrong_answer(room: Room, answer: Message, question: Message | None) -> bool:
    from actions import automation

    note = db.session.scalar(select(AutoResponse.message).where(
        AutoResponse.business_id == room.business_id, AutoResponse.trigger == "escalation",
        AutoResponse.is_active.is_(True)).order_by(AutoResponse.id).limit(1))
    key = f"feedback:{answer.id}"
    bot = BotReplies([room], utcnow())
    bot.load_existing([f"escalation:{key}"])
    escalated = automation.escalate(
        room, room.business_id, question if question is not None else answer, bot, note,
        extra={"reason": "not_helpful", "answer_message_id": answer.id,
               "faq_id": answer.faq_id, "answer": answer.content[:200]},
        key=key)
    bot.flush()
    return escalated
