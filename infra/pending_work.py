"""Work recorded in the database until a worker has done it: attempts, backoff, the sweep.

Work that follows a commit (a customer message's automation, an audit entry's
notification) is a row with a state (``pending``, ``done`` or ``failed``), a count of
attempts and the time the beat sweep may next hand it to a worker. One policy covers
every kind of such work:

- An attempt is counted when a worker starts on the row (:func:`claim`), never when the
  row is enqueued, so tasks and sweeps that pile up while no worker runs cost nothing.
- A claimed row is leased: the sweep leaves it alone while a worker may still be on it.
- After a failed attempt (:func:`record_failure`) the row waits a backoff that doubles
  with each attempt, up to a cap; once it used ``max_attempts`` it is ``failed``.
- The sweep (:func:`sweep`) enqueues pending rows whose task was lost (a failed enqueue,
  a crashed worker) and retries ``failed`` rows when their backoff is over, until they
  are ``max_age`` old. Then they stay failed, listed for an operator, who can
  :func:`requeue` them (``flask automation failed|requeue``).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, update

from infra import jobs, tx
from models import db
from models.base import as_utc, utcnow

log = logging.getLogger("pending_work")

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    stale_after: timedelta = timedelta(seconds=30)  # a new row unclaimed this long: enqueue again
    lease: timedelta = timedelta(minutes=5)  # a claimed or re-enqueued row is left alone this long
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=1)
    max_age: timedelta = timedelta(days=1)  # the sweep retries no failed row older than this

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min ... 1 h."""
        return min(self.backoff_base * 2 ** max(attempts - 1, 0), self.backoff_cap)


@dataclass(frozen=True)
class PendingWork:
    """One kind of work: its table, the names of its three columns and the tasks that do it."""

    name: str
    model: type
    state: str
    attempts: str
    next_attempt_at: str
    task: str  # takes one id
    batch_task: str | None = None  # takes a list of ids (queued with jobs.enqueue_item)
    # A batch task also takes up to this many other pending rows that no worker has claimed
    # yet, oldest first (their own tasks then find them done): a backlog drains in large
    # batches instead of task by task.
    gather: int = 0
    details: tuple[str, ...] = ()  # columns an operator sees beside each failed row
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def column(self, name: str):  # noqa: ANN201 - an ORM attribute
        return getattr(self.model, name)

    def is_(self, state: str) -> ColumnElement[bool]:
        # A literal, not a bound parameter, so SQLite can use the partial indexes on the state.
        return self.column(self.state) == literal_column(f"'{state}'")


def claim(work: PendingWork, ids: Iterable[int], now: datetime | None = None,
          gather: int = 0) -> list[int]:
    """A worker starts on ``ids``: count an attempt on each one still pending and lease it.

    With ``gather``, it also claims up to that many other pending rows that no worker has
    claimed yet, oldest first. Returns the ids claimed. Commits, so the attempt stays
    counted if the work then fails or the worker dies.
    """
    now = now or utcnow()
    own_ids = sorted(set(ids))
    wanted = work.model.id.in_(own_ids)
    if gather > 0:
        # Its own statement, walked in id order on the index of unclaimed rows: inside the
        # update's OR, the planner scanned that index whole, dead entries included.
        unclaimed = and_(work.is_(PENDING), work.column(work.next_attempt_at).is_(None))
        others = [row_id for row_id in db.session.scalars(
            select(work.model.id).where(unclaimed).order_by(work.model.id).limit(gather))
            if row_id not in own_ids]
        if others:
            # Checked again on the row itself, so two workers gathering at once do not both
            # take a row (PostgreSQL re-reads a row another claim just updated).
            wanted = or_(wanted, and_(work.model.id.in_(others),
                                      work.column(work.next_attempt_at).is_(None)))
    claimed = sorted(db.session.scalars(
        update(work.model)
        .where(wanted, work.is_(PENDING))
        .values({work.attempts: work.column(work.attempts) + 1,
                 work.next_attempt_at: now + work.policy.lease})
        .returning(work.model.id)
        .execution_options(synchronize_session=False)
    ))
    tx.commit()
    return claimed


def record_failure(work: PendingWork, ids: Iterable[int], now: datetime | None = None
                   ) -> list[int]:
    """An attempt on ``ids`` failed: back each pending one off, or mark it failed.

    Returns the ids that stay pending (attempts left). Commits.
    """
    now = now or utcnow()
    still_pending = []
    for row in _rows(work, work.is_(PENDING), ids):
        if getattr(row, work.attempts) >= work.policy.max_attempts:
            _give_up(work, row, now)
        else:
            backoff = work.policy.backoff(getattr(row, work.attempts))
            setattr(row, work.next_attempt_at, now + backoff)
            still_pending.append(row.id)
    tx.commit()
    return still_pending


def sweep(work: PendingWork, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Beat: enqueue what stayed pending, retry failed rows whose backoff is over.

    Enqueueing counts no attempt: a row's task may sit in the broker with no worker to
    run it, and sweeping it again costs it nothing. A pending row that already used its
    attempts (its worker died during the last one) becomes failed instead.
    """
    now = now or utcnow()
    policy = work.policy
    next_at, attempts = work.column(work.next_attempt_at), work.column(work.attempts)
    due = and_(work.is_(PENDING), or_(
        and_(next_at.is_(None), work.model.created_at < now - policy.stale_after),
        next_at <= now))
    gave_up = 0
    for row in _rows(work, and_(due, attempts >= policy.max_attempts), limit=batch):
        _give_up(work, row, now)
        gave_up += 1
    requeued = _lease(work, and_(due, attempts < policy.max_attempts), now, batch)
    retried = _lease(work, and_(work.is_(FAILED), next_at <= now), now, batch)
    _enqueue(work, requeued + retried)
    tx.commit()
    counts = {"requeued": len(requeued), "retried": len(retried), "failed": gave_up}
    if requeued or retried or gave_up:
        log.warning("pending work swept", extra={"work": work.name, **counts})
    return counts


def failed(work: PendingWork, limit: int = 100) -> tuple[list, int]:
    """The failed rows, oldest first (at most ``limit``), and how many there are in all."""
    rows = list(db.session.scalars(
        select(work.model).where(work.is_(FAILED)).order_by(work.model.id).limit(limit)))
    total = db.session.scalar(
        select(func.count()).select_from(work.model).where(work.is_(FAILED)))
    return rows, total


def requeue(work: PendingWork, ids: Iterable[int] | None, now: datetime | None = None
            ) -> list[int]:
    """Failed rows (those among ``ids``, or all) start again as new: pending, no attempts.

    Returns their ids, for the caller to hand to the workers; the sweep enqueues them
    if that is lost. Commits.
    """
    now = now or utcnow()
    where = work.is_(FAILED)
    if ids is not None:
        where = and_(where, work.model.id.in_(sorted(set(ids))))
    requeued = sorted(db.session.scalars(
        update(work.model).where(where)
        .values({work.state: PENDING, work.attempts: 0,
                 work.next_attempt_at: now + work.policy.stale_after})
        .returning(work.model.id)
        .execution_options(synchronize_session=False)
    ))
    tx.commit()
    if requeued:
        log.warning("failed work requeued", extra={"work": work.name, "count": len(requeued)})
    return requeued


def _rows(work: PendingWork, where: ColumnElement[bool], ids: Iterable[int] | None = None,
          limit: int | None = None) -> list:
    query = select(work.model).where(where)
    if ids is not None:
        query = query.where(work.model.id.in_(sorted(set(ids))))
    query = query.order_by(work.model.id).limit(limit).with_for_update()
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def _give_up(work: PendingWork, row: object, now: datetime) -> None:
    """Mark a row failed; the sweep retries it after its backoff unless it is past max_age."""
    policy = work.policy
    retry_at = now + policy.backoff(getattr(row, work.attempts))
    if retry_at - as_utc(row.created_at) > policy.max_age:
        retry_at = None  # too old for automatic retries: it waits for an operator
    setattr(row, work.state, FAILED)
    setattr(row, work.next_attempt_at, retry_at)
    log.error("pending work failed", extra={
        "work": work.name, "id": row.id, "attempts": getattr(row, work.attempts),
        "retry_at": retry_at.isoformat() if retry_at else None})


def _lease(work: PendingWork, where: ColumnElement[bool], now: datetime, batch: int
           ) -> list[int]:
    """Set the rows matching ``where`` pending, leased; returns their ids."""
    chosen = select(work.model.id).where(where).order_by(work.model.id).limit(batch)
    # ``where`` again outside the sub-select: PostgreSQL re-checks it on a row changed
    # meanwhile (a worker finished it), the sub-select alone it would not.
    return sorted(db.session.scalars(
        update(work.model).where(work.model.id.in_(chosen.scalar_subquery()), where)
        .values({work.state: PENDING, work.next_attempt_at: now + work.policy.lease})
        .returning(work.model.id)
        .execution_options(synchronize_session=False)
    ))


def _enqueue(work: PendingWork, ids: list[int]) -> None:
    for item_id in ids:
        if work.batch_task:
            jobs.enqueue_item(work.batch_task, item_id)
        else:
            jobs.enqueue(work.task, item_id)
