"""Accounts and revoked tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import TZDateTime, db, iso, utcnow


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'staff', 'owner')", name="role"),
        Index("ix_users_business_role", "business_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="customer")
    business_id: Mapped[int | None] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE", use_alter=True)
    )
    last_seen_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Read-all is a watermark, so marking thousands of notifications read is one update.
    notifications_read_through_id: Mapped[int] = mapped_column(Integer, default=0)
    notifications_read_through_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "owner")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "business_id": self.business_id,
            "last_seen_at": iso(self.last_seen_at),
            "created_at": iso(self.created_at),
        }


class RevokedToken(db.Model):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_type: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class AuthSession(db.Model):
    """One sign-in: its refresh token and every access token refreshed from it share its id
    (the `fam` claim), so logout ends all of them, and their sockets, at once."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # When its refresh token expires; the row can be purged after that.
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
