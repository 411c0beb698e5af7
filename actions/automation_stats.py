"""Per business and per day: what the automation did, and what moving the threshold would do.

Counted from the record itself (messages, their outcomes and feedback, ``chat.escalated``
audit entries), so no counter can drift from what happened; days are the business's own
(its time zone). A day's figures:

- ``customer_messages``: messages customers wrote in its customer rooms;
- ``faq_answers``: FAQ answers the bot posted (direct, and picked suggestions);
- ``helpful``, ``not_helpful``: customers' verdicts given that day;
- ``suggestions_shown``, ``suggestions_picked``: questions that got suggestions, and picks;
- ``escalations``: conversations handed to staff;
- ``resolved_without_staff``: conversations in which the customer asked something that
  day, got an FAQ answer, and no staff member wrote or was asked to.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select

from actions import businesses
from actions.actors import Actor, require_staff
from actions.errors import NotFound
from models import AuditLog, Business, Message, Room, db
from models.base import as_utc, utcnow

FIELDS = ("customer_messages", "faq_answers", "helpful", "not_helpful", "suggestions_shown",
          "suggestions_picked", "escalations", "resolved_without_staff")
ADVISOR_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
QUESTION_OUTCOMES = ("answered", "suggested", "unanswered")


def _business(actor: Actor) -> Business:
    business = db.session.get(Business, require_staff(actor))
    if business is None:
        raise NotFound("Business not found.")
    return business


def daily(business: Business, days: int, now: datetime | None = None) -> list[dict]:
    """``days`` days up to today in the business's time zone, oldest first."""
    now = now or utcnow()
    tz = businesses.schedule_of(business).tz
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)

    def day(moment: datetime) -> date:
        return as_utc(moment).astimezone(tz).date()

    counts: dict[date, Counter] = {first + timedelta(days=i): Counter() for i in range(days)}
    asked: set[tuple[date, int]] = set()
    answered: set[tuple[date, int]] = set()
    staffed: set[tuple[date, int]] = set()
    in_business = select(Room.id).where(Room.business_id == business.id,
                                        Room.type == "customer")
    for room_id, sender, kind, outcome, key, feedback, feedback_at, created in db.session.execute(
            select(Message.room_id, Message.sender_type, Message.kind, Message.outcome,
                   Message.dedup_key, Message.feedback, Message.feedback_at,
                   Message.created_at)
            .where(Message.room_id.in_(in_business), Message.created_at >= since)):
        d = day(created)
        if d not in counts:
            continue
        if sender == "customer":
            counts[d]["customer_messages"] += 1
            if outcome == "suggested":
                counts[d]["suggestions_shown"] += 1
            if outcome in QUESTION_OUTCOMES:
                asked.add((d, room_id))
        elif sender == "staff":
            staffed.add((d, room_id))
        elif kind == "faq":
            counts[d]["faq_answers"] += 1
            answered.add((d, room_id))
            if (key or "").startswith("pick:"):
                counts[d]["suggestions_picked"] += 1
        if feedback is not None and feedback_at is not None and day(feedback_at) in counts:
            counts[day(feedback_at)][feedback] += 1
    for data, created in db.session.execute(
            select(AuditLog.data, AuditLog.created_at).where(
                AuditLog.business_id == business.id, AuditLog.type == "chat.escalated",
                AuditLog.created_at >= since)):
        d = day(created)
        if d in counts:
            counts[d]["escalations"] += 1
            staffed.add((d, (data or {}).get("room_id")))
    for d, _room_id in asked & answered - staffed:
        counts[d]["resolved_without_staff"] += 1
    return [{"date": d.isoformat(), **{f: counts[d][f] for f in FIELDS}}
            for d in sorted(counts)]


def advisor(business: Business, days: int, now: datetime | None = None) -> dict:
    """Precision and recall the bot would have had at other thresholds, estimated from the
    customers' verdicts on its answers (direct ones and picked suggestions) of the period.

    A verdict at confidence c counts as answered at threshold t when c >= t; precision is
    the helpful share of those, recall the share of all helpful answers they keep. Picked
    suggestions carry the confidence they were suggested with, so lowering the threshold
    shows the answers the bot would have given itself.
    """
    now = now or utcnow()
    in_business = select(Room.id).where(Room.business_id == business.id)
    rows = db.session.execute(
        select(Message.confidence, Message.feedback).where(
            Message.room_id.in_(in_business), Message.kind == "faq",
            Message.feedback.is_not(None), Message.confidence.is_not(None),
            Message.feedback_at >= now - timedelta(days=days))).all()
    helpful_total = sum(1 for _c, f in rows if f == "helpful")
    points = []
    for t in ADVISOR_THRESHOLDS:
        kept = [f for c, f in rows if c >= t]
        good = sum(1 for f in kept if f == "helpful")
        points.append({"threshold": t, "answered": len(kept),
                       "precision": round(good / len(kept), 4) if kept else None,
                       "recall": round(good / helpful_total, 4) if helpful_total else None})
    return {"current_threshold": business.faq_threshold, "samples": len(rows),
            "thresholds": points}


def stats(actor: Actor, days: int, now: datetime | None = None) -> dict:
    business = _business(actor)
    return {"days": daily(business, days, now), "threshold_advisor": advisor(business, days, now)}


def today(business_id: int, now: datetime | None = None) -> dict:
    """Today's figures (the business's day so far), for the activity summary."""
    business = db.session.get(Business, business_id)
    return daily(business, 1, now)[0]
