"""Fixtures for the notification tests: two businesses with staff, made through the API."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests import factories
from tests.factories import Account


@dataclass
class Shop:
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
            self._colleague = factories.staff(self.client, self.owner)
        return self._colleague


def make_shop(client, name: str) -> Shop:
    business, owner = factories.business(client, name=name)
    return Shop(client, business, owner, factories.staff(client, owner))


@pytest.fixture
def shop(client) -> Shop:
    return make_shop(client, "Salon")


@pytest.fixture
def other_shop(client) -> Shop:
    return make_shop(client, "Clinic")

