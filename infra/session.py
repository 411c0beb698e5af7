"""The ORM session of the app: work queued for after the commit runs by itself.

A domain verb queues what must follow its change (an emit, a task for the workers)
with :func:`queue`; nothing threads a "has it committed yet?" flag through the code:

- when the transaction commits (the session's ``after_commit`` event) the queued work
  becomes due, and :meth:`Session.commit` runs it once the session is usable again (an
  in-process task may open a transaction of its own);
- when the transaction rolls back, or ends without a commit (``after_soft_rollback``,
  ``after_transaction_end``), its work is dropped: no client hears of a row that does
  not exist and no worker looks for one. A savepoint that rolls back drops only what was
  queued inside it.

Work queued while no transaction is open belongs to the next one. A change that is
already durable (the send path's writer commits on its own connection) queues its events
and then commits the session's empty transaction, which costs no database round trip.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import flask_sqlalchemy.session
from sqlalchemy import event
from sqlalchemy.orm import SessionTransaction

log = logging.getLogger(__name__)

_QUEUED = "after_commit.queued"  # (transaction it was queued in, callback), in order
_DUE = "after_commit.due"  # callbacks whose transaction committed, not run yet


class Session(flask_sqlalchemy.session.Session):
    def commit(self) -> None:
        super().commit()
        run_due(self)


def queue(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` after the current (or next) transaction commits; never if it
    rolls back."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_QUEUED, []).append((transaction, callback))


def discard(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def run_queued(session: Session) -> None:
    """Run the work queued while no transaction was open, as if an empty one committed."""
    queued = session.info.pop(_QUEUED, None) or []
    session.info.setdefault(_DUE, []).extend(callback for _, callback in queued)
    run_due(session)


def run_due(session: Session) -> None:
    for callback in session.info.pop(_DUE, None) or []:
        run_safely(callback)


def run_safely(callback: Callable[[], None]) -> None:
    """Run work that follows a commit; its failure is logged, never raised, since the
    change it follows is already durable."""
    try:
        callback()
    except Exception:  # an emit or enqueue failing must not undo a committed change
        log.exception("after-commit callback failed")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        session.info.setdefault(_DUE, []).extend(callback for _, callback in queued)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    queued = session.info.get(_QUEUED)
    if not queued:
        return
    if not previous.nested:
        discard(session)
        return
    session.info[_QUEUED] = [(txn, callback) for txn, callback in queued
                             if not _inside(txn, previous)]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the queue is already empty; a transaction closed without a commit
    # (session.close(), the end of a request) takes its work with it.
    if transaction.parent is None:
        discard(session)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
