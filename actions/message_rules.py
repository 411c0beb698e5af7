"""The rules every message write follows, whichever path stores the message.

Messages are stored by two writers: people's messages by the group commit of
``infra.message_writer`` (text sends in batches, and a message with attachments on the
session's own transaction), bot replies by ``actions.bot_replies``. Both take their rules
from here. Each rule is a Python function, for code that holds the rows, and the same rule
as SQL, for the statements that judge a whole batch in the database; ``tests/chat/
test_message_rules.py`` runs one table of cases through every path.

- **Visibility**: a customer sees their own customer rooms; staff see every customer room
  of their business and the staff rooms they are a member of. Listing, reading and
  writing all use it.
- **Writing**: what one may see and is not closed.
- **Pending start**: a customer's message in a customer room starts ``pending`` for the
  automation; every other message (staff, bot, staff rooms) starts with nothing to do.
- **Reopen**: a staff reply in a customer room that waits for staff opens it again.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select

from models import Participant, Room
from models.chat import AutomationState, RoomStatus, RoomType


# --- visibility ------------------------------------------------------------------------------
def can_see(is_staff: bool, actor_id: int, business_id: int | None, room: Room,
            is_member: bool) -> bool:
    """Visibility of ``room`` to an actor; ``is_member``: the actor's membership of it."""
    if room.type == RoomType.CUSTOMER:
        return room.business_id == business_id if is_staff else room.customer_id == actor_id
    return is_staff and room.business_id == business_id and is_member


def visible_filter(is_staff: bool, actor_id: int, business_id: int | None
                   ) -> ColumnElement[bool]:
    """Visibility as a filter on ``Room``, for listing."""
    if not is_staff:
        return and_(Room.type == RoomType.CUSTOMER, Room.customer_id == actor_id)
    member_of = select(Participant.room_id).where(
        Participant.user_id == actor_id, Participant.is_member.is_(True))
    return and_(Room.business_id == business_id,
                or_(Room.type == RoomType.CUSTOMER, Room.id.in_(member_of)))


def visible_sql(room: str, is_staff: str, actor_id: str, business_id: str) -> str:
    """Visibility as an SQL condition on the ``rooms`` row aliased ``room``; the other
    arguments are SQL expressions (columns or bind parameters)."""
    return (
        f"CASE WHEN {is_staff} THEN {room}.business_id = {business_id}"
        f" AND ({room}.type = '{RoomType.CUSTOMER}' OR EXISTS (SELECT 1 FROM participants p"
        f" WHERE p.room_id = {room}.id AND p.user_id = {actor_id} AND p.is_member))"
        f" ELSE {room}.type = '{RoomType.CUSTOMER}' AND {room}.customer_id = {actor_id} END"
    )


# --- writing ---------------------------------------------------------------------------------
def writable(status: str) -> bool:
    return status != RoomStatus.CLOSED


def writable_sql(room: str) -> str:
    return f"{room}.status != '{RoomStatus.CLOSED}'"


# --- the automation's pending start ----------------------------------------------------------
def automation_state(room_type: str, sender_type: str) -> AutomationState:
    """The state a new message starts in."""
    if room_type == RoomType.CUSTOMER and sender_type == "customer":
        return AutomationState.PENDING
    return AutomationState.NONE


def automation_state_sql(room_type: str, is_staff: str) -> str:
    return (f"CASE WHEN {room_type} = '{RoomType.CUSTOMER}' AND NOT {is_staff}"
            f" THEN '{AutomationState.PENDING}' ELSE '{AutomationState.NONE}' END")


# --- a staff reply reopens a waiting room ----------------------------------------------------
def reopens(room_type: str, status: str, is_staff: bool) -> bool:
    return is_staff and room_type == RoomType.CUSTOMER and status == RoomStatus.WAITING


def reopens_sql(is_staff: str, room_type: str, status: str) -> str:
    """The rule as an SQL condition; the arguments are SQL expressions."""
    return (f"({is_staff}) AND {room_type} = '{RoomType.CUSTOMER}'"
            f" AND {status} = '{RoomStatus.WAITING}'")


# What reopening sets; rooms.set_status applies the same to an ORM row.
REOPENED = {"status": f"'{RoomStatus.OPEN}'", "waiting_since": "NULL",
            "escalation_reminded_at": "NULL"}


def reopen_assignments(room: str, condition: str) -> str:
    """SET clauses that reopen ``room`` where ``condition`` holds and keep it otherwise."""
    return ", ".join(f"{column} = CASE WHEN {condition} THEN {value} ELSE {room}.{column} END"
                     for column, value in REOPENED.items())


REOPEN_SQL = (
    "UPDATE rooms SET " + ", ".join(f"{column} = {value}" for column, value in REOPENED.items())
    + f" WHERE id = :room_id AND status = '{RoomStatus.WAITING}'"
)
