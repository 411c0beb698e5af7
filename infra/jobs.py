"""Enqueueing work for the Celery workers, after the commit that created it.

With a broker the task goes to the process's publisher (``infra.task_publisher``),
which hands it to the broker from its own thread: the caller never waits on the
broker. Without one (the embedded mode) the task runs in-process at once.
"""
from __future__ import annotations

import logging

from flask import current_app

from infra import task_publisher
from infra.task_publisher import Job
from infra.tx import after_commit

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args: int) -> None:
    """Send a task by name once the transaction commits; never if it rolls back.

    A failed send is only logged: the row keeps its pending state and the
    beat sweep enqueues it again.
    """
    _submit(Job(task_name, args, batched=False))


def enqueue_item(task_name: str, item_id: int) -> None:
    """Queue one id for a task that takes a list of ids; ids queued together share a task."""
    _submit(Job(task_name, (item_id,), batched=True))


def _submit(job: Job) -> None:
    celery_app = current_app.extensions["celery"]
    if celery_app.conf.task_always_eager:
        args = ([job.args[0]],) if job.batched else job.args

        def run() -> None:
            celery_app.tasks[job.task_name].apply_async(args=args)

        after_commit(run)
        return
    publisher = publisher_for(celery_app)
    after_commit(lambda: publisher.submit(job))


def publisher_for(celery_app) -> task_publisher.TaskPublisher:  # noqa: ANN001 - a Celery app
    def send(messages: list[tuple[str, tuple]]) -> None:
        with celery_app.producer_or_acquire() as producer:
            for name, args in messages:
                celery_app.tasks[name].apply_async(args=args, producer=producer, retry=False)

    return task_publisher.for_app(id(celery_app), send)
