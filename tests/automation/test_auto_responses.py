"""Auto-response management over REST (CONTRACT "REST: chat", auto-responses)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AutoResponse, Message, db
from tests import factories
from tests.helpers import assert_error

AUTO = "/api/chat/auto-responses"
CONTRACT_KEYS = {"id", "trigger", "message", "is_active"}
TRIGGERS = {"welcome", "offline", "escalation"}


@pytest.fixture
def biz(client):
    return factories.business(client, "Bloom Salon", hours=factories.ALWAYS_OPEN)


def rows(app, business_id: int) -> list[dict]:
    """Every auto-response of the business, straight from the models."""
    with app.app_context():
        found = db.session.scalars(select(AutoResponse).where(
            AutoResponse.business_id == business_id).order_by(AutoResponse.id))
        return [row.to_dict() for row in found]


def active(app, business_id: int, trigger: str) -> list[str]:
    return [r["message"] for r in rows(app, business_id)
            if r["trigger"] == trigger and r["is_active"]]


def create(client, account, **fields) -> dict:
    body = {"trigger": "welcome", "message": "Welcome to Bloom! Ask away.", **fields}
    response = client.post(AUTO, json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["auto_response"]


# --- seeded content and CRUD ---------------------------------------------------------------


def test_new_business_has_welcome_offline_and_escalation(app, client, biz):
    business, owner = biz
    response = client.get(AUTO, headers=owner.headers)
    assert response.status_code == 200
    items = response.get_json()["auto_responses"]
    assert {item["trigger"] for item in items} == TRIGGERS and len(items) == 3
    assert all(CONTRACT_KEYS <= set(item) and item["is_active"] for item in items)
    by_trigger = {item["trigger"]: item["message"] for item in items}
    assert "{next_open_at}" in by_trigger["offline"]
    assert "Bloom Salon" in by_trigger["welcome"]
    assert len(rows(app, business["id"])) == 3


def test_create_replaces_the_active_text_of_its_trigger(app, client, biz):
    business, owner = biz
    created = create(client, owner, message="  Hello from Bloom!  ")
    assert CONTRACT_KEYS <= set(created)
    assert created["trigger"] == "welcome" and created["message"] == "Hello from Bloom!"
    assert created["is_active"] is True
    assert active(app, business["id"], "welcome") == ["Hello from Bloom!"]
    # Other triggers are untouched.
    assert len(active(app, business["id"], "offline")) == 1
    listed = client.get(f"{AUTO}?trigger=welcome&active=true", headers=owner.headers)
    assert [r["id"] for r in listed.get_json()["auto_responses"]] == [created["id"]]
    everything = client.get(AUTO, headers=owner.headers).get_json()["auto_responses"]
    assert len(everything) == 4 and created in everything


def test_create_inactive_keeps_the_current_text(app, client, biz):
    business, owner = biz
    seeded = active(app, business["id"], "offline")
    draft = create(client, owner, trigger="offline", is_active=False,
                   message="Closed now, back {next_open_at}.")
    assert draft["is_active"] is False
    assert active(app, business["id"], "offline") == seeded


def test_the_saved_welcome_is_what_customers_get(app, client, biz):
    business, owner = biz
    create(client, owner, message="Welcome to Bloom, new text!")
    customer = factories.register(client)
    room = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                       headers=customer.headers).get_json()["room"]
    sent = client.post(f"/api/chat/rooms/{room['id']}/messages", json={"content": "hello"},
                       headers=customer.headers)
    assert sent.status_code == 201
    with app.app_context():
        welcome = db.session.scalars(select(Message.content).where(
            Message.room_id == room["id"], Message.kind == "welcome")).all()
    assert welcome == ["Welcome to Bloom, new text!"]


def test_update_is_partial_and_activation_replaces(app, client, biz):
    business, owner = biz
    draft = create(client, owner, trigger="escalation", is_active=False,
                   message="A person will reply soon.")
    response = client.put(f"{AUTO}/{draft['id']}", json={"message": " A human is on the way. "},
                          headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()["auto_response"]
    assert updated["message"] == "A human is on the way."
    assert updated["trigger"] == "escalation" and updated["is_active"] is False
    response = client.put(f"{AUTO}/{draft['id']}", json={"is_active": True},
                          headers=owner.headers)
    assert response.get_json()["auto_response"]["is_active"] is True
    assert active(app, business["id"], "escalation") == ["A human is on the way."]
    got = client.get(f"{AUTO}/{draft['id']}", headers=owner.headers).get_json()
    assert got["auto_response"]["message"] == "A human is on the way."
    # Moving it to another trigger takes that trigger over too.
    client.put(f"{AUTO}/{draft['id']}", json={"trigger": "welcome"}, headers=owner.headers)
    assert active(app, business["id"], "welcome") == ["A human is on the way."]
    assert active(app, business["id"], "escalation") == []


def test_staff_member_manages_auto_responses(client, biz):
    _business, owner = biz
    staff = factories.staff(client, owner)
    item = create(client, staff)
    response = client.put(f"{AUTO}/{item['id']}", json={"message": "Hi!"}, headers=staff.headers)
    assert response.status_code == 200
    assert client.delete(f"{AUTO}/{item['id']}", headers=staff.headers).status_code == 204


def test_delete_then_404(app, client, biz):
    business, owner = biz
    item = client.get(f"{AUTO}?trigger=offline", headers=owner.headers).get_json()[
        "auto_responses"][0]
    response = client.delete(f"{AUTO}/{item['id']}", headers=owner.headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert active(app, business["id"], "offline") == []
    assert_error(client.get(f"{AUTO}/{item['id']}", headers=owner.headers), 404, "not_found")
    assert_error(client.put(f"{AUTO}/{item['id']}", json={"message": "x"},
                            headers=owner.headers), 404, "not_found")
    assert_error(client.delete(f"{AUTO}/{item['id']}", headers=owner.headers), 404, "not_found")


# --- who may do what -----------------------------------------------------------------------


def test_customer_gets_403_everywhere(app, client, biz):
    business, owner = biz
    item = create(client, owner)
    before = rows(app, business["id"])
    h = factories.register(client).headers
    for response in (
        client.post(AUTO, json={"trigger": "welcome", "message": "Hi"}, headers=h),
        client.get(AUTO, headers=h),
        client.get(f"{AUTO}/{item['id']}", headers=h),
        client.put(f"{AUTO}/{item['id']}", json={"message": "hacked"}, headers=h),
        client.delete(f"{AUTO}/{item['id']}", headers=h),
    ):
        assert_error(response, 403, "forbidden")
    assert rows(app, business["id"]) == before


def test_another_business_auto_response_is_404(app, client, biz):
    business, owner = biz
    item = create(client, owner, message="Secret welcome of Bloom.")
    _other, stranger = factories.business(client, "Other Salon")
    before = rows(app, business["id"])
    h = stranger.headers
    for response in (
        client.get(f"{AUTO}/{item['id']}", headers=h),
        client.put(f"{AUTO}/{item['id']}", json={"message": "mine now"}, headers=h),
        client.delete(f"{AUTO}/{item['id']}", headers=h),
    ):
        error = assert_error(response, 404, "not_found")
        assert "Secret" not in error["message"]
    assert rows(app, business["id"]) == before
    theirs = client.get(AUTO, headers=h).get_json()["auto_responses"]
    assert item["id"] not in [r["id"] for r in theirs] and len(theirs) == 3


def test_no_token_is_401(client):
    assert_error(client.get(AUTO), 401, "unauthorized")


# --- bad input: a 400 in the contract's shape, and nothing changed -------------------------

BAD = {
    "unknown trigger": ({"trigger": "goodbye"}, "invalid_trigger"),
    "empty trigger": ({"trigger": ""}, "invalid_trigger"),
    "capitalised trigger": ({"trigger": "Welcome"}, "invalid_trigger"),
    "null trigger": ({"trigger": None}, None),
    "number trigger": ({"trigger": 1}, None),
    "empty message": ({"message": ""}, None),
    "blank message": ({"message": "   "}, None),
    "long message": ({"message": "m" * 2001}, None),
    "number message": ({"message": 5}, None),
    "typo placeholder": ({"trigger": "offline", "message": "Back {next_open}."},
                         "invalid_placeholder"),
    "other placeholder": ({"message": "Hi from {business_name}"}, "invalid_placeholder"),
    "spaced placeholder": ({"trigger": "offline", "message": "Back { next_open_at }."},
                           "invalid_placeholder"),
    "unclosed placeholder": ({"trigger": "offline", "message": "Back {next_open_at."},
                             "invalid_placeholder"),
    "unopened placeholder": ({"trigger": "offline", "message": "Back next_open_at}."},
                             "invalid_placeholder"),
    "placeholder outside offline": ({"trigger": "welcome", "message": "Open {next_open_at}"},
                                    "invalid_placeholder"),
    "string is_active": ({"is_active": "true"}, None),
    "number is_active": ({"is_active": 0}, None),
    "unknown field": ({"business_id": 1}, None),
}


def refusal(code: str | None) -> int:
    """A placeholder that cannot be filled in is 422 (the text itself fits the document)."""
    return 422 if code == "invalid_placeholder" else 400


@pytest.mark.parametrize("change,code", BAD.values(), ids=BAD.keys())
def test_bad_create_is_refused_and_changes_nothing(app, client, biz, change, code):
    business, owner = biz
    before = rows(app, business["id"])
    body = {"trigger": "welcome", "message": "Hello!", **change}
    assert_error(client.post(AUTO, json=body, headers=owner.headers), refusal(code), code)
    assert rows(app, business["id"]) == before


@pytest.mark.parametrize("change,code", BAD.values(), ids=BAD.keys())
def test_bad_update_is_refused_and_changes_nothing(app, client, biz, change, code):
    business, owner = biz
    item = create(client, owner, trigger="offline", message="Closed; back {next_open_at}.")
    if change.get("trigger") == "welcome":
        change = {"trigger": "welcome"}  # the stored offline text carries the placeholder
    before = rows(app, business["id"])
    assert_error(client.put(f"{AUTO}/{item['id']}", json=change, headers=owner.headers),
                 refusal(code), code)
    assert rows(app, business["id"]) == before


@pytest.mark.parametrize("body", [{"message": "no trigger"}, {"trigger": "welcome"}, [], None],
                         ids=["missing trigger", "missing message", "array", "null"])
def test_malformed_create_is_400(app, client, biz, body):
    business, owner = biz
    before = rows(app, business["id"])
    assert_error(client.post(AUTO, json=body, headers=owner.headers), 400)
    assert rows(app, business["id"]) == before


def test_placeholder_error_says_what_is_allowed(client, biz):
    _business, owner = biz
    error = assert_error(client.post(AUTO, json={"trigger": "offline", "message": "{next_open}"},
                                     headers=owner.headers), 422, "invalid_placeholder")
    assert "{next_open}" in error["message"] and "{next_open_at}" in error["message"]


def test_accepted_edges(client, biz):
    _business, owner = biz
    longest = create(client, owner, message="m" * 2000)
    assert len(longest["message"]) == 2000
    offline = create(client, owner, trigger="offline",
                     message="Closed :-) back {next_open_at}, see you {next_open_at}!")
    assert offline["trigger"] == "offline"


def test_list_filter_with_unknown_trigger_is_400(client, biz):
    _business, owner = biz
    assert_error(client.get(f"{AUTO}?trigger=goodbye", headers=owner.headers), 400,
                 "invalid_trigger")


def test_routes_are_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]
    expected = {
        "/api/chat/faqs": {"get", "post"},
        "/api/chat/faqs/{faq_id}": {"get", "put", "delete"},
        "/api/chat/faqs/match": {"post"},
        "/api/chat/auto-responses": {"get", "post"},
        "/api/chat/auto-responses/{response_id}": {"get", "put", "delete"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method].get("summary"), (path, method)
