"""Recording events: POST /api/events and actions.audit.record_event."""
from __future__ import annotations

import logging
import threading

import pytest

from tests import factories
from tests.helpers.notifications import counts, post_event


def test_event_is_recorded_for_the_callers_business(client, shop):
    body = post_event(client, shop.staff, "booking.created", {"customer_name": "Ana"})
    assert isinstance(body["audit_log_id"], int)
    logs = client.get("/api/audit-logs", headers=shop.owner.headers).get_json()["audit_logs"]
    assert [(e["id"], e["type"], e["actor_id"]) for e in logs] == [
        (body["audit_log_id"], "booking.created", shop.staff.id)]
    assert logs[0]["data"] == {"customer_name": "Ana"}
    assert logs[0]["created_at"].endswith("+00:00")


def test_owner_may_record_and_data_defaults_to_empty(client, shop):
    response = client.post("/api/events", json={"type": "review.posted"},
                           headers=shop.owner.headers)
    assert response.status_code == 202


def test_repeated_idempotency_key_returns_same_id_and_one_row(app, client, shop):
    first = post_event(client, shop.staff, "payment.failed", {"amount": 10}, key="pay-1")
    again = post_event(client, shop.colleague, "payment.failed", {"amount": 99}, key="pay-1")
    assert again["audit_log_id"] == first["audit_log_id"]
    assert again["duplicate"] is True and first["duplicate"] is False
    assert counts(app) == {"audit_logs": 1, "notifications": 1}


def test_same_key_in_another_business_is_independent(app, client, shop, other_shop):
    a = post_event(client, shop.staff, "booking.created", key="k")
    b = post_event(client, other_shop.staff, "booking.created", key="k")
    assert a["audit_log_id"] != b["audit_log_id"]
    assert counts(app)["audit_logs"] == 2


def test_python_function_records_and_dedupes(app, shop):
    from actions import audit
    from models import AuditLog, Notification, db

    with app.app_context():
        first = audit.record_event(shop.id, "booking.cancelled", {"service": "Cut"},
                                   idempotency_key="b-7")
        second = audit.record_event(shop.id, "booking.cancelled", {"service": "Cut"},
                                    idempotency_key="b-7")
        assert first == second
        assert db.session.query(AuditLog).count() == 1
        # Embedded mode: the conversion ran in-process after the commit.
        assert db.session.query(Notification).filter_by(audit_log_id=first).count() == 1
        assert db.session.get(AuditLog, first).processing_state == "done"


def test_python_function_joins_callers_transaction(app, shop):
    from actions import audit
    from infra import tx
    from models import AuditLog, db

    with app.app_context():
        audit.record_event(shop.id, "chat.escalated", {"room_id": 1}, commit=False)
        tx.rollback()
        assert db.session.query(AuditLog).count() == 0


def test_concurrent_repeats_of_a_key_record_one_entry(app, shop):
    """Callers racing with one key (real concurrency on PostgreSQL) all get the same id."""
    from actions import audit
    from models import AuditLog, Notification, db

    barrier = threading.Barrier(6)
    ids: list[int] = []
    errors: list[BaseException] = []

    def call() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                ids.append(audit.record_event(shop.id, "payment.failed", {"n": 1},
                                              idempotency_key="race"))
            except BaseException as exc:  # reported below; a thread cannot fail the test
                errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(ids) == 6 and len(set(ids)) == 1
    with app.app_context():
        assert db.session.query(AuditLog).count() == 1
        assert db.session.query(Notification).count() == 1


BAD_BODIES = [
    ({"type": "Booking.Created", "data": {}}, 400, "invalid_type"),
    ({"type": "booking", "data": {}}, 400, "invalid_type"),
    ({"type": "booking..created", "data": {}}, 400, "invalid_type"),
    ({"type": "booking.created!", "data": {}}, 400, "invalid_type"),
    ({"type": "a." + "b" * 63, "data": {}}, 400, "invalid_type"),
    ({"type": 12, "data": {}}, 400, "invalid_input"),
    ({"data": {}}, 400, "invalid_input"),
    ({"type": "booking.created", "data": [1, 2]}, 400, "invalid_input"),
    ({"type": "booking.created", "data": "text"}, 400, "invalid_input"),
    ({"type": "booking.created", "data": None}, 400, "invalid_input"),
    ({"type": "booking.created", "data": {"blob": "x" * 17_000}}, 413, "too_large"),
    ({"type": "booking.created", "data": {}, "idempotency_key": 5}, 400, "invalid_input"),
    ({"type": "booking.created", "data": {}, "idempotency_key": ""}, 400,
     "invalid_idempotency_key"),
    ({"type": "booking.created", "data": {}, "idempotency_key": "k" * 129}, 400,
     "invalid_idempotency_key"),
    ({"type": "booking.created", "data": {}, "extra": 1}, 400, "invalid_input"),
]


def test_bad_input_is_refused_and_nothing_is_written(app, client, shop):
    for body, status, code in BAD_BODIES:
        response = client.post("/api/events", json=body, headers=shop.staff.headers)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"]["code"] == code, body
    assert counts(app) == {"audit_logs": 0, "notifications": 0}


def test_bad_input_through_python_function_writes_nothing(app, shop):
    from actions import audit
    from actions.errors import InvalidInput, TooLarge
    from models import AuditLog, db

    with app.app_context():
        with pytest.raises(InvalidInput):
            audit.record_event(shop.id, "booking.created", {"when": object()})
        with pytest.raises(InvalidInput):
            audit.record_event(shop.id, "booking.created", {"x": float("nan")})
        with pytest.raises(TooLarge):
            audit.record_event(shop.id, "booking.created", {"x": "é" * 9000})
        with pytest.raises(InvalidInput):
            audit.record_event(shop.id, "BOOKING", {})
        assert db.session.query(AuditLog).count() == 0


def test_customer_is_forbidden(app, client, shop):
    customer = factories.register(client)
    response = client.post("/api/events", json={"type": "booking.created", "data": {}},
                           headers=customer.headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert counts(app)["audit_logs"] == 0


def test_staff_without_a_business_is_forbidden(app):
    from actions import audit
    from actions.actors import Actor
    from actions.errors import Forbidden
    from models import AuditLog, db

    with app.app_context():
        with pytest.raises(Forbidden):
            audit.record_for(Actor(id=1, role="staff", business_id=None, name="x"),
                             "booking.created", {})
        assert db.session.query(AuditLog).count() == 0


def test_no_token_is_401(client):
    response = client.post("/api/events", json={"type": "booking.created", "data": {}})
    assert response.status_code == 401


def test_audit_entry_and_notification_are_logged_without_contents(
        client, shop, caplog, monkeypatch):
    # migrations/env.py's fileConfig() disables loggers that exist when the test
    # database is migrated; production logging is configured after that.
    monkeypatch.setattr(logging.getLogger("activity"), "disabled", False)
    caplog.set_level("INFO", logger="activity")
    post_event(client, shop.staff, "booking.created", {"customer_name": "Secret Sam"})
    records = [r for r in caplog.records if r.name == "activity"]
    assert [r.getMessage() for r in records] == ["audit entry recorded", "notification made"]
    assert records[0].event_type == "booking.created" and records[0].business_id == shop.id
    assert all("Secret Sam" not in str(r.__dict__) for r in records)
