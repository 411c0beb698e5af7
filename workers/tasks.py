"""Celery tasks: each takes ids, reloads, and calls one action."""
from __future__ import annotations

from celery import shared_task

from actions import attachments, auth


@shared_task(name="workers.tasks.purge_expired_revocations")
def purge_expired_revocations() -> int:
    return auth.purge_expired_revocations()


@shared_task(name="workers.tasks.delete_unsent_attachments")
def delete_unsent_attachments() -> int:
    return attachments.delete_unsent()
