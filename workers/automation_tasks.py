"""Tasks for the automation of customer messages."""
from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import IntegrityError, OperationalError

from actions import automation, tx

RETRYABLE = (OperationalError, IntegrityError)


@shared_task(name="workers.tasks.process_customer_message", bind=True, max_retries=5,
             autoretry_for=RETRYABLE, retry_backoff=1, retry_backoff_max=60, retry_jitter=True)
def process_customer_message(self, message_id: int) -> bool:
    try:
        return automation.process_customer_message(message_id)
    except RETRYABLE:
        tx.rollback()
        raise


@shared_task(name="workers.tasks.sweep_pending_automation")
def sweep_pending_automation() -> int:
    ids = automation.pending_message_ids()
    for message_id in ids:
        process_customer_message.apply_async(args=(message_id,))
    return len(ids)


@shared_task(name="workers.tasks.remind_escalations", autoretry_for=RETRYABLE, max_retries=3)
def remind_escalations() -> int:
    return automation.remind_escalations()
