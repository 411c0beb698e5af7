"""Tasks for the automation of customer messages."""
from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import IntegrityError, OperationalError

from actions import automation, tx
from infra.task_publisher import MAX_ITEMS

RETRYABLE = (OperationalError, IntegrityError)
RETRY = {"bind": True, "max_retries": 5, "autoretry_for": RETRYABLE, "retry_backoff": 1,
         "retry_backoff_max": 60, "retry_jitter": True}


@shared_task(name="workers.automation_tasks.process_customer_messages", **RETRY)
def process_customer_messages(self, message_ids: list[int]) -> int:
    """The automation of several customer messages in one transaction (the web process's
    publisher gathers the ids of messages sent together)."""
    try:
        return automation.process_customer_messages(message_ids)
    except RETRYABLE:
        tx.rollback()
        raise


@shared_task(name="workers.tasks.process_customer_message", **RETRY)
def process_customer_message(self, message_id: int) -> bool:
    """One message; kept for tasks queued under this name and for operators' manual calls."""
    try:
        return automation.process_customer_message(message_id)
    except RETRYABLE:
        tx.rollback()
        raise


@shared_task(name="workers.tasks.sweep_pending_automation")
def sweep_pending_automation() -> int:
    ids = automation.pending_message_ids()
    for start in range(0, len(ids), MAX_ITEMS):
        process_customer_messages.apply_async(args=(ids[start:start + MAX_ITEMS],))
    return len(ids)


@shared_task(name="workers.tasks.remind_escalations", autoretry_for=RETRYABLE, max_retries=3)
def remind_escalations() -> int:
    return automation.remind_escalations()
