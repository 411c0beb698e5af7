"""Rooms, participants, messages and attachments."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, TZDateTime, db, iso, utcnow


class RoomType(StrEnum):
    CUSTOMER = "customer"  # a customer's conversation with a business
    STAFF = "staff"  # staff of one business among themselves


class RoomStatus(StrEnum):
    OPEN = "open"
    WAITING = "waiting_for_staff"  # escalated: a customer waits for a person
    CLOSED = "closed"  # read-only


class AutomationState(StrEnum):
    """Where a message stands with the automation (welcome, FAQ, offline, escalation)."""

    NONE = "none"  # not a customer's message in a customer room: nothing to do
    PENDING = "pending"  # stored, its automation not done yet (infra.pending_work)
    DONE = "done"
    FAILED = "failed"


SENDER_TYPES = ("customer", "staff", "bot")
KINDS = ("text", "welcome", "offline", "faq", "escalation")


def one_of(column: str, values: tuple[str, ...] | type[StrEnum]) -> str:
    """A CHECK constraint's text: the column holds one of the values."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


class Room(db.Model):
    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint(one_of("type", RoomType), name="type"),
        CheckConstraint(one_of("status", RoomStatus), name="status"),
        # One open conversation per customer and business; closed ones may pile up.
        Index(
            "uq_rooms_open_customer",
            "business_id",
            "customer_id",
            unique=True,
            sqlite_where=text("type = 'customer' AND status != 'closed'"),
            postgresql_where=text("type = 'customer' AND status != 'closed'"),
        ),
        Index("ix_rooms_business_activity", "business_id", "last_activity_at"),
        Index("ix_rooms_status_waiting", "status", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(24), default="open")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The seq of the newest message; the next message takes last_seq + 1 in its transaction.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # Automation state, kept on the room so each effect happens once.
    welcome_sent_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(TZDateTime)
    escalation_reminded_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Participant(db.Model):
    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_user", "user_id"),)

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Staff may read a customer room without belonging to it; such rows carry is_member False.
    is_member: Mapped[bool] = mapped_column(default=True)
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_read_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    joined_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


_UNCLAIMED = "automation_state = 'pending' AND automation_next_attempt_at IS NULL"


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
        UniqueConstraint("sender_id", "client_msg_id", name="uq_messages_sender_client_msg_id"),
        # An automated reply carries a key (e.g. "welcome", "faq:<msg id>") unique in its room.
        UniqueConstraint("room_id", "dedup_key", name="uq_messages_room_dedup_key"),
        CheckConstraint(one_of("sender_type", SENDER_TYPES), name="sender_type"),
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("automation_state", AutomationState), name="automation_state"),
        Index(
            "ix_messages_automation_pending",
            "automation_state",
            "created_at",
            sqlite_where=text("automation_state = 'pending'"),
            postgresql_where=text("automation_state = 'pending'"),
        ),
        # What a gathering worker asks for: the oldest pending rows no worker has claimed.
        # Walked in id order and left after a few live entries; the index on
        # (state, created_at) served it by visiting every entry pending ever had since the
        # last vacuum, 10 ms per claim after a few thousand messages.
        Index(
            "ix_messages_automation_unclaimed",
            "id",
            sqlite_where=text(_UNCLAIMED),
            postgresql_where=text(_UNCLAIMED),
        ),
        Index(
            "ix_messages_automation_failed",
            "automation_next_attempt_at",
            sqlite_where=text("automation_state = 'failed'"),
            postgresql_where=text("automation_state = 'failed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sender_type: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    content: Mapped[str] = mapped_column(Text)
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    dedup_key: Mapped[str | None] = mapped_column(String(80))
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faqs.id", ondelete="SET NULL"))
    confidence: Mapped[float | None] = mapped_column(Float)
    automation_state: Mapped[str] = mapped_column(String(16), default="none")
    automation_attempts: Mapped[int] = mapped_column(Integer, default=0)  # workers' attempts
    # When the beat sweep may hand the message to a worker again (infra.pending_work).
    automation_next_attempt_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # A bot reply: the customer message it answers. A customer message: what the automation
    # made of it, and the FAQs suggested for it below the threshold ([{faq_id, question,
    # confidence}]). An FAQ answer: the customer's "did this answer your question?".
    reply_to_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("messages.id", ondelete="SET NULL"))
    # answered, suggested, unanswered or small_talk (None: not automated, or not yet).
    outcome: Mapped[str | None] = mapped_column(String(16))
    suggestions: Mapped[list | None] = mapped_column(JSONType)
    feedback: Mapped[str | None] = mapped_column(String(16))  # helpful or not_helpful
    feedback_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    def to_dict(self, attachments: list[dict] | None = None) -> dict:
        data = message_dict(self.id, self.room_id, self.seq, self.sender_id, self.sender_type,
                            self.content, self.client_msg_id, self.created_at, self.kind,
                            attachments)
        if self.kind == "faq":
            add_faq_fields(data, self.faq_id, self.confidence, self.reply_to_id, self.dedup_key,
                           self.feedback)
        return data


def add_faq_fields(data: dict, faq_id: int | None, confidence: float | None,
                   reply_to_id: int | None, dedup_key: str | None, feedback: str | None) -> None:
    """An FAQ answer's own fields: the FAQ, its confidence, the question it answers, whether
    the customer picked it from suggestions, and the customer's feedback on it."""
    data["faq_id"] = faq_id
    data["confidence"] = confidence
    data["reply_to_id"] = reply_to_id
    data["picked"] = bool(dedup_key and dedup_key.startswith("pick:"))
    data["feedback"] = feedback


def message_dict(
    message_id: int,
    room_id: int,
    seq: int,
    sender_id: int | None,
    sender_type: str,
    content: str,
    client_msg_id: str | None,
    created_at: datetime,
    kind: str = "text",
    attachments: list[dict] | None = None,
) -> dict:
    """A message as clients see it (the contract's message object)."""
    return {
        "id": message_id,
        "room_id": room_id,
        "seq": seq,
        "sender_id": sender_id,
        "sender_type": sender_type,
        "kind": kind,
        "content": content,
        "attachments": attachments or [],
        "client_msg_id": client_msg_id,
        "created_at": iso(created_at),
    }


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_message", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "url": f"/api/chat/attachments/{self.id}",
            "created_at": iso(self.created_at),
        }
