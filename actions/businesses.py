"""Businesses: creation (the creator becomes owner), settings and staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime

from actions import auth
from actions.actors import Actor, require_owner_of
from actions.errors import Conflict, InvalidInput, NotFound, Unprocessable
from actions.seed import seed_business_content
from infra import tx
from logic import business_hours as bh
from models import Business, User, db
from models.base import iso


def _validated_schedule_fields(
    timezone: object, hours: object, holidays: object
) -> tuple[str, dict, list[str]]:
    try:
        tz = bh.parse_timezone(timezone)
        parsed_hours = bh.parse_hours(hours)
        parsed_holidays = bh.parse_holidays(holidays)
    except bh.HoursConflict as exc:
        # Well-formed ranges that collide: the document cannot say so, hence 422, not 400.
        raise Unprocessable(str(exc), code="invalid_schedule") from exc
    except bh.HoursError as exc:
        raise InvalidInput(str(exc), code="invalid_schedule") from exc
    return tz.key, parsed_hours, parsed_holidays


def schedule_of(business: Business) -> bh.Schedule:
    return bh.build_schedule(business.timezone, business.business_hours, business.holidays)


def to_dict(business: Business, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    schedule = schedule_of(business)
    return {
        "id": business.id,
        "name": business.name,
        "timezone": business.timezone,
        "business_hours": business.business_hours,
        "holidays": business.holidays,
        "is_open_now": bh.is_open(schedule, now),
        "next_open_at": iso(bh.next_open_at(schedule, now)),
        "faq_threshold": business.faq_threshold,
        "suggestion_floor": business.suggestion_floor,
        "created_at": iso(business.created_at),
    }


def get(business_id: int) -> Business:
    business = db.session.get(Business, business_id)
    if business is None:
        raise NotFound("Business not found.")
    return business


def create(
    actor: Actor, name: str, timezone: str, hours: object = None, holidays: object = None
) -> tuple[Business, User]:
    user = auth.get_user(actor.id)
    if user.role != "customer" or user.business_id is not None:
        raise Conflict("This account already belongs to a business.", code="already_in_business")
    tz, parsed_hours, parsed_holidays = _validated_schedule_fields(
        timezone, bh.DEFAULT_HOURS if hours is None else hours, [] if holidays is None else holidays
    )
    business = Business(
        name=name.strip(),
        timezone=tz,
        business_hours=parsed_hours,
        holidays=parsed_holidays,
        owner_id=user.id,
    )
    db.session.add(business)
    db.session.flush()
    user.role = "owner"
    user.business_id = business.id
    seed_business_content(business)
    tx.commit()
    return business, user


_UPDATABLE = (
    "name",
    "timezone",
    "business_hours",
    "holidays",
    "faq_threshold",
    "suggestion_floor",
    "staff_absent_minutes",
    "escalation_reminder_minutes",
)


def update(actor: Actor, business_id: int, changes: dict) -> Business:
    business = get(business_id)
    require_owner_of(actor, business_id)
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    tz, hours, holidays = _validated_schedule_fields(
        changes.get("timezone", business.timezone),
        changes.get("business_hours", business.business_hours),
        changes.get("holidays", business.holidays),
    )
    business.timezone, business.business_hours, business.holidays = tz, hours, holidays
    for key in ("name", "faq_threshold", "suggestion_floor", "staff_absent_minutes",
                "escalation_reminder_minutes"):
        if key in changes:
            setattr(business, key, changes[key].strip() if key == "name" else changes[key])
    tx.commit()
    return business


def add_staff(actor: Actor, business_id: int, email: str, password: str, name: str) -> User:
    get(business_id)
    require_owner_of(actor, business_id)
    user = auth.create_user(email, password, name, role="staff", business_id=business_id)
    tx.commit()
    return user


def staff_ids(business_id: int, owners_only: bool = False) -> list[int]:
    roles = ("owner",) if owners_only else ("owner", "staff")
    rows = db.session.execute(
        db.select(User.id).where(User.business_id == business_id, User.role.in_(roles))
    )
    return [row[0] for row in rows]
