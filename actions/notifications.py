"""Notifications: made from audit entries, listed and read per staff member.

Read state is per user: a notification is read for user U when its id is at
or below U's ``notifications_read_through_id`` (set by read-all, so marking
thousands read is one update) or U has a ``notification_reads`` row for it.
The list endpoint is the truth; ``notification:new`` is a hint, so a client
that reconnects asks the list again rather than counting events.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from actions import events
from actions.actors import Actor, require_staff
from actions.errors import NotFound
from actions.notification_rules import (
    effective_rule,
    render_for,
)
from infra import tx
from infra.pagination import clamp_limit, newest_first
from models import AuditLog, Notification, NotificationRead, User, db
from models.base import as_utc, iso, utcnow

log = logging.getLogger("activity")


@dataclass(frozen=True)
class NotificationPage:
    items: list[dict]
    unread_count: int
    next_before_id: int | None


def serialise(notification: Notification, read_at: datetime | None = None) -> dict:
    body = notification.to_dict(read_at=as_utc(read_at))
    body["audit_log_id"] = notification.audit_log_id
    return body


def _store(fields: dict) -> tuple[Notification, bool]:
    """Insert the notification; if its audit entry already has one, return that."""
    notification = Notification(**fields, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        audit_log_id = fields.get("audit_log_id")
        if audit_log_id is None:
            raise
        existing = db.session.scalar(
            select(Notification).where(Notification.audit_log_id == audit_log_id)
        )
        if existing is None:
            raise
        return existing, False
    return notification, True


def _publish(notification: Notification) -> None:
    events.notification_new(
        notification.business_id, serialise(notification),
        owners_only=notification.audience == "owners",
    )


def _log_fields(notification: Notification) -> dict:
    # Taken before the commit expires the object, so logging costs no query.
    return {"notification_id": notification.id, "business_id": notification.business_id,
            "event_type": notification.type, "severity": notification.severity,
            "audience": notification.audience, "audit_log_id": notification.audit_log_id}


def convert_audit_entry(audit_log_id: int) -> int | None:
    """Apply the business's rule to one audit entry; returns the notification id, if any.

    Idempotent: only a ``pending`` entry is converted, under a row lock
    (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers anyway), and the
    unique ``audit_log_id`` keeps a second notification out even if two runs
    race. ``audit:log`` and ``notification:new`` go out once, after the commit
    that marks the entry ``done``.
    """
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.id == audit_log_id).with_for_update()
    )
    if entry is None or entry.processing_state != "pending":
        tx.rollback()  # releases the lock; the entry is gone or already handled
        return db.session.scalar(
            select(Notification.id).where(Notification.audit_log_id == audit_log_id)
        )
    rule = effective_rule(entry.business_id, entry.type)
    notification: Notification | None = None
    created = False
    if rule.enabled:
        title, message = render_for(rule, entry.data)
        notification, created = _store({
            "business_id": entry.business_id, "audit_log_id": entry.id, "type": entry.type,
            "title": title, "message": message, "data": dict(entry.data or {}),
            "severity": rule.severity, "audience": rule.audience,
        })
    entry.processing_state = "done"
    events.audit_log(entry.business_id, entry.to_dict())
    made = _log_fields(notification) if notification is not None else None
    if notification is not None and created:
        _publish(notification)
    tx.commit()
    if made is not None and created:
        log.info("notification made", extra=made)
    return made["notification_id"] if made is not None else None


def _visible(actor: Actor) -> list:
    business_id = require_staff(actor)
    conditions = [Notification.business_id == business_id]
    if not actor.is_owner:
        conditions.append(Notification.audience == "all")
    return conditions


def _reader(actor: Actor) -> User:
    user = db.session.get(User, actor.id)
    if user is None:
        raise NotFound("Account not found.")
    return user


def _read_join(user_id: int):
    return and_(NotificationRead.notification_id == Notification.id,
                NotificationRead.user_id == user_id)


def _unread(user: User):
    return and_(Notification.id > (user.notifications_read_through_id or 0),
                NotificationRead.user_id.is_(None))


def unread_count(actor: Actor) -> int:
    visible = _visible(actor)
    user = _reader(actor)
    return int(db.session.scalar(
        select(func.count(Notification.id))
        .outerjoin(NotificationRead, _read_join(user.id))
        .where(*visible, _unread(user))
    ) or 0)


def _read_at(user: User, notification: Notification,
             row_read_at: datetime | None) -> datetime | None:
    if row_read_at is not None:
        return row_read_at
    if notification.id <= (user.notifications_read_through_id or 0):
        return user.notifications_read_through_at
    return None


def list_for(actor: Actor, unread: bool = False, limit: int | None = None,
             before_id: int | None = None) -> NotificationPage:
    """The caller's notifications, newest first, each with the caller's own read_at."""
    visible = _visible(actor)
    user = _reader(actor)
    limit = clamp_limit(limit)
    query = (
        select(Notification, NotificationRead.read_at)
        .outerjoin(NotificationRead, _read_join(user.id))
        .where(*visible)
    )
    if unread:
        query = query.where(_unread(user))
    rows, next_before_id = newest_first(query, Notification.id, before_id, limit,
                                        lambda q: db.session.execute(q).all(),
                                        lambda row: row[0].id)
    items = [serialise(n, _read_at(user, n, read_at)) for n, read_at in rows]
    return NotificationPage(items, unread_count(actor), next_before_id)


def _get_visible(actor: Actor, notification_id: int) -> Notification:
    notification = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, *_visible(actor))
    )
    if notification is None:
        # Another business's notification, or an owners-only one, looks absent.
        raise NotFound("Notification not found.")
    return notification


def mark_read(actor: Actor, notification_id: int) -> tuple[dict, int]:
    """Mark one notification read for the caller only; returns it and the unread count."""
    notification = _get_visible(actor, notification_id)
    user = _reader(actor)
    existing = db.session.get(NotificationRead, (notification.id, user.id))
    read_at = _read_at(user, notification, existing.read_at if existing else None)
    if read_at is None:
        row = NotificationRead(notification_id=notification.id, user_id=user.id,
                               read_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(row)
            read_at = row.read_at
        except IntegrityError:  # the same user's other tab got there first
            read_at = db.session.scalar(
                select(NotificationRead.read_at).where(
                    NotificationRead.notification_id == notification.id,
                    NotificationRead.user_id == user.id,
                )
            )
    body = serialise(notification, read_at)
    tx.commit()
    return body, unread_count(actor)


def mark_all_read(actor: Actor) -> dict:
    """Move the caller's watermark to the newest notification they can see."""
    visible = _visible(actor)
    newest = db.session.scalar(select(func.max(Notification.id)).where(*visible)) or 0
    user = db.session.scalar(select(User).where(User.id == actor.id).with_for_update())
    if user is None:
        raise NotFound("Account not found.")
    now = utcnow()
    if newest > (user.notifications_read_through_id or 0):
        user.notifications_read_through_id = newest
        user.notifications_read_through_at = now
    # Single reads above the watermark stay: they were made by hand, after it.
    through_id = user.notifications_read_through_id
    through_at = user.notifications_read_through_at
    tx.commit()
    return {
        "unread_count": unread_count(actor),
        "read_through_id": through_id,
        "read_at": iso(as_utc(through_at)),
    }
