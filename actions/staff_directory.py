"""The staff of a business as its colleagues see them: to start a staff room with someone,
and to show who is online."""
from __future__ import annotations

from sqlalchemy import select

from actions.actors import Actor
from actions.errors import NotFound
from infra import presence
from models import User, db


def colleagues(actor: Actor, business_id: int) -> list[dict]:
    """Owners and staff of the caller's own business, by name, each with `online`.

    Another business (or a customer asking) answers 404, as every foreign resource does.
    """
    if not actor.is_staff or actor.business_id != business_id:
        raise NotFound("Business not found.")
    users = db.session.scalars(
        select(User).where(User.business_id == business_id, User.role.in_(("owner", "staff")))
        .order_by(User.name, User.id)
    ).all()
    online = set(presence.store().online_user_ids(business_id))
    return [{**user.to_dict(), "online": user.id in online} for user in users]
