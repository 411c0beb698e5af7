"""Periodic clean-ups; each task calls one action."""
from __future__ import annotations

from actions import attachments, auth
from workers import task_names
from workers.base import task


@task(task_names.PURGE_EXPIRED_REVOCATIONS)
def purge_expired_revocations() -> int:
    return auth.purge_expired_revocations()


@task(task_names.DELETE_UNSENT_ATTACHMENTS)
def delete_unsent_attachments() -> int:
    return attachments.delete_unsent()
