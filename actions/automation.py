"""The automation of a customer message: welcome, business hours, FAQ, escalation.

Runs in a worker (in-process in the embedded mode). Everything one message
causes is written in one transaction with the message's automation_state, and
each bot reply carries a dedup key unique in its room, so a re-run task (retry,
crashed worker, beat sweep) has each effect once. Attempts, retries and the sweep of
messages left pending are ``infra.pending_work``'s, for :data:`WORK`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from actions import businesses, rooms
from actions.bot_replies import BotReplies
from infra import faq_index, presence, tx
from infra.pending_work import PendingWork
from logic import business_hours as bh
from logic import faq_semantic
from logic.faq_matcher import Candidate, FaqIndex, answer, is_small_talk
from models import AutoResponse, Business, Message, Room, User, db
from models.base import as_utc, utcnow
from models.chat import RoomStatus
from workers import task_names

log = logging.getLogger("automation")
SUGGESTIONS = 3  # FAQs offered when the best one is under the threshold

# A customer message's automation as pending work: attempts, retries and the sweep.
WORK = PendingWork(
    "automation", Message, state="automation_state", attempts="automation_attempts",
    next_attempt_at="automation_next_attempt_at", task=task_names.PROCESS_CUSTOMER_MESSAGE,
    batch_task=task_names.PROCESS_CUSTOMER_MESSAGES, details=("room_id", "created_at"),
    gather=32)


def staff_absence_key(business: Business, now: datetime) -> str | None:
    """A key naming the current stretch without staff online, or None if staff are around."""
    staff = businesses.staff_ids(business.id)
    if presence.store().any_online(staff):
        return None
    last_seen = as_utc(
        db.session.scalar(select(func.max(User.last_seen_at)).where(User.id.in_(staff)))
    )
    minutes = business.staff_absent_minutes or current_app.config["SETTINGS"].staff_absent_minutes
    if last_seen is not None and now - last_seen < timedelta(minutes=minutes):
        return None
    return f"offline:absent:{last_seen.isoformat() if last_seen else 'never'}"


@dataclass
class _BusinessView:
    """What the automation needs of one business, read once per batch."""

    id: int
    texts: dict[str, str]  # trigger -> its active text
    schedule: bh.Schedule
    faq_threshold: float
    suggestion_floor: float
    offline_key: str | None  # set when the offline reply is due (closed, or no staff around)
    next_open: str | None
    index: FaqIndex | None = None
    answers: dict[int, str] = field(default_factory=dict)


@dataclass
class _Question:
    id: int
    room_id: int
    business_id: int
    content: str
    asked: bool = False  # not small talk: a question the FAQs or a person should answer
    match: Candidate | None = None
    suggestions: list[Candidate] = field(default_factory=list)  # below the threshold


def process_customer_message(message_id: int, now: datetime | None = None) -> bool:
    """Run the pipeline for one customer message; False if there was nothing to do."""
    return process_customer_messages([message_id], now) > 0


def process_customer_messages(message_ids: list[int], now: datetime | None = None) -> int:
    """Run the pipeline for the pending messages among ``message_ids``; returns how many.

    Three steps, so that no database lock is held while messages are scored: read what
    the batch needs (one short transaction), score the questions (no transaction; the
    sentence vectors of the whole batch in one call), then write every effect in one
    transaction that locks the batch's rooms and checks again that each message is
    still pending (another worker may have taken it meanwhile).
    """
    now = now or utcnow()
    questions, views = _read_batch(message_ids, now)
    tx.rollback()  # end the read transaction (SQLite: its write lock) before scoring
    if not questions:
        return 0
    _score(questions, views)
    return _write_batch(questions, views, now)


def _read_batch(message_ids: list[int], now: datetime
                ) -> tuple[list[_Question], dict[int, _BusinessView]]:
    tx.reading()  # SQLite: no write lock while this reads and asks Redis about presence
    rows = db.session.execute(
        select(Message.id, Message.room_id, Message.content, Room.business_id)
        .join(Room, Room.id == Message.room_id)
        .where(Message.id.in_(sorted(set(message_ids))), Message.automation_state == "pending")
        .order_by(Message.room_id, Message.seq)
    ).all()
    questions = [_Question(r.id, r.room_id, r.business_id, r.content) for r in rows]
    views = {}
    for business in db.session.scalars(select(Business).where(
            Business.id.in_(sorted({q.business_id for q in questions})))):
        views[business.id] = _view(business, now)
    return questions, views


def _view(business: Business, now: datetime) -> _BusinessView:
    texts: dict[str, str] = {}
    for trigger, message in db.session.execute(
        select(AutoResponse.trigger, AutoResponse.message)
        .where(AutoResponse.business_id == business.id, AutoResponse.is_active.is_(True))
        .order_by(AutoResponse.id.desc())
    ):
        texts[trigger] = message  # the oldest active text of a trigger wins, as before
    schedule = businesses.schedule_of(business)
    if bh.is_open(schedule, now):
        offline_key = staff_absence_key(business, now)
    else:
        offline_key = f"offline:{bh.closed_period_start(schedule, now).isoformat()}"
    next_open = None
    if offline_key and "offline" in texts:
        next_open = bh.format_next_open(bh.next_open_at(schedule, now), schedule.tz)
    view = _BusinessView(business.id, texts, schedule, business.faq_threshold,
                         business.suggestion_floor, offline_key, next_open)
    view.index, view.answers = faq_index.index_for(business)
    return view


def _score(questions: list[_Question], views: dict[int, _BusinessView]) -> None:
    asked = [q for q in questions if not is_small_talk(q.content)]
    for q in asked:
        q.asked = True
    # A business without active FAQs has nothing to match: its questions go to a person
    # without the cost of the sentence encoder (the largest share of a worker's CPU).
    scored = [q for q in asked if views[q.business_id].answers]
    if not scored:
        return
    vectors = faq_semantic.embed([q.content for q in scored])
    for q, vector in zip(scored, vectors, strict=True):
        view = views[q.business_id]
        ranked = view.index.rank(q.content, limit=SUGGESTIONS, vector=vector)
        q.match = answer(ranked, view.faq_threshold)
        if q.match is None and ranked and ranked[0].confidence >= view.suggestion_floor:
            # The leader is close: offer it and the runners-up, for the customer to pick.
            q.suggestions = ranked


def _write_batch(questions: list[_Question], views: dict[int, _BusinessView],
                 now: datetime) -> int:
    ids = [q.id for q in questions]
    room_ids = sorted({q.room_id for q in questions})
    rooms_by_id = {room.id: room for room in db.session.scalars(
        select(Room).where(Room.id.in_(room_ids)).execution_options(populate_existing=True))}
    still_pending = {message.id: message for message in db.session.scalars(
        select(Message).where(Message.id.in_(ids), Message.automation_state == "pending")
        .execution_options(populate_existing=True))}
    if not still_pending:
        tx.rollback()
        return 0
    bot = BotReplies(list(rooms_by_id.values()), now)
    bot.load_existing(_candidate_keys(questions, views))
    # Only the rooms this batch posts in or changes are locked (in id order, as the message
    # writer locks them) and read again: most messages of a running conversation change
    # nothing in their room, and a lock held here would hold up every send into it.
    locked = sorted({q.room_id for q in questions if q.id in still_pending and _changes_room(
        q, rooms_by_id[q.room_id], views[q.business_id], bot)})
    if locked:
        db.session.scalars(select(Room).where(Room.id.in_(locked)).order_by(Room.id)
                           .with_for_update().execution_options(populate_existing=True)).all()
    unlocked = {room_id: _room_state(room) for room_id, room in rooms_by_id.items()
                if room_id not in locked}
    # Held here: the session's identity map keeps objects only while something refers to them.
    customers = _load_customers_who_may_escalate(questions, rooms_by_id)  # noqa: F841
    outcomes: dict[str, int] = {}
    for q in questions:
        message = still_pending.get(q.id)
        if message is None:
            continue
        room = rooms_by_id[q.room_id]
        view = views[q.business_id]
        outcome = _automate(q, message, room, view, bot, now)
        message.automation_state = "done"
        for step in outcome or ["nothing"]:
            outcomes[step] = outcomes.get(step, 0) + 1
        log.debug("automation done", extra={"message_id": q.id, "room_id": room.id,
                                            "outcome": outcome})
    changed = [room_id for room_id, before in unlocked.items()
               if _room_state(rooms_by_id[room_id]) != before]
    if changed:
        raise RuntimeError(f"automation changed rooms it did not lock: {changed}")
    bot.flush()
    tx.commit()
    log.info("automation batch done", extra={"messages": len(still_pending),
                                             "outcomes": outcomes})
    return len(still_pending)


def _room_state(room: Room) -> tuple:
    return room.last_seq, room.status, room.welcome_sent_at, room.last_activity_at


# What a customer message's automation does, each rule stated once: _automate acts on
# them; _changes_room (the rooms a batch locks) and the customers read ahead for
# escalations follow from them.
def _welcome_due(room: Room) -> bool:
    return room.welcome_sent_at is None


def _offline_due(room: Room, view: _BusinessView) -> bool:
    return bool(view.offline_key and view.texts.get("offline"))


def _answered(q: _Question) -> bool:
    return q.asked and q.match is not None


def _escalates(q: _Question, room: Room) -> bool:
    return q.asked and q.match is None and room.type == "customer" and may_escalate(room)


def may_escalate(room: Room) -> bool:
    """One escalation per wait: a room already waiting for staff is not escalated again."""
    return room.status != RoomStatus.WAITING


def _changes_room(q: _Question, room: Room, view: _BusinessView, bot: BotReplies) -> bool:
    """Whether :func:`_automate` may post in the question's room or change its row."""
    return (_welcome_due(room) or _answered(q) or _escalates(q, room)
            or (_offline_due(room, view) and not bot.has(room.id, view.offline_key)))


def _load_customers_who_may_escalate(questions: list[_Question],
                                     rooms_by_id: dict[int, Room]) -> list[User]:
    """One query for the customers an escalation of this batch names, so that escalate()
    finds them in the session instead of asking the database once per escalation."""
    customer_ids = sorted({
        room.customer_id for q in questions
        if (room := rooms_by_id.get(q.room_id)) is not None and room.customer_id
        and _escalates(q, room)})
    if not customer_ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(customer_ids))))


def _candidate_keys(questions: list[_Question], views: dict[int, _BusinessView]) -> set[str]:
    keys = {"welcome"} | {v.offline_key for v in views.values() if v.offline_key}
    for q in questions:
        keys.update((f"faq:{q.id}", f"escalation:{q.id}"))
    return keys


def _automate(q: _Question, message: Message, room: Room, view: _BusinessView,
              bot: BotReplies, now: datetime) -> list[str]:
    outcome = []
    if _welcome_due(room):
        text = view.texts.get("welcome")
        if text and bot.post(room, "welcome", text, "welcome"):
            outcome.append("welcome")
        room.welcome_sent_at = now
    if _offline_due(room, view):
        text = view.texts["offline"].replace("{next_open_at}", view.next_open or "")
        if bot.post(room, "offline", text, view.offline_key):
            outcome.append("offline")
    if not q.asked:
        message.outcome = "small_talk"
    elif _answered(q):
        message.outcome = "answered"
        if bot.post(room, "faq", view.answers[q.match.faq_id], f"faq:{q.id}",
                    faq_id=q.match.faq_id, confidence=q.match.confidence, reply_to_id=q.id):
            outcome.append("faq")
    else:
        message.outcome = "unanswered"
    if q.suggestions and room.type == "customer":
        message.outcome = "suggested"
        message.suggestions = [{"faq_id": c.faq_id, "question": c.question,
                                "confidence": c.confidence} for c in q.suggestions]
        bot.suggest(room.id, q.id, message.suggestions)
        outcome.append("suggested")
    if _escalates(q, room):
        # Suggestions do not delay the escalation: a person is asked at once as well.
        # Closed, or no staff around: the offline reply is what the customer gets, and the
        # room still waits, flagged and notified, for the staff's return.
        note = None if view.offline_key and "offline" in view.texts else \
            view.texts.get("escalation")
        if escalate(room, view.id, message, bot, note):
            outcome.append("escalated")
    return outcome


def escalate(room: Room, business_id: int, message: Message, bot: BotReplies,
             note: str | None = None, extra: dict | None = None, key: str | None = None
             ) -> bool:
    """Hand the conversation to a human: waiting status, a note to the customer, staff told.

    ``message`` is the customer's question staff should see; ``extra`` adds to the
    ``chat.escalated`` entry (the answer the customer marked unhelpful, say); ``key``
    names this escalation in the note's dedup key and the entry's idempotency key
    (default: the question's id)."""
    key = key or str(message.id)
    if not may_escalate(room):
        return False
    rooms.set_status(room, RoomStatus.WAITING)
    if note:
        bot.post(room, "escalation", note, f"escalation:{key}", reply_to_id=message.id)
    from actions import audit

    customer = db.session.get(User, room.customer_id) if room.customer_id else None
    audit.record_event(
        business_id,
        "chat.escalated",
        {
            "room_id": room.id,
            "message_id": message.id,
            "customer_name": customer.name if customer else None,
            "question": message.content[:200],
            **(extra or {}),
        },
        idempotency_key=f"chat.escalated:{key}",
        commit=False,
    )
    return True


def remind_escalations(now: datetime | None = None) -> int:
    """Notify staff again about conversations left waiting past the business's reminder time
    (``escalation_reminder_minutes``)."""
    now = now or utcnow()
    default = current_app.config["SETTINGS"].escalation_reminder_minutes
    waiting = list(
        db.session.scalars(
            select(Room)
            .where(
                Room.status == RoomStatus.WAITING,
                Room.escalation_reminded_at.is_(None),
                Room.waiting_since.is_not(None),
            )
            .limit(500)
        )
    )
    from actions import audit

    reminded = 0
    for room in waiting:
        business = db.session.get(Business, room.business_id)
        minutes = business.escalation_reminder_minutes or default
        if now - as_utc(room.waiting_since) < timedelta(minutes=minutes):
            continue
        if not bh.is_open(businesses.schedule_of(business), now):
            continue
        room.escalation_reminded_at = now
        audit.record_event(
            business.id,
            "chat.escalation_reminder",
            {
                "room_id": room.id,
                "waiting_minutes": int((now - as_utc(room.waiting_since)).total_seconds() // 60),
            },
            idempotency_key=f"chat.escalation_reminder:{room.id}:{as_utc(room.waiting_since).isoformat()}",
            commit=False,
        )
        reminded += 1
    tx.commit()
    return reminded
