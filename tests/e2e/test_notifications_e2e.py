"""Audit event to live notification through the real processes: the web process records
and enqueues, the Celery worker converts and emits through the Redis message queue."""
from __future__ import annotations

import uuid

import pytest

from tests.helpers.live import LiveStack
from tests.processes import Api

PASSWORD = "correct-horse-battery"
EVENTS = ["notification:new", "audit:log"]


def _staff_token(api: Api, business_id: int, owner_token: str) -> str:
    email = f"e2e-staff-{uuid.uuid4().hex[:10]}@example.com"
    api.call("POST", f"/api/businesses/{business_id}/staff", token=owner_token, expect=201,
             json={"email": email, "password": PASSWORD, "name": "Front Desk"})
    return api.call("POST", "/api/auth/login", expect=200,
                    json={"email": email, "password": PASSWORD})["access_token"]


def test_event_becomes_a_live_notification_for_this_business_only(
        live_stack: LiveStack, api: Api, sockets):
    mine, mine_owner = api.business(name="Notified Salon")
    theirs, theirs_owner = api.business(name="Other Clinic")
    staff = _staff_token(api, mine["id"], mine_owner)
    other_staff = _staff_token(api, theirs["id"], theirs_owner)

    _, my_events = sockets(live_stack.base_url, staff, EVENTS)
    _, their_events = sockets(live_stack.base_url, other_staff, EVENTS)

    body = {"type": "payment.failed", "idempotency_key": "e2e-pay-1",
            "data": {"customer_name": "Ana", "amount": "40.00", "currency": "EUR",
                     "reason": "card declined"}}
    accepted = api.call("POST", "/api/events", token=staff, json=body, expect=202)
    entry_id = accepted["audit_log_id"]

    logged = my_events.wait_for("audit:log", lambda d: d["audit_log"]["id"] == entry_id,
                                timeout=15)
    assert logged["audit_log"]["type"] == "payment.failed"
    new = my_events.wait_for(
        "notification:new", lambda d: d["notification"]["audit_log_id"] == entry_id, timeout=15)
    notification = new["notification"]
    assert notification["severity"] == "critical"
    assert notification["message"] == (
        "A payment of 40.00 EUR from Ana failed: card declined.")

    # The other business's staff heard nothing (give a stray emit time to arrive).
    with pytest.raises(AssertionError):
        their_events.wait_for("notification:new", timeout=1.5)
    assert their_events.seen == []

    # The list is the truth: the same notification, unread, for this staff member only.
    listed = api.call("GET", "/api/notifications", token=staff, expect=200)
    assert [n["id"] for n in listed["notifications"]] == [notification["id"]]
    assert listed["unread_count"] == 1
    assert api.call("GET", "/api/notifications", token=other_staff,
                    expect=200)["notifications"] == []

    # A retried POST records nothing new and emits nothing new.
    again = api.call("POST", "/api/events", token=staff, json=body, expect=202)
    assert again["audit_log_id"] == entry_id
    with pytest.raises(AssertionError):
        my_events.wait_for("notification:new",
                           lambda d: d["notification"]["audit_log_id"] != entry_id, timeout=1.0)
    logs = api.call("GET", "/api/audit-logs", token=staff, expect=200)["audit_logs"]
    assert [e["id"] for e in logs] == [entry_id]


def test_non_critical_event_is_logged_without_a_notification(
        live_stack: LiveStack, api: Api, sockets):
    business, owner = api.business(name="Quiet Studio")
    _, events = sockets(live_stack.base_url, owner, EVENTS)
    entry_id = api.call("POST", "/api/events", token=owner, expect=202,
                        json={"type": "booking.viewed", "data": {}})["audit_log_id"]
    events.wait_for("audit:log", lambda d: d["audit_log"]["id"] == entry_id, timeout=15)
    with pytest.raises(AssertionError):
        events.wait_for("notification:new", timeout=1.0)
    assert api.call("GET", "/api/notifications", token=owner,
                    expect=200)["unread_count"] == 0
