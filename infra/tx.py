"""Commit with work that must follow it: events and task enqueues.

Work queued with :func:`after_commit` runs only once the transaction is
durable, and is dropped if it rolls back, so no client hears of a row that
does not exist and no worker looks for one.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from models import db

log = logging.getLogger(__name__)
_KEY = "after_commit"


READ_SNAPSHOT = "read_snapshot"  # execution option the SQLite "begin" hook looks for


def reading() -> None:
    """Begin the session's next transaction as a read of a snapshot.

    On SQLite it takes no write lock (in WAL mode a reader sees a snapshot and blocks
    nobody), so a step that reads, then computes or waits on Redis, holds up no writer;
    it must write nothing. Elsewhere it is an ordinary transaction. Does nothing when a
    transaction is already open.
    """
    db.session.connection(execution_options={READ_SNAPSHOT: True})


def after_commit(callback: Callable[[], None]) -> None:
    db.session.info.setdefault(_KEY, []).append(callback)


def commit() -> None:
    session = db.session
    try:
        session.commit()
    except Exception:
        session.rollback()
        discard()
        raise
    run_pending()


def rollback() -> None:
    db.session.rollback()
    discard()


def discard() -> None:
    db.session.info.pop(_KEY, None)


def run_pending() -> None:
    for callback in db.session.info.pop(_KEY, None) or []:
        run_committed(callback)


def run_committed(callback: Callable[[], None]) -> None:
    """Run work that follows a commit; its failure is logged, never raised, since the
    change it follows is already durable."""
    try:
        callback()
    except Exception:  # an emit or enqueue failing must not undo a committed change
        log.exception("after-commit callback failed")
