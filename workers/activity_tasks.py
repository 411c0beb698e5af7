"""Tasks for audit log entries and notifications: thin, by id, idempotent."""
from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError

from actions import audit, notifications, tx

log = logging.getLogger("activity")

# Past this age a pending entry is presumed lost (failed enqueue, crashed worker).
SWEEP_AFTER_SECONDS = 30.0
SWEEP_BATCH = 500
MAX_RETRIES = 5


@shared_task(
    name="workers.tasks.process_audit_log",
    bind=True,
    max_retries=MAX_RETRIES,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
)
def process_audit_log(self, audit_log_id: int) -> int | None:
    """Turn one audit entry into its notification (or none), once."""
    try:
        return notifications.convert_audit_entry(audit_log_id)
    except OperationalError:
        tx.rollback()
        if self.request.retries >= self.max_retries:
            # The database kept failing: flag the entry rather than drop it.
            try:
                audit.mark_failed(audit_log_id)
            except OperationalError:
                tx.rollback()
                log.exception("could not mark audit entry failed",
                              extra={"audit_log_id": audit_log_id})
            return None
        raise


@shared_task(name="workers.tasks.sweep_pending_audit_logs")
def sweep_pending_audit_logs() -> dict:
    """Beat: enqueue again the entries still pending after SWEEP_AFTER_SECONDS."""
    return audit.requeue_stale(SWEEP_AFTER_SECONDS, SWEEP_BATCH, max_attempts=MAX_RETRIES)
