"""The demo business of the embedded mode: an owner, a staff member and a customer."""
from __future__ import annotations

from sqlalchemy import select

from actions import auth, businesses, rooms
from actions.actors import Actor
from models import User, db

PASSWORD = "demo-password-1"
OWNER = "owner@demo.example"
STAFF = "staff@demo.example"
CUSTOMER = "customer@demo.example"


def seed() -> dict:
    """Create the demo accounts once; later starts find them and change nothing."""
    owner = db.session.scalar(select(User).where(User.email == OWNER))
    if owner is None:
        founder = auth.register(OWNER, PASSWORD, "Olivia Owner")
        actor = Actor(founder.id, founder.role, None, founder.name)
        business, owner = businesses.create(actor, "Demo Hair Studio", "Europe/London")
        owner_actor = Actor(owner.id, "owner", business.id, owner.name)
        businesses.add_staff(owner_actor, business.id, STAFF, PASSWORD, "Sam Staff")
        customer = auth.register(CUSTOMER, PASSWORD, "Casey Customer")
        rooms.get_or_create_customer_room(
            Actor(customer.id, "customer", None, customer.name), business.id)
    return {
        "business_id": owner.business_id,
        "password": PASSWORD,
        "accounts": {"owner": OWNER, "staff": STAFF, "customer": CUSTOMER},
    }
