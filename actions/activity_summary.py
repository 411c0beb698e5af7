"""The dashboard's at-a-glance figures: recent events by type and conversations needing staff."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from actions import automation_stats
from actions.actors import Actor, require_staff
from models import AuditLog, Room, db
from models.base import as_utc, iso, utcnow
from models.chat import RoomStatus

WINDOW_HOURS = 24


def summary(actor: Actor) -> dict:
    """Events per type in the last 24 h and the business's customer conversations by state.

    ``open_conversations`` counts rooms in state ``open``, ``waiting_conversations``
    those in ``waiting_for_staff`` (a customer asked something the bot could not
    answer); closed rooms and staff rooms are left out.
    """
    business_id = require_staff(actor)
    now = utcnow()
    since = now - timedelta(hours=WINDOW_HOURS)
    by_type = dict(
        db.session.execute(
            select(AuditLog.type, func.count(AuditLog.id))
            .where(AuditLog.business_id == business_id, AuditLog.created_at >= since)
            .group_by(AuditLog.type)
        ).all()
    )
    rooms = dict(
        db.session.execute(
            select(Room.status, func.count(Room.id))
            .where(Room.business_id == business_id, Room.type == "customer",
                   Room.status.in_((RoomStatus.OPEN, RoomStatus.WAITING)))
            .group_by(Room.status)
        ).all()
    )
    oldest_waiting = db.session.scalar(
        select(func.min(Room.waiting_since)).where(
            Room.business_id == business_id, Room.type == "customer",
            Room.status == RoomStatus.WAITING,
        )
    )
    ordered = dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0])))
    return {
        "window_hours": WINDOW_HOURS,
        "since": iso(since),
        "generated_at": iso(now),
        "events_total": sum(ordered.values()),
        "events_by_type": ordered,
        "open_conversations": int(rooms.get(RoomStatus.OPEN, 0)),
        "waiting_conversations": int(rooms.get(RoomStatus.WAITING, 0)),
        "oldest_waiting_since": iso(as_utc(oldest_waiting)),
        # The automation's figures of the business's day so far (see automation_stats).
        "automation_today": automation_stats.today(business_id, now),
    }
