"""Which audit events become notifications, and how they read.

The defaults live here as data; a business overrides them per event type with
a row in ``notification_rules`` (enable or disable, severity, audience, and
optionally its own title and message templates). A type the business enables
that has no default is rendered with generic templates.

Templates name fields of the event's ``data`` as ``{field}`` or
``{field|fallback}``. Rendering never raises: a missing field renders its
fallback, or a readable placeholder such as "(unknown customer name)".
Text in square brackets that names a field is optional: ``booked {service}[ for
{starts_at}].`` reads "booked Colour." when ``starts_at`` is missing, instead of a
sentence built around a placeholder. Brackets that name no field are plain text.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from actions.actors import Actor, require_staff
from actions.errors import Forbidden, InvalidInput, NotFound
from infra import tx
from models import NotificationRule, db
from models.activity import AUDIENCES, SEVERITIES
from models.base import utcnow

TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_TYPE_CHARS = 64
MAX_TITLE_CHARS = 200
MAX_MESSAGE_CHARS = 1000
# One field's value is cut here, so a huge string in data cannot swamp a title.
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class Rule:
    type: str
    enabled: bool
    severity: str
    audience: str
    title: str
    message: str
    customised: bool = False
    has_default: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def _rule(type_: str, severity: str, title: str, message: str, *, enabled: bool = True,
          audience: str = "all") -> Rule:
    return Rule(type_, enabled, severity, audience, title, message)


DEFAULT_RULES: dict[str, Rule] = {
    rule.type: rule
    for rule in (
        _rule("booking.created", "info", "New booking",
              "{customer_name|A customer} booked {service|an appointment}[ for {starts_at}]."),
        _rule("booking.cancelled", "warning", "Booking cancelled",
              "{customer_name|A customer} cancelled {service|an appointment}"
              "[ for {starts_at}]."),
        _rule("booking.rescheduled", "info", "Booking rescheduled",
              "{customer_name|A customer} moved {service|an appointment}[ to {starts_at}]."),
        _rule("booking.no_show", "warning", "Missed appointment",
              "{customer_name|A customer} did not come to {service|an appointment}"
              "[ at {starts_at}]."),
        _rule("payment.failed", "critical", "Payment failed",
              "A payment of {amount|an unknown amount} {currency|} from "
              "{customer_name|a customer} failed: {reason|no reason given}."),
        _rule("payment.refunded", "info", "Payment refunded",
              "{amount|An amount} {currency|} was refunded to {customer_name|a customer}.",
              audience="owners"),
        # Recorded for the feed and the summary; a business may turn it on.
        _rule("payment.succeeded", "info", "Payment received",
              "{customer_name|A customer} paid {amount|an amount} {currency|}.",
              enabled=False),
        _rule("review.posted", "info", "New review",
              "{customer_name|A customer} left a[ {rating}-star] review: {comment|no comment}"),
        _rule("chat.escalated", "warning", "A customer is waiting for staff",
              "{customer_name|A customer} asked a question the FAQ bot could not answer: "
              "{question|(question not shown)}"),
    )
}

GENERIC_TITLE = "{_type}"
GENERIC_MESSAGE = "A {_type} event was recorded."

_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def check_type(value: object) -> str:
    """The event type if well-formed; raises InvalidInput otherwise."""
    if not isinstance(value, str):
        raise InvalidInput("type must be a string.", code="invalid_type")
    if len(value) > MAX_TYPE_CHARS or not TYPE_PATTERN.match(value):
        raise InvalidInput(
            "type must be dotted lowercase words such as booking.created "
            f"(at most {MAX_TYPE_CHARS} characters).",
            code="invalid_type",
        )
    return value


def _text_of(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def render(template: str, data: dict | None, event_type: str = "", limit: int = 1000) -> str:
    """Fill ``{field}`` / ``{field|fallback}`` from data; never raises.

    Only plain names are looked up (no attribute or index access), so a
    business's own template cannot reach anything but the event's data.
    """
    values = dict(data) if isinstance(data, dict) else {}
    values["_type"] = event_type

    def missing(name: str) -> bool:
        value = values.get(name)
        return value is None or value == ""

    def optional(match: re.Match) -> str:
        inner = match.group(1)
        fields = [(m.group(1), m.group(2)) for m in _FIELD.finditer(inner) if m.group(1)]
        if not fields:
            return match.group(0)  # brackets around plain text are plain text
        if any(missing(name) and fallback is None for name, fallback in fields):
            return ""
        return inner

    def fill(match: re.Match) -> str:
        whole = match.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        name, fallback = match.group(1), match.group(2)
        value = values.get(name)
        if value is None or value == "":
            if fallback is not None:
                return fallback
            return f"(unknown {name.replace('_', ' ')})"
        return _text_of(value)

    text = _FIELD.sub(fill, _OPTIONAL.sub(optional, template or ""))
    # A fallback left empty ("{currency|}") can leave doubled or trailing spaces.
    text = re.sub(r" {2,}", " ", text).replace(" .", ".").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_for(rule: Rule, data: dict | None) -> tuple[str, str]:
    title = render(rule.title, data, rule.type, MAX_TITLE_CHARS)
    message = render(rule.message, data, rule.type, MAX_MESSAGE_CHARS)
    return title or rule.type, message or rule.type


def _generic(type_: str) -> Rule:
    return Rule(type_, False, "info", "all", GENERIC_TITLE, GENERIC_MESSAGE, has_default=False)


def _merge(base: Rule, row: NotificationRule | None) -> Rule:
    if row is None:
        return base
    return replace(
        base,
        enabled=bool(row.enabled),
        severity=row.severity,
        audience=row.audience,
        title=row.title_template or base.title,
        message=row.message_template or base.message,
        customised=True,
    )


def _override(business_id: int, type_: str) -> NotificationRule | None:
    return db.session.scalar(
        select(NotificationRule).where(
            NotificationRule.business_id == business_id, NotificationRule.event_type == type_
        )
    )


def effective_rule(business_id: int, type_: str) -> Rule:
    """The default for the type with the business's override applied.

    A type with neither is disabled: only known or explicitly enabled events
    become notifications.
    """
    base = DEFAULT_RULES.get(type_) or _generic(type_)
    return _merge(base, _override(business_id, type_))


def list_rules(actor: Actor) -> list[Rule]:
    business_id = require_staff(actor)
    rows = db.session.scalars(
        select(NotificationRule).where(NotificationRule.business_id == business_id)
    ).all()
    by_type = {row.event_type: row for row in rows}
    types = sorted(set(DEFAULT_RULES) | set(by_type))
    return [_merge(DEFAULT_RULES.get(t) or _generic(t), by_type.get(t)) for t in types]


_SETTABLE = {"enabled", "severity", "audience", "title_template", "message_template"}


def _checked_changes(changes: dict) -> dict:
    unknown = set(changes) - _SETTABLE
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "enabled" in changes and not isinstance(changes["enabled"], bool):
        raise InvalidInput("enabled must be true or false.")
    if "severity" in changes and changes["severity"] not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}.")
    if "audience" in changes and changes["audience"] not in AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}.")
    limits = (("title_template", MAX_TITLE_CHARS), ("message_template", MAX_MESSAGE_CHARS))
    for key, limit in limits:
        value = changes.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidInput(f"{key} must be a string of at most {limit} characters.")
    return changes


def set_rule(actor: Actor, type_: str, changes: dict) -> Rule:
    """Create or update the business's override for one type (owner only)."""
    business_id = require_staff(actor)
    if not actor.is_owner:
        raise Forbidden("Only the owner can change notification rules.")
    check_type(type_)
    changes = _checked_changes(changes)
    row = _override(business_id, type_)
    if row is None:
        # A new override starts from the current behaviour, so changing only the
        # severity of a default-enabled type does not switch it off.
        base = DEFAULT_RULES.get(type_) or _generic(type_)
        row = NotificationRule(
            business_id=business_id, event_type=type_, enabled=base.enabled,
            severity=base.severity, audience=base.audience,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # another request created it first: update that one
            row = _override(business_id, type_)
    for key, value in changes.items():
        if key.endswith("_template"):
            value = (value or "").strip() or None
        setattr(row, key, value)
    row.updated_at = utcnow()
    tx.commit()
    return effective_rule(business_id, type_)


def reset_rule(actor: Actor, type_: str) -> None:
    """Drop the business's override so the default applies again (owner only)."""
    business_id = require_staff(actor)
    if not actor.is_owner:
        raise Forbidden("Only the owner can change notification rules.")
    check_type(type_)
    row = _override(business_id, type_)
    if row is None:
        raise NotFound("This business has no rule of its own for this type.")
    db.session.delete(row)
    tx.commit()
