"""The demo business of the embedded mode: an owner, a staff member and a customer."""
from __future__ import annotations

from sqlalchemy import select

from actions import auth, businesses, rooms
from actions.actors import Actor
from logic import business_hours as bh
from models import Business, User, db

PASSWORD = "demo-password-1"
OWNER = "owner@demo.example"
STAFF = "staff@demo.example"
CUSTOMER = "customer@demo.example"
BUSINESS_NAME = "Demo Hair Studio"
TIMEZONE = "Europe/London"

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Opening-hours presets of the demo. "always" is the default, so that whoever tries the
# demo at night sees the FAQ bot rather than the out-of-hours reply; "closed" shows that reply.
HOURS: dict[str, dict[str, list[list[str]]]] = {
    "always": {day: [["00:00", "24:00"]] for day in _DAYS},
    "office": bh.DEFAULT_HOURS,
    "closed": {day: [] for day in _DAYS},
}


def _owner() -> User | None:
    return db.session.scalar(select(User).where(User.email == OWNER))


def seed(hours: str = "always") -> dict:
    """Create the demo accounts once; later calls find them and change nothing.

    ``hours`` names the preset the business is created with (see ``HOURS``); an existing
    demo keeps its hours (``set_hours`` changes them).
    """
    owner = _owner()
    created = owner is None
    if created:
        founder = auth.register(OWNER, PASSWORD, "Olivia Owner")
        actor = Actor(founder.id, founder.role, None, founder.name)
        business, owner = businesses.create(actor, BUSINESS_NAME, TIMEZONE, hours=HOURS[hours])
        owner_actor = Actor(owner.id, "owner", business.id, owner.name)
        businesses.add_staff(owner_actor, business.id, STAFF, PASSWORD, "Sam Staff")
        customer = auth.register(CUSTOMER, PASSWORD, "Casey Customer")
        # The customer's conversation with the business: open, and empty until someone writes.
        rooms.get_or_create_customer_room(
            Actor(customer.id, "customer", None, customer.name), business.id)
    return describe(owner, created)


def describe(owner: User, created: bool = False) -> dict:
    business = db.session.get(Business, owner.business_id)
    return {
        "created": created,
        "business_id": owner.business_id,
        "business_name": business.name,
        "hours": hours_preset(business),
        "is_open_now": businesses.to_dict(business)["is_open_now"],
        "password": PASSWORD,
        "accounts": {"owner": OWNER, "staff": STAFF, "customer": CUSTOMER},
    }


def hours_preset(business: Business) -> str | None:
    """The name of the preset the business's hours equal, or None for hours of its own."""
    for name, preset in HOURS.items():
        if bh.parse_hours(preset) == business.business_hours:
            return name
    return None


def set_hours(preset: str) -> bool:
    """Give the demo business the named hours; False (and no write) if it has them already.

    Raises LookupError when the demo has not been seeded.
    """
    owner = _owner()
    if owner is None or owner.business_id is None:
        raise LookupError("There is no demo business yet: run seed-demo first.")
    business = db.session.get(Business, owner.business_id)
    if hours_preset(business) == preset:
        return False
    actor = Actor(owner.id, "owner", business.id, owner.name)
    businesses.update(actor, business.id, {"business_hours": HOURS[preset]})
    return True

