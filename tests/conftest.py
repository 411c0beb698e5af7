"""Shared fixtures: a real database per session (SQLite, or PostgreSQL with
TEST_DATABASE=postgres), a private redis-server, the app in embedded mode."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.databases import create_pg_database, drop_pg_database, on_postgres
from tests.processes import free_port

_tmp = Path(tempfile.mkdtemp(prefix="chat-tests-"))
os.environ.update(
    INSTANCE_PATH=str(_tmp / "instance"),
    UPLOAD_DIR=str(_tmp / "uploads"),
    JWT_SECRET_KEY="test-secret-key-that-is-long-enough-for-hs256",
    ASYNC_MODE="threading",
    LOG_LEVEL="WARNING",
    RATE_LIMIT_MESSAGES="1000/minute",
    RATE_LIMIT_AUTH="1000/minute",
)
os.environ.pop("REDIS_URL", None)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for the whole session, migrated to the newest revision."""
    if on_postgres():
        name, url = create_pg_database()
        os.environ["DATABASE_URL"] = url
        yield url
        drop_pg_database(name)
    else:
        url = f"sqlite:///{_tmp / 'test.db'}"
        os.environ["DATABASE_URL"] = url
        yield url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> None:
    """Argon2 at production cost takes ~0.4 s a hash here; tests need the logic, not the cost."""
    from argon2 import PasswordHasher

    from actions import auth

    auth._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture(scope="session")
def app(database_url: str):
    from web.app import create_app
    from web.bootstrap import migrate_database

    application = create_app({"TESTING": True})
    migrate_database(application)
    return application


@pytest.fixture(autouse=True)
def _clean_tables(request) -> Iterator[None]:
    """Empty every table before a test that uses the app, so tests do not see each other."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    from infra import presence
    from models import db

    with application.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                db.session.execute(db.text(f"DELETE FROM {name}"))
        db.session.commit()
    presence.configure(None)
    from infra import faq_index, rate_limits

    rate_limits.reset()
    # Ids restart with the emptied tables, so a cached index could belong to an earlier test.
    faq_index.clear()
    yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server on a free port, for the tests that need a real one."""
    from tests.services import redis_server_binary

    binary = redis_server_binary()  # skips (fails in CI) when redis-server is missing
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=["memory", "redis"])
def presence_store(request):
    """Run a test against the in-process presence store and the Redis one."""
    from infra import presence

    if request.param == "redis":
        import redis

        url = request.getfixturevalue("redis_server")
        redis.Redis.from_url(url).flushdb()
        presence.configure(url)
        yield presence.store()
        presence.configure(None)
    else:
        presence.configure(None)
        yield presence.store()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the output of the real processes a failing test used (a live stack's
    `processes`, or the `started` list of a process-starting fixture)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        processes = getattr(value, "processes", None) or getattr(value, "started", None)
        if isinstance(processes, list):
            for process in processes:
                if hasattr(process, "output"):
                    report.sections.append((f"{process.name} output", process.output()))
