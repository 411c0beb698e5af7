"""Tasks for the automation of customer messages."""
from __future__ import annotations

from actions import automation
from infra import pending_work
from workers import task_names
from workers.base import PendingWorkTask, task


@task(task_names.PROCESS_CUSTOMER_MESSAGES, base=PendingWorkTask, work=automation.WORK)
def process_customer_messages(message_ids: list[int]) -> int:
    """The automation of several customer messages in one transaction (the web process's
    publisher gathers the ids of messages sent together)."""
    return automation.process_customer_messages(message_ids)


@task(task_names.PROCESS_CUSTOMER_MESSAGE, base=PendingWorkTask, work=automation.WORK)
def process_customer_message(message_id: int) -> bool:
    """One message; kept for tasks queued under its former name and for operators' calls."""
    return automation.process_customer_message(message_id)


@task(task_names.SWEEP_PENDING_AUTOMATION)
def sweep_pending_automation() -> dict[str, int]:
    """Beat: hand to the workers what stayed pending, and failed messages due a retry."""
    return pending_work.sweep(automation.WORK)


@task(task_names.REMIND_ESCALATIONS)
def remind_escalations() -> int:
    return automation.remind_escalations()
