"""Tasks for audit log entries and notifications: thin, by id, idempotent."""
from __future__ import annotations

from actions import audit, notifications
from infra import pending_work
from workers import task_names
from workers.base import PendingWorkTask, task


@task(task_names.PROCESS_AUDIT_LOG, base=PendingWorkTask, work=audit.WORK)
def process_audit_log(audit_log_id: int) -> int | None:
    """Turn one audit entry into its notification (or none), once."""
    return notifications.convert_audit_entry(audit_log_id)


@task(task_names.SWEEP_PENDING_AUDIT_LOGS)
def sweep_pending_audit_logs() -> dict[str, int]:
    """Beat: hand to the workers what stayed pending, and failed entries due a retry."""
    return pending_work.sweep(audit.WORK)
