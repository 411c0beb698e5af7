"""Enqueueing work for the Celery workers, after the commit that created it."""
from __future__ import annotations

import logging

from actions.tx import after_commit, run_committed

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args: int, committed: bool = False) -> None:
    """Send a task by name once the transaction commits (at once if it already has).

    A failed send is only logged: the row keeps its pending state and the
    beat sweep enqueues it again.
    """

    def send() -> None:
        from flask import current_app

        current_app.extensions["celery"].tasks[task_name].apply_async(args=args)

    (run_committed if committed else after_commit)(send)
