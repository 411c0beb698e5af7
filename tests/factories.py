"""Test data made through the public API, the way clients make it."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


@dataclass
class Account:
    id: int
    email: str
    name: str
    role: str
    business_id: int | None
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token}"}


def _account(body: dict, access_token: str | None = None) -> Account:
    user = body["user"]
    return Account(
        id=user["id"], email=user["email"], name=user["name"], role=user["role"],
        business_id=user["business_id"],
        access_token=access_token or body["access_token"],
        refresh_token=body.get("refresh_token", ""),
    )


def register(client, name: str | None = None) -> Account:
    n = next(_counter)
    name = name or f"Customer {n}"
    response = client.post("/api/auth/register", json={
        "email": f"user{n}@example.com", "password": PASSWORD, "name": name})
    assert response.status_code == 201, response.get_json()
    return _account(response.get_json())


def login(client, email: str, password: str = PASSWORD) -> Account:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return _account(response.get_json())


def business(client, name: str = "Studio", timezone: str = "UTC", hours: dict | None = None,
             holidays: list | None = None) -> tuple[dict, Account]:
    """A business and its owner (signed in with the fresh owner token)."""
    founder = register(client, name=f"Owner of {name}")
    body = {"name": name, "timezone": timezone}
    if hours is not None:
        body["business_hours"] = hours
    if holidays is not None:
        body["holidays"] = holidays
    response = client.post("/api/businesses", json=body, headers=founder.headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    owner = login(client, founder.email)
    assert owner.role == "owner"
    return data["business"], owner


def staff(client, owner: Account, name: str | None = None) -> Account:
    n = next(_counter)
    email = f"staff{n}@example.com"
    response = client.post(f"/api/businesses/{owner.business_id}/staff", json={
        "email": email, "password": PASSWORD, "name": name or f"Staff {n}"}, headers=owner.headers)
    assert response.status_code == 201, response.get_json()
    return login(client, email)


@dataclass
class Shop:
    """A business with its owner and a staff member; a second staff member on first use."""

    client: object
    business: dict
    owner: Account
    staff: Account
    _colleague: Account | None = None

    @property
    def id(self) -> int:
        return self.business["id"]

    @property
    def colleague(self) -> Account:
        # Made on first use: every account costs two password hashes.
        if self._colleague is None:
            self._colleague = staff(self.client, self.owner)
        return self._colleague


def shop(client, name: str = "Studio", hours: dict | None = None) -> Shop:
    made, owner = business(client, name=name, hours=hours)
    return Shop(client, made, owner, staff(client, owner))


ALWAYS_OPEN = {
    day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}
NEVER_OPEN = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
