"""Messages: send (the hot path), history and catch-up, read receipts, bot replies."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import Integer, String, bindparam, column, select, text, update
from sqlalchemy.exc import IntegrityError

from actions import events, rooms
from actions.actors import Actor
from actions.errors import Conflict, InvalidInput, RateLimited
from infra import jobs, message_writer, rate_limits, tx
from models import Message, Participant, Room, db
from models.base import TZDateTime, iso, utcnow
from models.chat import message_dict
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


_CLAIM_COLUMNS = (column("last_seq", Integer), column("type", String), column("status", String))
_CLAIM_AS_CUSTOMER = text(message_writer.CLAIM_SQL.format(
    visible=message_writer.VISIBLE_TO_CUSTOMER
)).bindparams(bindparam("now", type_=TZDateTime)).columns(*_CLAIM_COLUMNS)
_CLAIM_AS_STAFF = text(message_writer.CLAIM_SQL.format(
    visible=message_writer.VISIBLE_TO_STAFF
)).bindparams(bindparam("now", type_=TZDateTime)).columns(*_CLAIM_COLUMNS)
_INSERT = text(message_writer.INSERT_SQL).bindparams(
    bindparam("now", type_=TZDateTime)).columns(column("id", Integer))


def send(
    actor: Actor,
    room_id: int,
    content: object,
    client_msg_id: str | None = None,
    attachment_ids: list[int] | None = None,
) -> tuple[dict, bool]:
    """Store a message and emit it after commit. Returns (message, created).

    A repeated client_msg_id from the same sender returns the stored message and
    emits nothing, so a client may retry a send whose ack it never saw.
    """
    text = clean_content(content)
    try:
        rate_limits.hit(current_app.config["SETTINGS"].rate_limit_messages, "send", actor.id)
    except RateLimited:
        # A retry of a send that was stored gets its message back, not a 429.
        if client_msg_id is not None:
            try:
                return _existing(actor, room_id, client_msg_id), False
            except Conflict:
                pass
        raise
    if attachment_ids:
        return _send_with_attachments(actor, room_id, text, client_msg_id, attachment_ids)
    item = message_writer.PendingSend(
        actor_id=actor.id, is_staff=actor.is_staff, business_id=actor.business_id,
        room_id=room_id, content=text, client_msg_id=client_msg_id, created_at=utcnow(),
    )
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
            return _existing(actor, room_id, client_msg_id), False
    if outcome is None:
        return _unclaimed(actor, room_id, client_msg_id)
    data = message_dict(outcome.id, room_id, outcome.seq, actor.id, item.sender_type, text,
                        client_msg_id, item.created_at)
    # The writer has committed: emit and enqueue now.
    events.new_message(data, committed=True)
    if outcome.reopened:
        events.room_updated(actor.business_id, room_id, "open", None, committed=True)
    if outcome.room_type == "customer" and not actor.is_staff:
        jobs.enqueue_item(AUTOMATION_TASK, outcome.id, committed=True)
    _log_stored(actor, data)
    return data, True


def _unclaimed(actor: Actor, room_id: int, client_msg_id: str | None) -> tuple[dict, bool]:
    """Why the writer took no seq: a repeated client_msg_id, or a room the actor may not
    write to (missing, not visible: 404; closed: 409)."""
    if client_msg_id is not None:
        try:
            return _existing(actor, room_id, client_msg_id), False
        except Conflict as exc:
            if exc.code == "client_msg_id_reused":
                raise
    raise _refusal(actor, room_id)


def _log_stored(actor: Actor, data: dict) -> None:
    log.info("message stored id=%s room=%s seq=%s", data["id"], data["room_id"], data["seq"],
             extra={"event": "message.stored", "message_id": data["id"],
                    "room_id": data["room_id"], "seq": data["seq"], "sender_id": actor.id,
                    "sender_type": actor.sender_type})


def _claim_seq(actor: Actor, room_id: int) -> tuple[int, str, str] | None:
    """Take the next seq of a room the actor may write to, in the session's transaction."""
    params = {"now": utcnow(), "room_id": room_id, "actor_id": actor.id}
    if actor.is_staff:
        statement = _CLAIM_AS_STAFF
        params["business_id"] = actor.business_id
    else:
        statement = _CLAIM_AS_CUSTOMER
    row = db.session.execute(statement, params).one_or_none()
    return None if row is None else tuple(row)


def _refusal(actor: Actor, room_id: int) -> Exception:
    tx.rollback()
    rooms.visible_room(actor, room_id)  # raises NotFound for a room the actor may not see
    return Conflict("This conversation is closed.", code="room_closed")


def _send_with_attachments(
    actor: Actor, room_id: int, text: str, client_msg_id: str | None, attachment_ids: list[int]
) -> tuple[dict, bool]:
    """A message with attachments: stored through the session, linking the uploads in the
    same transaction."""
    from actions import attachments as attachment_actions

    claimed = _claim_seq(actor, room_id)
    if claimed is None:
        raise _refusal(actor, room_id)
    seq, room_type, status = claimed
    customer_message = room_type == "customer" and not actor.is_staff
    created_at = utcnow()
    try:
        message_id = db.session.execute(_INSERT, {
            "room_id": room_id, "seq": seq, "actor_id": actor.id,
            "sender_type": actor.sender_type, "content": text,
            "client_msg_id": client_msg_id,
            "automation_state": "pending" if customer_message else "none", "now": created_at,
        }).scalar_one()
    except IntegrityError:
        tx.rollback()
        return _existing(actor, room_id, client_msg_id), False
    attachments = attachment_actions.link_to_message(actor, room_id, message_id, attachment_ids)
    if actor.is_staff and room_type == "customer" and status == "waiting_for_staff":
        rooms.set_status(db.session.get(Room, room_id), "open")
    data = message_dict(message_id, room_id, seq, actor.id, actor.sender_type, text,
                        client_msg_id, created_at, attachments=attachments)
    events.new_message(data)
    if customer_message:
        jobs.enqueue_item(AUTOMATION_TASK, message_id)
    tx.commit()
    _log_stored(actor, data)
    return data, True


def _existing(actor: Actor, room_id: int, client_msg_id: str | None) -> dict:
    existing = None
    if client_msg_id is not None:
        existing = db.session.scalar(
            select(Message).where(
                Message.sender_id == actor.id, Message.client_msg_id == client_msg_id
            )
        )
    if existing is None:
        raise Conflict("The message could not be stored; try again.")
    if existing.room_id != room_id:
        raise Conflict(
            "This client_msg_id was already used in another room.", code="client_msg_id_reused"
        )
    return with_attachments([existing])[0]


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
