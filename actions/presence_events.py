"""Presence changes: last_seen_at in the database and presence:update to those who care."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from actions import events
from actions.actors import Actor
from infra import tx
from models import Room, User, db
from models.base import iso


def _audience(user_id: int, role: str, business_id: int | None) -> list[str]:
    if role in ("staff", "owner") and business_id is not None:
        return [events.business_channel(business_id)]
    rows = db.session.execute(
        select(Room.business_id).where(Room.customer_id == user_id).distinct()
    )
    return [events.business_channel(row[0]) for row in rows]


def announce(user_id: int, role: str, business_id: int | None, online: bool) -> None:
    """Record the change and tell the user's business (or the customer's businesses)."""
    now = datetime.now(UTC)
    db.session.execute(update(User).where(User.id == user_id).values(last_seen_at=now))
    tx.commit()
    events.presence_update(_audience(user_id, role, business_id), user_id, online, iso(now))


def announce_actor(actor: Actor, online: bool) -> None:
    announce(actor.id, actor.role, actor.business_id, online)


def went_offline(user_id: int) -> None:
    user = db.session.get(User, user_id)
    if user is not None:
        announce(user.id, user.role, user.business_id, False)
