"""Who is acting: built from token claims so the hot path needs no user lookup."""
from __future__ import annotations

from dataclasses import dataclass

from actions.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Actor:
    id: int
    role: str
    business_id: int | None
    name: str
    jti: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "owner")

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @property
    def sender_type(self) -> str:
        return "staff" if self.is_staff else "customer"

    @classmethod
    def from_claims(cls, claims: dict) -> Actor:
        return cls(
            id=int(claims["sub"]),
            role=str(claims.get("role", "customer")),
            business_id=claims.get("business_id"),
            name=str(claims.get("name", "")),
            jti=claims.get("jti"),
        )


def require_staff(actor: Actor) -> int:
    """The caller's business id; customers are refused."""
    if not actor.is_staff or actor.business_id is None:
        raise Forbidden("Only staff of a business can do this.")
    return actor.business_id


def require_owner_of(actor: Actor, business_id: int) -> None:
    # Another business's resources answer 404 so their existence does not leak.
    if actor.business_id != business_id:
        raise NotFound("Business not found.")
    if not actor.is_owner:
        raise Forbidden("Only the owner of the business can do this.")
