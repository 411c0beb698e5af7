"""Work queued for after a commit runs by itself, off the session's own events
(infra.session): after the commit that made the change durable, never after a rollback."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from infra import tx
from models import Business, db


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


def _names_seen_elsewhere() -> set[str]:
    """Business names committed, as another connection sees them."""
    with db.engine.connect() as conn:
        return set(conn.scalars(select(Business.name)))


def _add(name: str) -> None:
    db.session.add(Business(name=name))
    db.session.flush()


def test_runs_once_after_the_commit_made_the_change_durable(ctx) -> None:
    seen: list[set[str]] = []
    _add("Salon")
    tx.after_commit(lambda: seen.append(_names_seen_elsewhere()))
    assert seen == []  # not before the commit
    tx.commit()
    assert seen == [{"Salon"}]
    tx.commit()  # a later commit runs nothing again
    assert len(seen) == 1


def test_a_plain_session_commit_runs_it_too(ctx) -> None:
    ran: list[str] = []
    _add("Salon")
    tx.after_commit(lambda: ran.append("emitted"))
    db.session.commit()  # not through infra.tx: the session's events do it
    assert ran == ["emitted"]


def test_rollback_drops_it(ctx) -> None:
    ran: list[str] = []
    _add("Salon")
    tx.after_commit(lambda: ran.append("emitted"))
    tx.rollback()
    tx.commit()
    assert ran == []
    assert _names_seen_elsewhere() == set()


def test_a_failed_commit_drops_it(ctx) -> None:
    ran: list[str] = []
    db.session.add(Business(name=None))  # NOT NULL: the commit fails
    tx.after_commit(lambda: ran.append("emitted"))
    with pytest.raises(Exception):  # noqa: B017,PT011 - the driver's own IntegrityError
        tx.commit()
    tx.commit()
    assert ran == []


def test_a_rolled_back_savepoint_drops_only_its_own_work(ctx) -> None:
    ran: list[str] = []
    _add("Salon")
    tx.after_commit(lambda: ran.append("outer"))
    savepoint = db.session.begin_nested()
    tx.after_commit(lambda: ran.append("inner"))
    savepoint.rollback()
    released = db.session.begin_nested()
    tx.after_commit(lambda: ran.append("kept"))
    released.commit()
    tx.commit()
    assert ran == ["outer", "kept"]


def test_work_queued_with_no_transaction_open_follows_the_next_commit(ctx) -> None:
    ran: list[str] = []
    tx.commit()
    assert not db.session().in_transaction()
    tx.after_commit(lambda: ran.append("emitted"))
    tx.commit()  # an empty transaction: no database round trip, and the work runs
    assert ran == ["emitted"]


def test_with_no_transaction_open_the_commit_begins_none(ctx) -> None:
    """The send path commits after its writer already made the message durable: that commit
    runs the queued work without the session beginning and committing an empty transaction."""
    from sqlalchemy import event

    tx.commit()
    begun: list[object] = []
    session = db.session()
    listener = lambda *args: begun.append(args)  # noqa: E731
    event.listen(session, "after_transaction_create", listener)
    try:
        ran: list[str] = []
        tx.after_commit(lambda: ran.append("emitted"))
        tx.commit()
        assert ran == ["emitted"]
        assert begun == []
        tx.commit()  # nothing queued: nothing runs again
        assert ran == ["emitted"]
    finally:
        event.remove(session, "after_transaction_create", listener)


def test_closing_the_session_drops_it(ctx) -> None:
    ran: list[str] = []
    _add("Salon")
    tx.after_commit(lambda: ran.append("emitted"))
    db.session.close()
    tx.commit()
    assert ran == []


def test_a_failing_callback_is_logged_and_the_rest_still_run(ctx, caplog) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the broker is away")

    _add("Salon")
    tx.after_commit(broken)
    tx.after_commit(lambda: ran.append("emitted"))
    with caplog.at_level(logging.ERROR):
        tx.commit()  # does not raise: the change is durable
    assert ran == ["emitted"]
    assert "after-commit callback failed" in caplog.text
    assert _names_seen_elsewhere() == {"Salon"}


def test_work_that_commits_runs_its_own_queued_work(ctx) -> None:
    """An in-process task (the embedded mode) commits inside after-commit work."""
    ran: list[str] = []

    def task() -> None:
        _add("Clinic")
        tx.after_commit(lambda: ran.append("task's emit"))
        tx.commit()
        ran.append("task done")

    _add("Salon")
    tx.after_commit(task)
    tx.after_commit(lambda: ran.append("second"))
    tx.commit()
    assert ran == ["task's emit", "task done", "second"]
    assert _names_seen_elsewhere() == {"Salon", "Clinic"}
