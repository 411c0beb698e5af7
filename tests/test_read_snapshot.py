"""tx.reading(): a read step takes no write lock, so a writer elsewhere goes on meanwhile
(on SQLite every other transaction begins IMMEDIATE, holding the one write lock)."""
from __future__ import annotations

import threading

from sqlalchemy import select, text


def _write_in_another_thread(app) -> threading.Thread:
    from infra import tx
    from models import Business, db

    def write() -> None:
        with app.app_context():
            db.session.execute(text("CREATE TABLE IF NOT EXISTS snapshot_probe (n INTEGER)"))
            db.session.execute(text("INSERT INTO snapshot_probe VALUES (1)"))
            db.session.scalar(select(Business.id).limit(1))
            tx.commit()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_writer_is_not_held_up_by_an_open_read_snapshot(app) -> None:
    from infra import tx
    from models import Business, db

    with app.app_context():
        tx.reading()
        db.session.scalars(select(Business)).all()  # the read transaction is open
        writer = _write_in_another_thread(app)
        writer.join(10)
        try:
            assert not writer.is_alive(), "the writer waited for the read snapshot"
        finally:
            tx.rollback()
            writer.join(35)
        db.session.execute(text("DROP TABLE snapshot_probe"))
        tx.commit()


def test_an_ordinary_transaction_still_holds_writers_back_on_sqlite(app, is_postgres) -> None:
    """The control: without reading(), the same writer waits (SQLite's single writer)."""
    import pytest

    if is_postgres:
        pytest.skip("PostgreSQL has no single write lock")
    from infra import tx
    from models import Business, db

    with app.app_context():
        db.session.scalars(select(Business)).all()  # BEGIN IMMEDIATE: the write lock
        writer = _write_in_another_thread(app)
        writer.join(1)
        try:
            assert writer.is_alive(), "an ordinary transaction did not hold the write lock"
        finally:
            tx.rollback()
            writer.join(35)
        assert not writer.is_alive()
        db.session.execute(text("DROP TABLE snapshot_probe"))
        tx.commit()
