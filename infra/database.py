"""The database engine: connection options, and on SQLite one writer at a time.

SQLite allows one writer per file. Inside a process the writers queue on a lock that
yields to other green threads; between processes (the web process, the workers) they
queue on a fair lock made of files beside the database, locked with ``flock``
(:class:`WriterFileLock`), taken before ``BEGIN IMMEDIATE``. A writer waiting for
another process polls it every half millisecond, in a thread of its own under eventlet,
so it takes the lock as soon as it is its turn without stopping the hub. SQLite's own
busy handler would sleep inside the C library with the hub stopped (so the holder could
never finish), and retries with sleeps of growing length let a busy writer take the lock
again and again while the others sleep. The kernel drops the locks of a process that dies.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from infra import tx
from infra.blocking import run_blocking
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
    options: dict = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    if database_url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        # The ORM's UPDATE of many rows (a worker's batch of messages marked done) goes as
        # pages of statements in one round trip each, not one round trip per row.
        options["executemany_mode"] = "values_plus_batch"
    return options


def _configure_sqlite(engine: Engine) -> None:
    # One writer at a time inside this process, queued on a lock that yields to other
    # green threads; then one across the processes sharing the file (WriterFileLock).
    writer = threading.Lock()
    path = engine.url.database
    file_lock = WriterFileLock(f"{path}-writer.lock") if path and path != ":memory:" else None

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
        if not writer.acquire(timeout=LOCK_TIMEOUT):
            raise TimeoutError("timed out waiting for the SQLite write lock")
        conn.info["holds_writer"] = True
        try:
            if file_lock is not None:
                file_lock.acquire()
            _begin_immediate(conn.connection.dbapi_connection)
        except BaseException:
            _release(conn)
            raise

    def _release_both() -> None:
        if file_lock is not None:
            file_lock.release()
        writer.release()

    def _release(conn) -> None:
        if conn.info.pop("holds_writer", False):
            _release_both()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record):
        # A connection handed back mid-transaction is rolled back by the pool; free the lock.
        if record.info.pop("holds_writer", False):
            _release_both()


LOCK_TIMEOUT = 30.0  # seconds a writer waits for the lock before its transaction fails
POLL = 0.0005  # seconds between tries of another process's lock


class WriterFileLock:
    """An exclusive lock shared by every process that writes the database, and fair.

    Two files locked with ``flock``: the lock and a turnstile in front of it. A process
    takes the turnstile, then the lock, then lets the turnstile go; so a process that
    waits for the lock holds the turnstile, and the holder, once done, cannot take the
    lock straight back: it queues behind the waiter. Without the turnstile a busy writer
    (the web process's, committing batch after batch) takes the lock again the moment it
    lets it go, and a worker can wait for seconds.

    Held by at most one transaction of this process at a time (the caller holds the
    in-process lock). Each process opens the files itself: a descriptor inherited over a
    fork would share its lock with the parent.
    """

    def __init__(self, path: str) -> None:
        self._paths = (f"{path}.turnstile", path)
        self._fds: tuple[int, int] | None = None
        self._pid = 0

    def acquire(self, timeout: float = LOCK_TIMEOUT) -> None:
        turnstile, lock = self._descriptors()
        deadline = time.monotonic() + timeout
        _take(turnstile, deadline)
        try:
            _take(lock, deadline)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)

    def release(self) -> None:
        if self._fds is not None and self._pid == os.getpid():
            fcntl.flock(self._fds[1], fcntl.LOCK_UN)

    def _descriptors(self) -> tuple[int, int]:
        if self._fds is None or self._pid != os.getpid():
            # Private like the database file and its WAL files.
            self._fds = tuple(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                              for path in self._paths)
            self._pid = os.getpid()
        return self._fds


def _take(fd: int, deadline: float) -> None:
    if not _try_lock(fd):
        run_blocking(_wait_for_lock, fd, deadline)  # off the hub under eventlet


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _wait_for_lock(fd: int, deadline: float) -> None:
    sleep = _thread_sleep()
    while not _try_lock(fd):
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for the SQLite write lock")
        sleep(POLL)


def _thread_sleep() -> Callable[[float], None]:
    """A sleep that blocks only the calling OS thread (eventlet's would need the hub)."""
    if "eventlet" in sys.modules:
        from eventlet import patcher

        return patcher.original("time").sleep
    return time.sleep


def _begin_immediate(dbapi_connection, timeout: float = LOCK_TIMEOUT) -> None:
    """BEGIN IMMEDIATE, waiting with yielding sleeps for a write lock held by a process
    that does not take the file lock (a command-line sqlite3, an old release).

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
