"""Transactions of the app's session: commit, roll back, read snapshots, and the work that
follows a commit.

Work queued with :func:`after_commit` runs once the transaction is durable and is dropped
if it rolls back (the session's own events do it: ``infra.session``), so no client hears
of a row that does not exist and no worker looks for one.
"""
from __future__ import annotations

from collections.abc import Callable

from infra import session as session_hooks
from models import db

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
    """Run ``callback`` once the current transaction (or, if none is open, the next one)
    commits; never if it rolls back. A failing callback is logged, not raised."""
    session_hooks.queue(db.session(), callback)


def commit() -> None:
    """Commit, then run the work queued for after it; roll back if the commit fails.

    With no transaction open there is nothing to commit: the work queued for "the next"
    transaction runs at once (what an empty transaction's commit would do, without
    the session's begin and commit)."""
    session = db.session()
    if not session.in_transaction():
        session_hooks.run_queued(session)
        return
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def rollback() -> None:
    db.session.rollback()
