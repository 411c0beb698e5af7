"""Businesses and staff accounts over REST (CONTRACT "Identity")."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from tests.factories import (
    ALWAYS_OPEN,
    NEVER_OPEN,
    PASSWORD,
    Account,
    business,
    login,
    register,
    staff,
)
from tests.test_auth import claims_of
from tests.test_errors import assert_error, user_count

BUSINESS_FIELDS = {"id", "name", "timezone", "business_hours", "holidays", "is_open_now",
                   "next_open_at", "faq_threshold", "suggestion_floor"}


def _get(client, business_id: int) -> dict:
    response = client.get(f"/api/businesses/{business_id}")
    assert response.status_code == 200
    return response.get_json()["business"]


def _assert_unchanged(client, before: dict) -> None:
    after = _get(client, before["id"])
    for field in ("name", "timezone", "business_hours", "holidays", "faq_threshold",
                  "suggestion_floor"):
        assert after[field] == before[field], field


def _business_count(app) -> int:
    from models import Business, db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Business))


def _staff_payload(email: str = "new.staff@example.com") -> dict:
    return {"email": email, "password": PASSWORD, "name": "New Staff"}


# --------------------------------------------------------------------------- create


def test_customer_creates_a_business_and_becomes_owner(client):
    founder = register(client)
    response = client.post("/api/businesses", headers=founder.headers, json={
        "name": " Glow Salon ", "timezone": "Europe/London", "business_hours": ALWAYS_OPEN,
        "holidays": ["2030-12-25"]})
    assert response.status_code == 201
    body = response.get_json()
    created = body["business"]
    assert BUSINESS_FIELDS <= set(created)
    assert created["name"] == "Glow Salon"
    assert created["timezone"] == "Europe/London"
    assert created["business_hours"]["mon"] == [["00:00", "24:00"]]
    assert created["holidays"] == ["2030-12-25"]
    assert created["is_open_now"] is True
    assert created["faq_threshold"] == pytest.approx(0.70)
    assert created["suggestion_floor"] == pytest.approx(0.3)

    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(founder.id)
    assert claims["role"] == "owner"
    assert claims["business_id"] == created["id"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["user"]["role"] == "owner"
    assert me.get_json()["user"]["business_id"] == created["id"]


def test_default_hours_and_no_holidays(client):
    founder = register(client)
    response = client.post("/api/businesses", headers=founder.headers,
                           json={"name": "Plain", "timezone": "UTC"})
    assert response.status_code == 201
    created = response.get_json()["business"]
    assert set(created["business_hours"]) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert any(created["business_hours"].values())
    assert created["holidays"] == []


TOKYO = ZoneInfo("Asia/Tokyo")


def _get_at(client, business_id: int, moment: datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        return _get(client, business_id)


def test_open_state_follows_hours_timezone_and_holidays(client):
    created, _ = business(client, timezone="Asia/Tokyo", hours={"mon": [["09:00", "17:00"]]},
                          holidays=["2030-06-10"])
    monday_morning = datetime(2030, 6, 3, 10, 0, tzinfo=TOKYO)
    wednesday = datetime(2030, 6, 5, 12, 0, tzinfo=TOKYO)

    at_monday = _get_at(client, created["id"], monday_morning)
    assert at_monday["is_open_now"] is True

    at_wednesday = _get_at(client, created["id"], wednesday)
    assert at_wednesday["is_open_now"] is False
    # Monday the 10th is a holiday, so the next opening is the Monday after it.
    next_open = datetime.fromisoformat(at_wednesday["next_open_at"])
    assert next_open == datetime(2030, 6, 17, 9, 0, tzinfo=TOKYO)
    assert next_open.utcoffset() is not None

    # Monday 10:00 in Tokyo is Monday 01:00 UTC: the business timezone decides, not UTC.
    assert _get_at(client, created["id"], datetime(2030, 6, 3, 1, 0, tzinfo=UTC))[
        "is_open_now"] is True


def test_never_open_business_has_no_next_opening(client):
    created, _ = business(client, hours=NEVER_OPEN)
    assert created["is_open_now"] is False
    assert created["next_open_at"] is None


def test_new_business_is_seeded_with_faqs_and_auto_responses(app, client):
    from models import AutoResponse, Faq, db

    created, _ = business(client, name="Seeded Studio")
    with app.app_context():
        faqs = db.session.scalars(select(Faq).where(Faq.business_id == created["id"])).all()
        replies = db.session.scalars(
            select(AutoResponse).where(AutoResponse.business_id == created["id"])).all()
    assert faqs and all(f.is_active and f.question and f.answer for f in faqs)
    assert {r.trigger for r in replies} == {"welcome", "offline", "escalation"}
    assert all(r.is_active and r.message for r in replies)
    welcome = next(r for r in replies if r.trigger == "welcome")
    assert "Seeded Studio" in welcome.message


def test_second_business_by_the_same_user_is_409(app, client):
    founder = register(client)
    first = client.post("/api/businesses", headers=founder.headers,
                        json={"name": "One", "timezone": "UTC"})
    assert first.status_code == 201
    owner_headers = {"Authorization": f"Bearer {first.get_json()['access_token']}"}
    before = _business_count(app)
    # Neither the fresh owner token nor the old customer token may found another one.
    for headers in (owner_headers, founder.headers):
        response = client.post("/api/businesses", headers=headers,
                               json={"name": "Two", "timezone": "UTC"})
        assert_error(response, 409)
    assert _business_count(app) == before


def test_staff_cannot_create_a_business(app, client):
    _, owner = business(client)
    member = staff(client, owner)
    before = _business_count(app)
    response = client.post("/api/businesses", headers=member.headers,
                           json={"name": "Side Gig", "timezone": "UTC"})
    assert_error(response, 409)
    assert _business_count(app) == before


INVALID_SCHEDULES = [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"business_hours": {"funday": [["09:00", "17:00"]]}}, "hours"),
    ({"business_hours": {"mon": [["25:00", "26:00"]]}}, "hours"),
    ({"business_hours": {"mon": [["09:00", "09:00"]]}}, "hours"),
    ({"business_hours": {"mon": "9-5"}}, "hours"),
    ({"business_hours": {"mon": [["9am", "5pm"]]}}, "hours"),
    ({"holidays": ["2030-13-01"]}, "holidays"),
    ({"holidays": ["25/12/2030"]}, "holidays"),
    ({"holidays": [20301225]}, "holidays"),
    ({"holidays": "2030-12-25"}, "holidays"),
]
INVALID_IDS = ["unknown-tz", "empty-tz", "unknown-day", "bad-time", "zero-length",
               "not-a-list", "bad-format", "bad-date", "wrong-date-format", "number-date",
               "not-a-list-holidays"]
# Each range well-formed, together impossible: 422 (the document cannot say it; issue 12 #9).
OVERLAPPING = [{"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
               {"mon": [["22:00", "02:00"]], "tue": [["01:00", "05:00"]]}]


@pytest.mark.parametrize(("change", "_what"), INVALID_SCHEDULES, ids=INVALID_IDS)
def test_create_with_invalid_schedule_is_400_and_creates_nothing(app, client, change: dict,
                                                                  _what: str):
    founder = register(client)
    before = _business_count(app)
    response = client.post("/api/businesses", headers=founder.headers,
                           json={"name": "Bad", "timezone": "UTC", **change})
    assert_error(response, 400)
    assert _business_count(app) == before
    assert client.get("/api/auth/me", headers=founder.headers).get_json()["user"]["role"] == \
        "customer"


def test_create_requires_name_and_timezone(client):
    founder = register(client)
    for body in ({"timezone": "UTC"}, {"name": "No Zone"}, {"name": "", "timezone": "UTC"}):
        assert_error(client.post("/api/businesses", headers=founder.headers, json=body), 400,
                     "invalid_input")


# --------------------------------------------------------------------------- read


def test_get_is_public(client):
    created, _ = business(client, name="Public Place", hours=ALWAYS_OPEN)
    fetched = _get(client, created["id"])
    assert BUSINESS_FIELDS <= set(fetched)
    assert fetched["id"] == created["id"]
    assert fetched["name"] == "Public Place"
    assert fetched["is_open_now"] is True


def test_get_unknown_business_is_404(client):
    assert_error(client.get("/api/businesses/999999"), 404, "not_found")


# --------------------------------------------------------------------------- update


def test_owner_updates_the_business(client):
    created, owner = business(client, name="Before", hours=NEVER_OPEN)
    changes = {"name": "After", "timezone": "America/New_York", "business_hours": ALWAYS_OPEN,
               "holidays": ["2031-01-01", "2030-12-25"], "faq_threshold": 0.5,
               "suggestion_floor": 0.2}
    response = client.put(f"/api/businesses/{created['id']}", headers=owner.headers, json=changes)
    assert response.status_code == 200
    updated = response.get_json()["business"]
    assert BUSINESS_FIELDS <= set(updated)
    assert updated["name"] == "After"
    assert updated["timezone"] == "America/New_York"
    assert updated["business_hours"]["sun"] == [["00:00", "24:00"]]
    assert sorted(updated["holidays"]) == ["2030-12-25", "2031-01-01"]
    assert updated["faq_threshold"] == pytest.approx(0.5)
    assert updated["suggestion_floor"] == pytest.approx(0.2)
    assert updated["is_open_now"] is True
    assert _get(client, created["id"]) == updated


def test_partial_update_keeps_other_fields(client):
    created, owner = business(client, name="Keep", timezone="Europe/Paris", hours=ALWAYS_OPEN)
    response = client.put(f"/api/businesses/{created['id']}", headers=owner.headers,
                          json={"name": "Renamed"})
    assert response.status_code == 200
    updated = response.get_json()["business"]
    assert updated["name"] == "Renamed"
    assert updated["timezone"] == "Europe/Paris"
    assert updated["business_hours"] == created["business_hours"]


def test_staff_cannot_update_the_business(client):
    created, owner = business(client, name="Mine")
    member = staff(client, owner)
    response = client.put(f"/api/businesses/{created['id']}", headers=member.headers,
                          json={"name": "Hijacked"})
    assert_error(response, 403, "forbidden")
    assert _get(client, created["id"])["name"] == "Mine"


@pytest.mark.parametrize("who", ["other-owner", "customer"])
def test_outsiders_get_404_on_update(client, who: str):
    created, _ = business(client, name="Mine")
    if who == "other-owner":
        _, outsider = business(client, name="Theirs")
    else:
        outsider = register(client)
    response = client.put(f"/api/businesses/{created['id']}", headers=outsider.headers,
                          json={"name": "Hijacked"})
    error = assert_error(response, 404, "not_found")
    assert "Mine" not in str(error)
    assert _get(client, created["id"])["name"] == "Mine"


def test_update_unknown_business_is_404(client):
    _, owner = business(client)
    assert_error(client.put("/api/businesses/999999", headers=owner.headers, json={"name": "X"}),
                 404, "not_found")


@pytest.mark.parametrize(("change", "_what"), INVALID_SCHEDULES, ids=INVALID_IDS)
def test_invalid_schedule_update_is_400_and_changes_nothing(client, change: dict, _what: str):
    created, owner = business(client, name="Stable", timezone="Europe/Berlin",
                              hours=ALWAYS_OPEN, holidays=["2030-12-25"])
    response = client.put(f"/api/businesses/{created['id']}", headers=owner.headers,
                          json={"name": "Changed", **change})
    assert_error(response, 400)
    _assert_unchanged(client, created)


@pytest.mark.parametrize("hours", OVERLAPPING, ids=["same-day", "past-midnight"])
def test_overlapping_hours_are_422_and_change_nothing(app, client, hours: dict):
    founder = register(client)
    before = _business_count(app)
    response = client.post("/api/businesses", headers=founder.headers,
                           json={"name": "Busy", "timezone": "UTC", "business_hours": hours})
    assert_error(response, 422, "invalid_schedule")
    assert _business_count(app) == before

    created, owner = business(client, name="Stable", timezone="Europe/Berlin",
                              hours=ALWAYS_OPEN, holidays=["2030-12-25"])
    response = client.put(f"/api/businesses/{created['id']}", headers=owner.headers,
                          json={"business_hours": hours})
    assert_error(response, 422, "invalid_schedule")
    _assert_unchanged(client, created)


@pytest.mark.parametrize(
    "body",
    [{"faq_threshold": 1.5}, {"faq_threshold": -0.1}, {"faq_threshold": "high"},
     {"suggestion_floor": 1.5}, {"suggestion_floor": -0.1}, {"suggestion_floor": "low"},
     {"name": ""}, {"owner_id": 1}, {"id": 5}],
    ids=["threshold-high", "threshold-negative", "threshold-text", "floor-high",
         "floor-negative", "floor-text", "empty-name", "owner-id", "id"],
)
def test_invalid_update_fields_are_400(client, body: dict):
    created, owner = business(client, name="Stable")
    response = client.put(f"/api/businesses/{created['id']}", headers=owner.headers, json=body)
    assert_error(response, 400, "invalid_input")
    _assert_unchanged(client, created)


# --------------------------------------------------------------------------- staff


def test_owner_adds_staff(client):
    created, owner = business(client)
    response = client.post(f"/api/businesses/{created['id']}/staff", headers=owner.headers,
                           json=_staff_payload("Pat.Staff@Example.com"))
    assert response.status_code == 201
    user = response.get_json()["user"]
    assert user["role"] == "staff"
    assert user["business_id"] == created["id"]
    assert user["email"] == "pat.staff@example.com"
    member: Account = login(client, "pat.staff@example.com")
    claims = claims_of(member.access_token)
    assert claims["role"] == "staff"
    assert claims["business_id"] == created["id"]


def test_staff_cannot_add_staff(app, client):
    created, owner = business(client)
    member = staff(client, owner)
    before = user_count(app)
    response = client.post(f"/api/businesses/{created['id']}/staff", headers=member.headers,
                           json=_staff_payload())
    assert_error(response, 403, "forbidden")
    assert user_count(app) == before


@pytest.mark.parametrize("who", ["other-owner", "customer"])
def test_outsiders_get_404_adding_staff(app, client, who: str):
    created, _ = business(client, name="Target")
    if who == "other-owner":
        _, outsider = business(client, name="Other")
    else:
        outsider = register(client)
    before = user_count(app)
    response = client.post(f"/api/businesses/{created['id']}/staff", headers=outsider.headers,
                           json=_staff_payload())
    assert_error(response, 404, "not_found")
    assert user_count(app) == before


@pytest.mark.parametrize("spelling", ["same", "upper"])
def test_duplicate_staff_email_is_409(app, client, spelling: str):
    created, owner = business(client)
    existing = register(client)
    email = existing.email if spelling == "same" else existing.email.upper()
    before = user_count(app)
    response = client.post(f"/api/businesses/{created['id']}/staff", headers=owner.headers,
                           json=_staff_payload(email))
    assert_error(response, 409)
    assert user_count(app) == before
    # The existing account is untouched: still a customer with its own password.
    assert login(client, existing.email).role == "customer"


def test_invalid_staff_payload_is_400(app, client):
    created, owner = business(client)
    before = user_count(app)
    for body in ({"email": "x@example.com", "password": "short", "name": "X"},
                 {"email": "x@example.com", "password": PASSWORD},
                 {**_staff_payload(), "role": "owner"}):
        response = client.post(f"/api/businesses/{created['id']}/staff", headers=owner.headers,
                               json=body)
        assert_error(response, 400, "invalid_input")
    assert user_count(app) == before
