"""Rooms: customer conversations with a business and staff rooms inside one."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from actions import events
from actions import message_rules as rules
from actions.actors import Actor, require_staff
from actions.errors import Forbidden, NotFound, Unprocessable
from infra import tx
from models import Business, Message, Participant, Room, User, db
from models.base import iso, utcnow
from models.chat import RoomStatus, RoomType


def visible_room(actor: Actor, room_id: int) -> Room:
    """The room if the actor may see it; 404 otherwise (never 403, so ids do not leak)."""
    room = db.session.get(Room, room_id)
    if room is None or not can_see(actor, room):
        raise NotFound("Room not found.")
    return room


def can_see(actor: Actor, room: Room) -> bool:
    is_member = room.type == RoomType.STAFF and actor.is_staff and db.session.scalar(
        select(Participant.is_member).where(
            Participant.room_id == room.id, Participant.user_id == actor.id)) is True
    return rules.can_see(actor.is_staff, actor.id, actor.business_id, room, is_member)


def get_or_create_customer_room(actor: Actor, business_id: int) -> tuple[Room, bool]:
    if actor.is_staff:
        raise Forbidden("Staff open staff rooms; customer rooms are opened by customers.")
    if db.session.get(Business, business_id) is None:
        raise NotFound("Business not found.")
    room = _open_customer_room(actor.id, business_id)
    if room is not None:
        return room, False
    room = Room(
        business_id=business_id,
        type=RoomType.CUSTOMER,
        customer_id=actor.id,
        created_by=actor.id,
        status=RoomStatus.OPEN,
    )
    db.session.add(room)
    try:
        db.session.flush()
    except IntegrityError:  # the same customer opened it from another tab at the same moment
        tx.rollback()
        existing = _open_customer_room(actor.id, business_id)
        if existing is None:
            raise
        return existing, False
    db.session.add(Participant(room_id=room.id, user_id=actor.id, is_member=True))
    events.new_conversation(business_id, room_dict(room, actor.id))
    tx.commit()
    return room, True


def _open_customer_room(customer_id: int, business_id: int) -> Room | None:
    return db.session.scalar(
        select(Room).where(
            Room.business_id == business_id,
            Room.customer_id == customer_id,
            Room.type == RoomType.CUSTOMER,
            Room.status != RoomStatus.CLOSED,
        )
    )


def create_staff_room(
    actor: Actor, participant_ids: list[int], name: str | None
) -> tuple[Room, bool]:
    business_id = require_staff(actor)
    member_ids = sorted(set(participant_ids) | {actor.id})
    if len(member_ids) < 2:
        # Well-formed ids that do not make a room: 422, as for ids that are not colleagues.
        raise Unprocessable("A staff room needs at least one other participant.",
                            code="invalid_participants")
    found = set(
        db.session.scalars(
            select(User.id).where(
                User.id.in_(member_ids),
                User.business_id == business_id,
                User.role.in_(("staff", "owner")),
            )
        )
    )
    missing = [uid for uid in member_ids if uid not in found]
    if missing:
        raise Unprocessable(f"Not staff of this business: {missing}.",
                            code="invalid_participants")
    # A blank name is no name: it must not make a second unnamed direct room.
    name = (name or "").strip() or None
    if len(member_ids) == 2 and name is None:
        existing = _direct_room(business_id, member_ids)
        if existing is not None:
            return existing, False
    room = Room(
        business_id=business_id,
        type=RoomType.STAFF,
        name=name,
        created_by=actor.id,
        status=RoomStatus.OPEN,
    )
    db.session.add(room)
    db.session.flush()
    for uid in member_ids:
        db.session.add(Participant(room_id=room.id, user_id=uid, is_member=True))
    db.session.flush()
    payload = room_dict(room, actor.id)
    events.new_staff_room(member_ids, payload)
    tx.commit()
    return room, True


def _direct_room(business_id: int, member_ids: list[int]) -> Room | None:
    """An unnamed two-person staff room between exactly these two, as in Slack DMs."""
    candidates = (
        select(Participant.room_id)
        .join(Room, Room.id == Participant.room_id)
        .where(
            Room.business_id == business_id,
            Room.type == RoomType.STAFF,
            Room.name.is_(None),
            Participant.is_member.is_(True),
        )
        .group_by(Participant.room_id)
        .having(
            func.count() == 2,
            func.sum(Participant.user_id.in_(member_ids).cast(db.Integer)) == 2,
        )
    )
    room_id = db.session.scalar(candidates.limit(1))
    return db.session.get(Room, room_id) if room_id else None


def list_rooms(actor: Actor) -> list[dict]:
    """Rooms the actor may see, newest activity first, with last message and unread count."""
    query = select(Room).where(rules.visible_filter(actor.is_staff, actor.id, actor.business_id))
    rooms = list(
        db.session.scalars(query.order_by(Room.last_activity_at.desc(), Room.id.desc()).limit(500))
    )
    return _serialise_many(rooms, actor.id)


def _serialise_many(rooms: list[Room], viewer_id: int) -> list[dict]:
    if not rooms:
        return []
    ids = [r.id for r in rooms]
    last_messages = {
        m.room_id: m
        for m in db.session.scalars(
            select(Message)
            .join(Room, and_(Room.id == Message.room_id, Message.seq == Room.last_seq))
            .where(Message.room_id.in_(ids))
        )
    }
    unread = _unread_counts(ids, viewer_id)
    participants = _participants(ids)
    return [_fields(r, last_messages.get(r.id), unread.get(r.id, 0), participants.get(r.id, []))
            for r in rooms]


def _unread_counts(room_ids: list[int], viewer_id: int) -> dict[int, int]:
    read = (
        select(Participant.room_id, Participant.last_read_seq)
        .where(Participant.user_id == viewer_id, Participant.room_id.in_(room_ids))
        .subquery()
    )
    rows = db.session.execute(
        select(Message.room_id, func.count())
        .outerjoin(read, read.c.room_id == Message.room_id)
        .where(
            Message.room_id.in_(room_ids),
            Message.seq > func.coalesce(read.c.last_read_seq, 0),
            or_(Message.sender_id.is_(None), Message.sender_id != viewer_id),
        )
        .group_by(Message.room_id)
    )
    return {room_id: count for room_id, count in rows}


def _participants(room_ids: list[int]) -> dict[int, list[dict]]:
    rows = db.session.execute(
        select(Participant.room_id, User.id, User.name, User.role)
        .join(User, User.id == Participant.user_id)
        .where(Participant.room_id.in_(room_ids), Participant.is_member.is_(True))
        .order_by(Participant.joined_at, User.id)
    )
    result: dict[int, list[dict]] = {}
    for room_id, user_id, name, role in rows:
        result.setdefault(room_id, []).append({"user_id": user_id, "name": name, "role": role})
    return result


def room_dict(room: Room, viewer_id: int) -> dict:
    """A room as ``viewer_id`` sees it (the contract's room object)."""
    return _serialise_many([room], viewer_id)[0]


def _fields(room: Room, last_message: Message | None, unread: int, participants: list[dict]
            ) -> dict:
    return {
        "id": room.id,
        "business_id": room.business_id,
        "type": room.type,
        "name": room.name,
        "customer_id": room.customer_id,
        "participants": participants,
        "last_message": last_message.to_dict() if last_message else None,
        "last_seq": room.last_seq,
        "unread_count": unread,
        "status": room.status,
        "waiting_since": iso(room.waiting_since),
        "last_activity_at": iso(room.last_activity_at),
        "created_at": iso(room.created_at),
    }


def set_status(room: Room, status: RoomStatus) -> None:
    """Change the status in the caller's transaction and tell the business after commit."""
    if room.status == status:
        return
    room.status = status
    room.waiting_since = utcnow() if status == RoomStatus.WAITING else None
    if status != RoomStatus.WAITING:
        room.escalation_reminded_at = None
    db.session.flush()
    events.room_updated(room.business_id, room.id, status, iso(room.waiting_since))
