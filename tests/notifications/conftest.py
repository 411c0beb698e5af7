"""Fixtures for the notification tests: two businesses with staff, made through the API."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests import factories
from tests.factories import Account


@dataclass
class Shop:
    business: dict
    owner: Account
    staff: Account
    colleague: Account

    @property
    def id(self) -> int:
        return self.business["id"]


def make_shop(client, name: str) -> Shop:
    business, owner = factories.business(client, name=name)
    return Shop(business, owner, factories.staff(client, owner), factories.staff(client, owner))


@pytest.fixture
def shop(client) -> Shop:
    return make_shop(client, "Salon")


@pytest.fixture
def other_shop(client) -> Shop:
    return make_shop(client, "Clinic")
