"""The automation of a customer message: welcome, business hours, FAQ, escalation.

Runs in a worker (in-process in the embedded mode). Everything one message
causes is written in one transaction with the message's automation_state, and
each bot reply carries a dedup key unique in its room, so a re-run task (retry,
crashed worker, beat sweep) has each effect once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from actions import businesses, faq_index, messages, presence, rooms, tx
from logic import business_hours as bh
from logic.faq_matcher import is_small_talk
from models import AutoResponse, Business, Message, Room, User, db
from models.base import as_utc, utcnow

log = logging.getLogger("automation")


def active_text(business_id: int, trigger: str) -> str | None:
    return db.session.scalar(
        select(AutoResponse.message)
        .where(
            AutoResponse.business_id == business_id,
            AutoResponse.trigger == trigger,
            AutoResponse.is_active.is_(True),
        )
        .order_by(AutoResponse.id)
        .limit(1)
    )


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


def process_customer_message(message_id: int, now: datetime | None = None) -> bool:
    """Run the pipeline for one customer message; False if there was nothing to do."""
    message = db.session.get(Message, message_id)
    if message is None or message.automation_state != "pending":
        return False
    # Lock the room: two messages of one room are automated one after the other.
    room = db.session.get(Room, message.room_id, with_for_update=True)
    db.session.refresh(message)
    if message.automation_state != "pending":
        tx.rollback()
        return False
    business = db.session.get(Business, room.business_id)
    now = now or utcnow()
    outcome = []

    if room.welcome_sent_at is None:
        text = active_text(business.id, "welcome")
        if text and messages.post_bot_message(room, "welcome", text, "welcome"):
            outcome.append("welcome")
        room.welcome_sent_at = now

    schedule = businesses.schedule_of(business)
    open_now = bh.is_open(schedule, now)
    if open_now:
        offline_key = staff_absence_key(business, now)
    else:
        offline_key = f"offline:{bh.closed_period_start(schedule, now).isoformat()}"
    if offline_key:
        text = active_text(business.id, "offline")
        if text:
            when = bh.format_next_open(bh.next_open_at(schedule, now), schedule.tz)
            if messages.post_bot_message(
                room, "offline", text.replace("{next_open_at}", when), offline_key
            ):
                outcome.append("offline")

    small_talk = is_small_talk(message.content)
    answered = False
    if not small_talk:
        index, answers = faq_index.index_for(business)
        match = index.match(message.content, business.faq_threshold)
        if match is not None:
            answered = True
            if messages.post_bot_message(
                room,
                "faq",
                answers[match.faq_id],
                f"faq:{message.id}",
                faq_id=match.faq_id,
                confidence=match.confidence,
            ):
                outcome.append("faq")

    if not small_talk and not answered and offline_key is None and room.type == "customer":
        escalate(room, business, message)
        outcome.append("escalated")

    message.automation_state = "done"
    tx.commit()
    log.info(
        "automation done", extra={"message_id": message.id, "room_id": room.id, "outcome": outcome}
    )
    return True


def escalate(room: Room, business: Business, message: Message) -> None:
    """Hand the conversation to a human: waiting status, a note to the customer, staff told."""
    if room.status == "waiting_for_staff":
        return  # already waiting: one escalation per wait, not one per message
    rooms.set_status(room, "waiting_for_staff")
    text = active_text(business.id, "escalation")
    if text:
        messages.post_bot_message(room, "escalation", text, f"escalation:{message.id}")
    from actions import audit

    customer = db.session.get(User, room.customer_id) if room.customer_id else None
    audit.record_event(
        business.id,
        "chat.escalated",
        {
            "room_id": room.id,
            "message_id": message.id,
            "customer_name": customer.name if customer else None,
            "question": message.content[:200],
        },
        idempotency_key=f"chat.escalated:{message.id}",
        commit=False,
    )


def remind_escalations(now: datetime | None = None) -> int:
    """Notify staff again about conversations left waiting past the reminder time in hours."""
    now = now or utcnow()
    default = current_app.config["SETTINGS"].escalation_reminder_minutes
    waiting = list(
        db.session.scalars(
            select(Room)
            .where(
                Room.status == "waiting_for_staff",
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


def pending_message_ids(
    older_than_seconds: int = 30, limit: int = 500, max_attempts: int = 5
) -> list[int]:
    """Messages whose automation stayed pending: counted, and given up on after max_attempts."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    stale = list(
        db.session.scalars(
            select(Message)
            .where(Message.automation_state == "pending", Message.created_at < cutoff)
            .order_by(Message.id)
            .limit(limit)
        )
    )
    ids = []
    for message in stale:
        message.automation_attempts += 1
        if message.automation_attempts > max_attempts:
            message.automation_state = "failed"
            log.error("automation gave up", extra={"message_id": message.id})
        else:
            ids.append(message.id)
    tx.commit()
    return ids
