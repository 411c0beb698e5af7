"""Auto-responses of a business: the welcome, offline and escalation texts the bot posts.

At most one auto-response per trigger is active: saving an active one deactivates the
others of its trigger, so the text a business just saved is the one that goes out
(the automation posts the single active text of a trigger).
"""
from __future__ import annotations

import re

from sqlalchemy import select, update

from actions.actors import Actor, require_staff
from actions.errors import InvalidInput, NotFound, Unprocessable
from actions.faqs import clean_text
from infra import tx
from models import AutoResponse, Business, db
from models.business import TRIGGERS

MAX_MESSAGE = 2000
FIELDS = ("trigger", "message", "is_active")
PLACEHOLDER = "{next_open_at}"
# Only the offline reply is sent at a time when "next open" means something.
PLACEHOLDER_TRIGGERS = ("offline",)

_BRACED = re.compile(r"\{([^{}]*)\}")
# A brace next to a word once valid placeholders are gone: "{next_open_at" or "next_open_at}".
_HALF_PLACEHOLDER = re.compile(r"\{\s*\w|\w\s*\}")


def clean_trigger(value: object) -> str:
    if value not in TRIGGERS:
        raise InvalidInput(f"trigger must be one of {', '.join(TRIGGERS)}.",
                           code="invalid_trigger", details={"field": "trigger"})
    return value


def check_placeholders(message: str) -> None:
    """Refuse any {...} other than {next_open_at}, so a typo fails at save time, not live.

    A 422 (Unprocessable): the text is a valid string, what it asks for cannot be filled in."""
    for found in _BRACED.finditer(message):
        if found.group(0) != PLACEHOLDER:
            raise Unprocessable(
                f"Unknown placeholder {found.group(0)} in message; the only placeholder "
                f"is {PLACEHOLDER}.", code="invalid_placeholder", details={"field": "message"})
    if _HALF_PLACEHOLDER.search(message.replace(PLACEHOLDER, "")):
        raise Unprocessable(
            f"message has an unbalanced brace; the only placeholder is {PLACEHOLDER}.",
            code="invalid_placeholder", details={"field": "message"})


def _check_placeholder_trigger(trigger: str, message: str) -> None:
    if PLACEHOLDER in message and trigger not in PLACEHOLDER_TRIGGERS:
        raise Unprocessable(
            f"{PLACEHOLDER} is only filled in for the offline trigger; a {trigger} message "
            "would show it as written.", code="invalid_placeholder",
            details={"field": "message"})


def clean_fields(data: dict, *, partial: bool) -> dict:
    """Validated fields; with partial=False trigger and message are required."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not partial:
        for field in ("trigger", "message"):
            if field not in data:
                raise InvalidInput(f"{field} is required.", details={"field": field})
    out: dict = {}
    if "trigger" in data:
        out["trigger"] = clean_trigger(data["trigger"])
    if "message" in data:
        out["message"] = clean_text(data["message"], "message", MAX_MESSAGE)
        check_placeholders(out["message"])
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise InvalidInput("is_active must be true or false.", details={"field": "is_active"})
        out["is_active"] = data["is_active"]
    return out


def _lock_business(business_id: int) -> None:
    # Serialises edits of one business's auto-responses (PostgreSQL), so two concurrent saves
    # cannot both leave an active text for the same trigger.
    db.session.execute(select(Business.id).where(Business.id == business_id).with_for_update())


def _deactivate_others(response: AutoResponse) -> None:
    query = update(AutoResponse).where(
        AutoResponse.business_id == response.business_id,
        AutoResponse.trigger == response.trigger,
        AutoResponse.is_active.is_(True))
    if response.id is not None:
        query = query.where(AutoResponse.id != response.id)
    db.session.execute(query.values(is_active=False)
                       .execution_options(synchronize_session="fetch"))


def _visible(actor: Actor, response_id: int) -> AutoResponse:
    business_id = require_staff(actor)
    response = db.session.get(AutoResponse, response_id)
    # Another business's auto-response answers exactly like a missing one.
    if response is None or response.business_id != business_id:
        raise NotFound("Auto-response not found.")
    return response


def create(actor: Actor, data: dict) -> AutoResponse:
    business_id = require_staff(actor)
    fields = clean_fields(data, partial=False)
    _check_placeholder_trigger(fields["trigger"], fields["message"])
    _lock_business(business_id)
    response = AutoResponse(business_id=business_id, **{"is_active": True, **fields})
    if response.is_active:
        _deactivate_others(response)
    db.session.add(response)
    tx.commit()
    return response


def list_responses(actor: Actor, trigger: str | None = None,
                   active: bool | None = None) -> list[AutoResponse]:
    business_id = require_staff(actor)
    query = select(AutoResponse).where(AutoResponse.business_id == business_id)
    if trigger is not None:
        query = query.where(AutoResponse.trigger == clean_trigger(trigger))
    if active is not None:
        query = query.where(AutoResponse.is_active.is_(active))
    return list(db.session.scalars(query.order_by(AutoResponse.trigger, AutoResponse.id)))


def get(actor: Actor, response_id: int) -> AutoResponse:
    return _visible(actor, response_id)


def update_response(actor: Actor, response_id: int, data: dict) -> AutoResponse:
    response = _visible(actor, response_id)
    fields = clean_fields(data, partial=True)
    if "trigger" in fields or "message" in fields:
        _check_placeholder_trigger(fields.get("trigger", response.trigger),
                                   fields.get("message", response.message))
    changed = {k: v for k, v in fields.items() if getattr(response, k) != v}
    if not changed:
        return response
    _lock_business(response.business_id)
    for key, value in changed.items():
        setattr(response, key, value)
    if response.is_active:
        _deactivate_others(response)
    tx.commit()
    return response


def delete(actor: Actor, response_id: int) -> None:
    response = _visible(actor, response_id)
    db.session.delete(response)
    tx.commit()
