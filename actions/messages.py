"""Messages: send (the hot path), history and catch-up, read receipts.

The rules of a write (who may write where, what starts the automation, what reopens a
room) are ``actions.message_rules``'; bot replies are ``actions.bot_replies``.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from actions import events, rooms
from actions import message_rules as rules
from actions.actors import Actor
from actions.errors import Conflict, InvalidInput, RateLimited
from infra import jobs, message_writer, rate_limits, tx
from models import Message, Participant, Room, db
from models.base import iso, utcnow
from models.chat import AutomationState, RoomStatus, message_dict
from workers import task_names

log = logging.getLogger("chat")
AUTOMATION_TASK = task_names.PROCESS_CUSTOMER_MESSAGES
MAX_PAGE = 200


def clean_content(content: object) -> str:
    if not isinstance(content, str):
        raise InvalidInput("content must be a string.")
    text = content.strip()
    limit = current_app.config["SETTINGS"].max_message_chars
    if not text:
        raise InvalidInput("content must not be empty.", code="empty_content")
    if len(text) > limit:
        raise InvalidInput(f"content is longer than {limit} characters.", code="content_too_long")
    return text


def send(
    actor: Actor,
    room_id: int,
    content: object,
    client_msg_id: str | None = None,
    attachment_ids: list[int] | None = None,
) -> tuple[dict, bool]:
    """Store a message and emit it after commit. Returns (message, created).

    A repeated client_msg_id from the same sender returns the stored message and
    emits nothing, so a client may retry a send whose ack it never saw (even one
    that the rate limit would now refuse).
    """
    text = clean_content(content)
    try:
        rate_limits.hit(current_app.config["SETTINGS"].rate_limit_messages, "send", actor.id)
    except RateLimited:
        repeated = _repeated(actor, room_id, client_msg_id)
        if repeated is None:
            raise
        return repeated, False
    item = message_writer.PendingSend(
        actor_id=actor.id, is_staff=actor.is_staff, business_id=actor.business_id,
        room_id=room_id, content=text, client_msg_id=client_msg_id, created_at=utcnow(),
    )
    if attachment_ids:
        stored = _store_with_attachments(actor, item, attachment_ids)
    else:
        stored = _store(item)
    if stored is None:  # no seq taken: a repeated client_msg_id, or a room one may not write
        repeated = _repeated(actor, room_id, client_msg_id)
        if repeated is None:
            raise _refusal(actor, room_id)
        return repeated, False
    outcome, attachments = stored
    data = message_dict(outcome.id, room_id, outcome.seq, actor.id, item.sender_type, text,
                        client_msg_id, item.created_at, attachments=attachments)
    events.new_message(data)
    if outcome.reopened:
        events.room_updated(actor.business_id, room_id, RoomStatus.OPEN, None)
    if rules.automation_state(outcome.room_type, item.sender_type) == AutomationState.PENDING:
        jobs.enqueue_item(AUTOMATION_TASK, outcome.id)
    # Commits a message with attachments; a text message the writer has committed on its
    # own connection already, and this (empty) commit runs the emits and the enqueue.
    tx.commit()
    _log_stored(actor, data)
    return data, True


Stored = tuple[message_writer.StoredSend, "list[dict] | None"]


def _store(item: message_writer.PendingSend) -> Stored | None:
    """A text message, through the group commit."""
    if db.session.registry.has() and db.session().in_transaction():
        # The writer uses its own connection; end the caller's (read) transaction first, so
        # it neither holds the write lock the writer needs nor sees a stale snapshot.
        tx.commit()
    writer = message_writer.for_engine(db.engine)
    outcome = writer.submit(item)
    if isinstance(outcome, message_writer.BatchFailed):
        try:
            outcome = writer.write_alone(item)
        except IntegrityError:  # the same client_msg_id, stored by another process just now
            return None
    return None if outcome is None else (outcome, None)


def _store_with_attachments(actor: Actor, item: message_writer.PendingSend,
                            attachment_ids: list[int]) -> Stored | None:
    """A message with attachments: stored by the same writer's rules in the session's
    transaction, which links the uploads before it commits."""
    from actions import attachments as attachment_actions

    writer = message_writer.for_engine(db.engine)
    try:
        outcome = writer.store_in(db.session.connection(), [item])[0]
    except IntegrityError:
        tx.rollback()
        return None
    if outcome is None:
        tx.rollback()
        return None
    attachments = attachment_actions.link_to_message(actor, item.room_id, outcome.id,
                                                     attachment_ids)
    return outcome, attachments


def _repeated(actor: Actor, room_id: int, client_msg_id: str | None) -> dict | None:
    """The message this sender already stored under ``client_msg_id``, if any; 409 if that
    message is in another room."""
    if client_msg_id is None:
        return None
    existing = db.session.scalar(
        select(Message).where(Message.sender_id == actor.id,
                              Message.client_msg_id == client_msg_id))
    if existing is None:
        return None
    if existing.room_id != room_id:
        raise Conflict(
            "This client_msg_id was already used in another room.", code="client_msg_id_reused"
        )
    return with_attachments([existing])[0]


def _refusal(actor: Actor, room_id: int) -> Exception:
    """Why no seq was taken: the room is missing or not visible (404), closed (409), or a
    concurrent write got in the way (409, try again)."""
    tx.rollback()
    room = rooms.visible_room(actor, room_id)  # raises NotFound for a room one may not see
    if not rules.writable(room.status):
        return Conflict("This conversation is closed.", code="room_closed")
    return Conflict("The message could not be stored; try again.")


def _log_stored(actor: Actor, data: dict) -> None:
    # Per message at DEBUG: at INFO it was the largest single cost of a send after the
    # socket itself (a formatted record per message, ~9 % of the web's CPU under load).
    log.debug("message stored id=%s room=%s seq=%s", data["id"], data["room_id"], data["seq"],
             extra={"event": "message.stored", "message_id": data["id"],
                    "room_id": data["room_id"], "seq": data["seq"], "sender_id": actor.id,
                    "sender_type": actor.sender_type})


def with_attachments(messages: list[Message]) -> list[dict]:
    from actions import attachments as attachment_actions

    by_message = attachment_actions.dicts_for_messages([m.id for m in messages]) if messages else {}
    return [m.to_dict(by_message.get(m.id)) for m in messages]


def history(
    actor: Actor,
    room_id: int,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> tuple[Room, list[dict], bool]:
    """A page of messages in ascending seq, and whether more lie beyond it.

    With after_seq: the oldest page above it (catch-up); otherwise the newest
    page below before_seq (or overall).
    """
    room = rooms.visible_room(actor, room_id)
    return room, *page(room.id, after_seq, before_seq, limit)


def page(
    room_id: int, after_seq: int | None, before_seq: int | None, limit: int
) -> tuple[list[dict], bool]:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.")
    query = select(Message).where(Message.room_id == room_id)
    if after_seq is not None:
        query = query.where(Message.seq > after_seq)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    if after_seq is not None:
        rows = list(db.session.scalars(query.order_by(Message.seq).limit(limit + 1)))
        has_more = len(rows) > limit
        rows = rows[:limit]
    else:
        rows = list(db.session.scalars(query.order_by(Message.seq.desc()).limit(limit + 1)))
        has_more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
    return with_attachments(rows), has_more


def mark_read(actor: Actor, room_id: int, up_to_seq: int) -> int:
    """Move the reader's pointer forward (never back) and tell the room. Returns the pointer."""
    room = rooms.visible_room(actor, room_id)
    target = max(0, min(up_to_seq, room.last_seq))
    now = utcnow()
    participant = db.session.get(Participant, (room.id, actor.id))
    if participant is None:
        try:
            with db.session.begin_nested():
                db.session.add(Participant(
                    room_id=room.id,
                    user_id=actor.id,
                    last_read_seq=0,
                    is_member=room.type == "staff" or not actor.is_staff,
                ))
        except IntegrityError:  # the same user's other tab made their first read just now
            pass
    moved = db.session.execute(
        update(Participant)
        .where(
            Participant.room_id == room.id,
            Participant.user_id == actor.id,
            Participant.last_read_seq < target,
        )
        .values(last_read_seq=target, last_read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        events.messages_read(room.id, actor.id, target, iso(now))
        tx.commit()
        return target
    tx.commit()
    return max(
        target,
        db.session.scalar(
            select(Participant.last_read_seq).where(
                Participant.room_id == room.id, Participant.user_id == actor.id
            )
        )
        or 0,
    )
