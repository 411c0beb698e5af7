"""The first owner of a deployment and their business, made from the command line."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from actions import auth, businesses
from actions.actors import Actor
from actions.errors import Conflict
from models import Business, User, db


@dataclass(frozen=True)
class OwnerResult:
    user_id: int
    email: str
    business_id: int
    business_name: str
    created: bool


def create_owner(email: str, password: str, name: str, business_name: str,
                 timezone: str) -> OwnerResult:
    """Create an owner account and its business in one transaction, or find them.

    Running it again with the same email changes nothing (the password is not reset), so a
    release script or a provisioning tool may run it on every deploy. An email that belongs
    to a customer or a staff member is refused: making them an owner is a decision for the
    API (``POST /api/businesses``), not a side effect of a setup command.
    """
    existing = db.session.scalar(select(User).where(User.email == auth.normalise_email(email)))
    if existing is not None:
        if existing.role != "owner" or existing.business_id is None:
            raise Conflict(f"{existing.email} already has a {existing.role} account; "
                           "choose another email for the owner.", code="email_taken")
        business = db.session.get(Business, existing.business_id)
        return OwnerResult(existing.id, existing.email, business.id, business.name, False)
    user = auth.create_user(email, password, name)  # flushed, committed with the business
    business, owner = businesses.create(Actor(user.id, user.role, None, user.name),
                                        business_name, timezone)
    return OwnerResult(owner.id, owner.email, business.id, business.name, True)
