"""Audit log entries of the host platform, notification rules and notifications."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
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

SEVERITIES = ("info", "warning", "critical")
AUDIENCES = ("all", "owners")


class AuditLog(db.Model):
    __tablename__ = "audit_logs"
    __table_args__ = (
        UniqueConstraint("business_id", "idempotency_key", name="uq_audit_logs_idempotency"),
        Index("ix_audit_logs_business_type_id", "business_id", "type", "id"),
        Index(
            "ix_audit_logs_pending",
            "processing_state",
            "created_at",
            sqlite_where=text("processing_state = 'pending'"),
            postgresql_where=text("processing_state = 'pending'"),
        ),
        Index(
            "ix_audit_logs_failed",
            "next_attempt_at",
            sqlite_where=text("processing_state = 'failed'"),
            postgresql_where=text("processing_state = 'failed'"),
        ),
        CheckConstraint(
            "processing_state IN ('pending', 'done', 'failed')", name="processing_state"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    processing_state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # workers' attempts
    # When the beat sweep may hand the entry to a worker again (infra.pending_work).
    next_attempt_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "actor_id": self.actor_id,
            "data": self.data or {},
            "created_at": iso(self.created_at),
        }


class NotificationRule(db.Model):
    """A business's override of the default rule for one event type."""

    __tablename__ = "notification_rules"
    __table_args__ = (
        UniqueConstraint("business_id", "event_type", name="uq_notification_rules_type"),
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity"),
        CheckConstraint("audience IN ('all', 'owners')", name="audience"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    audience: Mapped[str] = mapped_column(String(16), default="all")
    title_template: Mapped[str | None] = mapped_column(String(200))
    message_template: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # One notification per audit entry: a re-run conversion task finds it and stops.
        UniqueConstraint("audit_log_id", name="uq_notifications_audit_log"),
        Index("ix_notifications_business_id", "business_id", "id"),
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity"),
        CheckConstraint("audience IN ('all', 'owners')", name="audience"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    audit_log_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit_logs.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    audience: Mapped[str] = mapped_column(String(16), default="all")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    def to_dict(self, read_at: datetime | None = None) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "message": self.message,
            "data": self.data or {},
            "severity": self.severity,
            "audience": self.audience,
            "read_at": iso(read_at),
            "created_at": iso(self.created_at),
        }


class NotificationRead(db.Model):
    __tablename__ = "notification_reads"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
