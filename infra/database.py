"""The database engine: connection options, and on SQLite one writer at a time.

SQLite allows one writer per file. Inside a process the writers queue on a lock that
yields to other green threads; between processes they wait with yielding sleeps. Without
that, a transaction waiting for SQLite's lock sleeps inside the C library, blocking the
eventlet hub, so the holder can never finish (a deadlock until busy_timeout).
"""
from __future__ import annotations

import sqlite3
import threading
import time

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from infra import tx
from models import db


def init_app(app: Flask) -> None:
    """Bind the app's session to its database (``SQLALCHEMY_DATABASE_URI``) with the
    engine options of its kind; on SQLite, install the write lock."""
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(database_url))
    db.init_app(app)
    if database_url.startswith("sqlite"):
        with app.app_context():
            _configure_sqlite(db.engine)


def _engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        # Several processes may share one SQLite file: wait for the lock instead of failing.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _configure_sqlite(engine: Engine) -> None:
    # One writer at a time inside this process, queued on a lock that yields to other
    # green threads. Other processes sharing the file still wait in _begin_immediate.
    writer = threading.Lock()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Short: waits longer than this happen in on_begin, where they yield to other
        # green threads instead of sleeping inside SQLite with the whole hub stopped.
        cursor.execute("PRAGMA busy_timeout=20")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        if conn.get_execution_options().get(tx.READ_SNAPSHOT):
            # A read (tx.reading): a deferred BEGIN takes no lock in WAL mode.
            conn.connection.dbapi_connection.execute("BEGIN")
            return
        if not writer.acquire(timeout=30):
            raise TimeoutError("timed out waiting for the SQLite write lock")
        conn.info["holds_writer"] = True
        try:
            _begin_immediate(conn.connection.dbapi_connection)
        except BaseException:
            _release(conn)
            raise

    def _release(conn) -> None:
        if conn.info.pop("holds_writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record):
        # A connection handed back mid-transaction is rolled back by the pool; free the lock.
        if record.info.pop("holds_writer", False):
            writer.release()


def _begin_immediate(dbapi_connection, timeout: float = 30.0) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock with yielding sleeps.

    IMMEDIATE takes the write lock up front, so a read-then-write transaction waits
    for it here instead of failing with "database is locked" half-way.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)  # eventlet's patched sleep: other green threads run meanwhile
        delay = min(delay * 2, 0.05)
