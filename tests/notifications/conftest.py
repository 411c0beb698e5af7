"""Fixtures for the notification tests: two businesses with staff, made through the API."""
from __future__ import annotations

import pytest

from tests import factories
from tests.factories import Shop


@pytest.fixture
def shop(client) -> Shop:
    return factories.shop(client, "Salon")


@pytest.fixture
def other_shop(client) -> Shop:
    return factories.shop(client, "Clinic")
