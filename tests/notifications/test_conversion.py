"""The worker's conversion of audit entries into notifications, its idempotency and the sweep."""
from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy.exc import OperationalError

from actions.audit import WORK
from tests.helpers.notifications import counts, notifications, post_event, set_rule
from workers.task_names import PROCESS_AUDIT_LOG as PROCESS
from workers.task_names import SWEEP_PENDING_AUDIT_LOGS as SWEEP


def _task(app, name):
    return app.extensions["celery"].tasks[name]


def test_critical_type_becomes_a_notification(client, shop):
    entry = post_event(client, shop.staff, "booking.created",
                       {"customer_name": "Ana", "service": "Haircut",
                        "starts_at": "2030-05-01 10:00"})
    items = notifications(client, shop.staff)["notifications"]
    assert len(items) == 1
    n = items[0]
    assert n["type"] == "booking.created" and n["severity"] == "info"
    assert n["title"] == "New booking"
    assert n["message"] == "Ana booked Haircut for 2030-05-01 10:00."
    assert n["data"]["customer_name"] == "Ana"
    assert n["read_at"] is None and n["audit_log_id"] == entry["audit_log_id"]
    assert set(n) >= {"id", "type", "title", "message", "data", "severity", "read_at",
                      "created_at"}


def test_non_critical_type_makes_no_notification(app, client, shop):
    post_event(client, shop.staff, "booking.viewed", {"customer_name": "Ana"})
    post_event(client, shop.staff, "payment.succeeded", {"amount": 5})
    assert notifications(client, shop.staff)["notifications"] == []
    assert counts(app) == {"audit_logs": 2, "notifications": 0}
    logs = client.get("/api/audit-logs", headers=shop.staff.headers).get_json()["audit_logs"]
    assert len(logs) == 2


def test_every_default_contract_type_notifies(client, shop):
    for type_ in ("booking.created", "booking.cancelled", "payment.failed", "review.posted",
                  "chat.escalated"):
        post_event(client, shop.owner, type_, {})
    types = {n["type"] for n in notifications(client, shop.staff)["notifications"]}
    assert types == {"booking.created", "booking.cancelled", "payment.failed",
                     "review.posted", "chat.escalated"}


def test_missing_fields_render_as_placeholders(client, shop):
    post_event(client, shop.staff, "payment.failed", {"amount": "25.00"})
    post_event(client, shop.staff, "booking.cancelled", {})
    failed, cancelled = sorted(notifications(client, shop.staff)["notifications"],
                               key=lambda n: n["type"], reverse=True)
    assert failed["severity"] == "critical"
    assert failed["message"] == "A payment of 25.00 from a customer failed: no reason given."
    assert cancelled["message"] == "A customer cancelled an appointment."


def test_disabled_type_makes_no_notification(app, client, shop):
    set_rule(client, shop.owner, "booking.created", enabled=False)
    post_event(client, shop.staff, "booking.created", {"customer_name": "Ana"})
    assert notifications(client, shop.staff)["notifications"] == []
    assert counts(app) == {"audit_logs": 1, "notifications": 0}


def test_severity_override_applies_to_new_notifications(client, shop):
    rule = set_rule(client, shop.owner, "review.posted", severity="critical")["rule"]
    assert rule["enabled"] is True and rule["customised"] is True
    post_event(client, shop.staff, "review.posted", {"rating": 1, "comment": "Late"})
    (n,) = notifications(client, shop.staff)["notifications"]
    assert n["severity"] == "critical"
    assert n["message"] == "A customer left a 1-star review: Late"


def test_override_of_one_business_does_not_touch_another(client, shop, other_shop):
    set_rule(client, shop.owner, "booking.created", enabled=False)
    post_event(client, other_shop.staff, "booking.created")
    assert len(notifications(client, other_shop.staff)["notifications"]) == 1


def test_business_can_enable_a_type_without_default(client, shop):
    set_rule(client, shop.owner, "gift_card.sold", enabled=True, severity="warning",
             message_template="{buyer|Someone} bought a gift card")
    post_event(client, shop.staff, "gift_card.sold", {"buyer": "Bo"})
    (n,) = notifications(client, shop.staff)["notifications"]
    assert (n["title"], n["message"], n["severity"]) == (
        "gift_card.sold", "Bo bought a gift card", "warning")


def test_task_run_twice_makes_one_notification(app, client, shop):
    entry_id = post_event(client, shop.staff, "booking.created")["audit_log_id"]
    task = _task(app, PROCESS)
    first = task.apply(args=[entry_id]).result
    second = task.apply(args=[entry_id]).result
    assert first == second is not None
    assert counts(app)["notifications"] == 1


def test_racing_conversion_is_stopped_by_the_unique_audit_log_id(app, client, shop):
    """Both runs saw `pending`: the second insert conflicts and returns the first's id."""
    from actions import notifications as actions_notifications
    from models import AuditLog, db

    entry_id = post_event(client, shop.staff, "payment.failed")["audit_log_id"]
    with app.app_context():
        db.session.get(AuditLog, entry_id).processing_state = "pending"
        db.session.commit()
        made = actions_notifications.convert_audit_entry(entry_id)
        assert made == notifications(client, shop.staff)["notifications"][0]["id"]
        assert db.session.get(AuditLog, entry_id).processing_state == "done"
    assert counts(app)["notifications"] == 1


def test_failed_enqueue_is_swept_by_beat(app, client, shop, monkeypatch):
    from models import AuditLog, db

    task = _task(app, PROCESS)

    def broker_down(*_args, **_kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(task, "apply_async", broker_down)
    entry_id = post_event(client, shop.staff, "booking.created")["audit_log_id"]
    monkeypatch.undo()
    assert counts(app)["notifications"] == 0

    # Too young to be swept: a worker may still be on it.
    assert _task(app, SWEEP).apply().result == {"requeued": 0, "retried": 0, "failed": 0}
    with time_machine.travel(timedelta(seconds=45), tick=True):
        assert _task(app, SWEEP).apply().result == {"requeued": 1, "retried": 0, "failed": 0}
    with app.app_context():
        entry = db.session.get(AuditLog, entry_id)
        assert (entry.processing_state, entry.attempts) == ("done", 1)
    assert counts(app)["notifications"] == 1


def test_sweeps_with_no_worker_running_never_fail_an_entry(app, client, shop, monkeypatch):
    from models import AuditLog, db

    task = _task(app, PROCESS)
    queued = []
    monkeypatch.setattr(task, "apply_async", lambda args=None, **_k: queued.append(args))
    entry_id = post_event(client, shop.staff, "booking.created")["audit_log_id"]
    with time_machine.travel(timedelta(minutes=1)) as clock:
        for _ in range(4 * WORK.policy.max_attempts):
            _task(app, SWEEP).apply()
            clock.shift(WORK.policy.lease)
    assert len(queued) > WORK.policy.max_attempts
    with app.app_context():
        entry = db.session.get(AuditLog, entry_id)
        assert (entry.processing_state, entry.attempts) == ("pending", 0)
    for args in queued:  # the worker is back
        task.apply(args=args)
    with app.app_context():
        entry = db.session.get(AuditLog, entry_id)
        assert (entry.processing_state, entry.attempts) == ("done", 1)
    assert counts(app)["notifications"] == 1


def test_database_errors_retry_with_a_bound_then_mark_failed_and_listed(app, client, shop,
                                                                        monkeypatch):
    from actions import notifications as actions_notifications
    from models import AuditLog, db

    task = _task(app, PROCESS)
    monkeypatch.setattr(task, "apply_async", lambda *a, **k: None)
    entry_id = post_event(client, shop.staff, "booking.created")["audit_log_id"]
    monkeypatch.undo()
    calls = []

    def flaky(audit_log_id):
        calls.append(audit_log_id)
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(actions_notifications, "convert_audit_entry", flaky)
    task.apply(args=[entry_id])
    assert len(calls) == WORK.policy.max_attempts  # the task's retries spend the entry's budget
    with app.app_context():
        assert db.session.get(AuditLog, entry_id).processing_state == "failed"
    # Kept in the log, and shown to an operator, who requeues it once the database is back.
    logs = client.get("/api/audit-logs", headers=shop.staff.headers).get_json()["audit_logs"]
    assert [e["id"] for e in logs] == [entry_id]
    cli = app.test_cli_runner()
    listing = cli.invoke(args=["notifications", "failed"]).output.splitlines()
    assert listing[0].startswith(f"id={entry_id}  attempts={WORK.policy.max_attempts}  "
                                 f"business_id={shop.id}  type=booking.created  created_at=")
    assert listing[-1] == "1 failed"
    monkeypatch.undo()
    assert cli.invoke(args=["notifications", "requeue", "--all"]).output == "1 requeued\n"
    assert counts(app)["notifications"] == 1


def test_database_error_once_is_retried_to_success(app, client, shop, monkeypatch):
    from actions import notifications as actions_notifications

    task = _task(app, PROCESS)
    monkeypatch.setattr(task, "apply_async", lambda *a, **k: None)
    entry_id = post_event(client, shop.staff, "booking.created")["audit_log_id"]
    monkeypatch.undo()
    real = actions_notifications.convert_audit_entry
    calls = []

    def once_locked(audit_log_id):
        calls.append(audit_log_id)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        return real(audit_log_id)

    monkeypatch.setattr(actions_notifications, "convert_audit_entry", once_locked)
    task.apply(args=[entry_id])
    assert len(calls) == 2
    assert counts(app)["notifications"] == 1

