"""The task base classes: the one home of every task's rollback and retry policy."""
from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task, shared_task
from celery.exceptions import Ignore, Retry
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy.exc import IntegrityError, OperationalError

from infra import jobs, pending_work, tx
from infra.pending_work import PendingWork
from workers.task_names import FORMER_NAMES

log = logging.getLogger("workers")


class FlaskTask(Task):
    """Runs in the Flask app's context. A failure rolls the session back (dropping its
    after-commit work); a database error that may pass (a lock, a deadlock, a dropped
    connection, a race lost on a unique key) is retried with backoff, a few times.
    """

    retry_for: tuple[type[Exception], ...] = (OperationalError, IntegrityError)
    max_retries = 5
    retry_backoff_max = 60  # seconds

    def __call__(self, *args: object, **kwargs: object) -> object:
        with self.app.flask_app.app_context():
            try:
                return self.attempt(*args, **kwargs)
            except (Ignore, Retry):  # a task's own word on what happens next
                tx.rollback()
                raise
            except Exception as exc:
                tx.rollback()
                worth_retrying = self.after_failure(args, kwargs)
                if isinstance(exc, self.retry_for) and worth_retrying:
                    countdown = get_exponential_backoff_interval(
                        factor=1, retries=self.request.retries,
                        maximum=self.retry_backoff_max, full_jitter=True)
                    raise self.retry(exc=exc, countdown=countdown) from exc
                raise

    def attempt(self, *args: object, **kwargs: object) -> object:
        return self.run(*args, **kwargs)

    def after_failure(self, args: tuple, kwargs: dict) -> bool:
        """Note a failed run; whether another run is worth a retry."""
        return True


class PendingWorkTask(FlaskTask):
    """A task that does pending work (``work``), given an id or a list of ids first.

    Its attempts are counted when it starts (``pending_work.claim``), and a failure
    backs the rows off or marks them failed; it is retried only while a row has
    attempts left, so the retries of a task and the sweep's share one budget. A batch
    that fails goes on as one task per row, so a row that always fails (a poison
    message) holds back no other.
    """

    work: PendingWork

    def attempt(self, *args: object, **kwargs: object) -> object:
        ids = _ids(args, kwargs)
        gathering = self.work.gather > 0 and _takes_a_list(args, kwargs)
        claimed = pending_work.claim(self.work, ids,
                                     gather=self.work.gather if gathering else 0)
        self.request.claimed_ids = claimed if gathering else None  # what a failure backs off
        if not gathering:
            return self.run(*args, **kwargs)
        if not claimed:  # done already (by a task that gathered them): nothing to do
            return 0
        return self.run(claimed)

    def after_failure(self, args: tuple, kwargs: dict) -> bool:
        ids = getattr(self.request, "claimed_ids", None) or _ids(args, kwargs)
        try:
            still_pending = pending_work.record_failure(self.work, ids)
        except Exception:  # the database is away: the lease brings the sweep back to it
            tx.rollback()
            log.exception("could not record a failed attempt",
                          extra={"work": self.work.name, "ids": ids})
            return True
        if len(ids) > 1:
            for item_id in still_pending:
                jobs.enqueue(self.work.task, item_id)
            tx.commit()  # the failures are recorded: this runs the enqueues
            return False
        return bool(still_pending)


def _takes_a_list(args: tuple, kwargs: dict) -> bool:
    first = args[0] if args else next(iter(kwargs.values()))
    return isinstance(first, list | tuple)


def _ids(args: tuple, kwargs: dict) -> list[int]:
    first = args[0] if args else next(iter(kwargs.values()))
    return list(first) if isinstance(first, list | tuple) else [first]


def task(name: str, **options: object) -> Callable[[Callable], Task]:
    """``shared_task`` under ``name``, and under the task's former names (FORMER_NAMES)."""
    options.setdefault("base", FlaskTask)

    def register(fun: Callable) -> Task:
        for former, current in FORMER_NAMES.items():
            if current == name:
                shared_task(name=former, **options)(fun)
        return shared_task(name=name, **options)(fun)

    return register
