"""Businesses and their automation content: FAQs and auto-responses."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, TZDateTime, db, iso, utcnow

TRIGGERS = ("welcome", "offline", "escalation")
DEFAULT_SUGGESTION_FLOOR = 0.3
PROPOSAL_STATES = ("pending", "accepted", "rejected")


class Business(db.Model):
    __tablename__ = "businesses"
    __table_args__ = (
        CheckConstraint("faq_threshold >= 0 AND faq_threshold <= 1", name="faq_threshold"),
        CheckConstraint("suggestion_floor >= 0 AND suggestion_floor <= 1",
                        name="suggestion_floor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    business_hours: Mapped[dict] = mapped_column(JSONType, default=dict)
    holidays: Mapped[list] = mapped_column(JSONType, default=list)
    faq_threshold: Mapped[float] = mapped_column(Float, default=0.70)
    # Below the threshold but at or above this, a customer's question gets FAQ suggestions.
    suggestion_floor: Mapped[float] = mapped_column(Float, default=DEFAULT_SUGGESTION_FLOOR,
                                                    server_default="0.3")
    # Bumped on every FAQ change so each worker knows when to rebuild its index.
    faq_version: Mapped[int] = mapped_column(Integer, default=0)
    # Minutes without any staff online (during hours) after which the offline reply goes out.
    staff_absent_minutes: Mapped[int | None] = mapped_column(Integer)
    escalation_reminder_minutes: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Faq(db.Model):
    __tablename__ = "faqs"
    __table_args__ = (Index("ix_faqs_business_active", "business_id", "is_active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list] = mapped_column(JSONType, default=list)
    alternative_questions: Mapped[list] = mapped_column(JSONType, default=list)
    category: Mapped[str | None] = mapped_column(String(80))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "business_id": self.business_id,
            "question": self.question,
            "answer": self.answer,
            "keywords": list(self.keywords or []),
            "alternative_questions": list(self.alternative_questions or []),
            "category": self.category,
            "is_active": self.is_active,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


class AutoResponse(db.Model):
    __tablename__ = "auto_responses"
    __table_args__ = (
        CheckConstraint("trigger IN ('welcome', 'offline', 'escalation')", name="trigger"),
        Index("ix_auto_responses_business_trigger", "business_id", "trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "business_id": self.business_id,
            "trigger": self.trigger,
            "message": self.message,
            "is_active": self.is_active,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


class FaqProposal(db.Model):
    """A customer's question proposed as another phrasing of an FAQ, for staff to decide.

    Proposed when the customer marked the FAQ's answer to it helpful. Deleting the FAQ
    deletes its proposals; one proposal per customer message.
    """

    __tablename__ = "faq_proposals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name="status"),
        UniqueConstraint("source_message_id", name="uq_faq_proposals_source_message_id"),
        Index("ix_faq_proposals_business_status", "business_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    faq_id: Mapped[int] = mapped_column(ForeignKey("faqs.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(500))
    source_message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("messages.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "faq_id": self.faq_id,
            "question": self.question,
            "source_message_id": self.source_message_id,
            "status": self.status,
            "created_at": iso(self.created_at),
        }
