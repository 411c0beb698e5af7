"""Audit log listing, notification rules API and the activity summary."""
from __future__ import annotations

from datetime import timedelta

import time_machine

from tests import factories
from tests.helpers.notifications import post_event, set_rule


def _logs(client, who, **params):
    response = client.get("/api/audit-logs", query_string=params, headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_audit_log_type_filter_and_pagination(client, shop, other_shop):
    ids = [post_event(client, shop.staff, t)["audit_log_id"] for t in (
        "booking.created", "payment.failed", "booking.created", "booking.cancelled",
        "booking.created")]
    post_event(client, other_shop.staff, "booking.created")
    everything = _logs(client, shop.staff)
    assert [e["id"] for e in everything["audit_logs"]] == ids[::-1]
    assert everything["next_before_id"] is None

    created = _logs(client, shop.staff, type="booking.created", limit=2)
    assert [e["id"] for e in created["audit_logs"]] == [ids[4], ids[2]]
    rest = _logs(client, shop.staff, type="booking.created", limit=2,
                 before_id=created["next_before_id"])
    assert [e["id"] for e in rest["audit_logs"]] == [ids[0]]
    assert rest["next_before_id"] is None

    family = _logs(client, shop.staff, type="booking.*")
    assert {e["type"] for e in family["audit_logs"]} == {"booking.created", "booking.cancelled"}
    assert set(everything["audit_logs"][0]) >= {"id", "type", "actor_id", "data", "created_at"}


def test_audit_log_bad_filter_and_customers(client, shop):
    response = client.get("/api/audit-logs", query_string={"type": "Bad Type"},
                          headers=shop.staff.headers)
    assert response.status_code == 400
    customer = factories.register(client)
    assert client.get("/api/audit-logs", headers=customer.headers).status_code == 403


def test_rules_list_defaults_and_override(client, shop):
    rules = client.get("/api/notification-rules", headers=shop.staff.headers).get_json()["rules"]
    by_type = {r["type"]: r for r in rules}
    for type_ in ("booking.created", "booking.cancelled", "payment.failed", "review.posted",
                  "chat.escalated", "booking.rescheduled", "payment.refunded"):
        assert by_type[type_]["enabled"] is True, type_
    assert by_type["payment.failed"]["severity"] == "critical"
    assert by_type["payment.refunded"]["audience"] == "owners"

    rule = set_rule(client, shop.owner, "payment.failed", audience="owners")["rule"]
    assert (rule["severity"], rule["audience"], rule["enabled"]) == ("critical", "owners", True)
    again = client.get("/api/notification-rules", headers=shop.owner.headers).get_json()["rules"]
    assert {r["type"]: r for r in again}["payment.failed"]["customised"] is True

    response = client.delete("/api/notification-rules/payment.failed", headers=shop.owner.headers)
    assert response.status_code == 204
    after = client.get("/api/notification-rules", headers=shop.owner.headers).get_json()["rules"]
    assert {r["type"]: r for r in after}["payment.failed"]["audience"] == "all"


def test_rule_changes_are_owner_only_and_validated(client, shop):
    set_rule(client, shop.staff, "booking.created", expect=403, enabled=False)
    set_rule(client, shop.owner, "booking.created", expect=400, severity="urgent")
    set_rule(client, shop.owner, "booking.created", expect=400, audience="everyone")
    set_rule(client, shop.owner, "booking.created", expect=400, enabled="yes")
    set_rule(client, shop.owner, "booking.created", expect=400, colour="red")
    set_rule(client, shop.owner, "NotAType", expect=400, enabled=True)


def test_activity_summary(app, client, shop, other_shop):
    from actions import audit

    with app.app_context(), time_machine.travel(timedelta(hours=-30), tick=True):
        audit.record_event(shop.id, "booking.created")  # outside the 24 h window
    for type_ in ("booking.created", "booking.created", "review.posted", "booking.viewed"):
        post_event(client, shop.staff, type_)
    post_event(client, other_shop.staff, "payment.failed")
    _open_rooms(app, shop.id, open_=2, waiting=1)

    response = client.get("/api/activity/summary", headers=shop.staff.headers)
    assert response.status_code == 200
    summary = response.get_json()["summary"]
    assert summary["events_by_type"] == {"booking.created": 2, "booking.viewed": 1,
                                         "review.posted": 1}
    assert summary["events_total"] == 4 and summary["window_hours"] == 24
    assert (summary["open_conversations"], summary["waiting_conversations"]) == (2, 1)
    assert summary["oldest_waiting_since"]

    customer = factories.register(client)
    assert client.get("/api/activity/summary", headers=customer.headers).status_code == 403


def _open_rooms(app, business_id: int, open_: int, waiting: int) -> None:
    """Rooms in given states; the chat API that makes them is another package's concern."""
    from models import Room, User, db
    from models.base import utcnow

    with app.app_context():
        for i in range(open_ + waiting + 1):
            customer = User(email=f"room{i}-{business_id}@example.com", name="C",
                            password_hash="x", role="customer")
            db.session.add(customer)
            db.session.flush()
            status = "open" if i < open_ else "waiting_for_staff" if i < open_ + waiting \
                else "closed"
            db.session.add(Room(business_id=business_id, type="customer", status=status,
                                customer_id=customer.id,
                                waiting_since=utcnow() if status == "waiting_for_staff" else None))
        db.session.commit()
