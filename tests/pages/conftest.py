"""The pages in headless Chromium (Playwright for Python driving Debian's chromium; nothing is
downloaded) against a real web process in the embedded mode, seeded with the demo business.

Without chromium or the playwright package the tests skip and say why; with CI=true they fail.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import _create_pg_database, _drop_pg_database, free_port
from tests.processes import BIN, Api, Process, start_process, stop_process, wait_for_url
from tests.services import in_ci, missing

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "demo-password-1"
OWNER = "owner@demo.example"
STAFF = "staff@demo.example"
MAX_UPLOAD_MB = 1


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    missing("chromium", "the browser tests of the widget and dashboard")
    raise AssertionError("unreachable")


class Server:
    """The web process of the tests; it can be stopped and started again on the same port and
    database, which drops every socket the way a restart or a crash does."""

    def __init__(self, tmp: Path, database_url: str | None = None) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ, "PORT": str(self.port), "HOST": "127.0.0.1",
            "INSTANCE_PATH": str(tmp / "instance"), "UPLOAD_DIR": str(tmp / "uploads"),
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'pages.db'}",
            "ASYNC_MODE": "eventlet",
            "MAX_UPLOAD_MB": str(MAX_UPLOAD_MB), "RATE_LIMIT_AUTH": "1000/minute",
            "RATE_LIMIT_MESSAGES": "1000/minute", "RATE_LIMIT_SOCKET_EVENTS": "2000/10 seconds",
            "RATE_LIMIT_REGISTER": "1000/minute", "RATE_LIMIT_AUTH_IP": "5000/minute",
            "PYTHONWARNINGS": "ignore::DeprecationWarning", "LOG_LEVEL": "WARNING",
        }
        self.env.pop("REDIS_URL", None)
        self.process: Process | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        # --demo migrates and seeds (once; a restart finds the demo and changes nothing).
        self.process = start_process(f"web{self.starts}", [str(BIN / "python"), "-m", "web.serve",
                                                           "--demo"], self.env, self.tmp)
        wait_for_url(f"{self.url}/healthz", [self.process])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@contextmanager
def page_database() -> Iterator[str | None]:
    """A fresh database of the kind the suite runs on: PostgreSQL in bin/test's PostgreSQL
    pass, else None (the server's own SQLite file)."""
    if os.environ.get("TEST_DATABASE", "sqlite") != "postgres":
        yield None
        return
    name, url = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(name)


@contextmanager
def running_server(tmp: Path, **env: str) -> Iterator[Server]:
    with page_database() as database_url:
        server = Server(tmp, database_url)
        server.env.update(env)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def pages_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("pages")) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = ("the playwright package is not installed, and the browser tests need it "
                  "(pip install -r requirements-dev.txt)")
        if in_ci():
            pytest.fail(reason + "; CI=true, so this fails instead of skipping")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def api(pages_server: Server) -> Api:
    return Api(pages_server.url)


class PageErrors(list):
    """JavaScript errors of the pages of a test; a test fails if any happened."""


@pytest.fixture
def new_page(browser, pages_server: Server) -> Iterator:
    """new_page(width=...) -> a page in a fresh browser context (its own storage: one user)."""
    contexts = []
    errors = PageErrors()

    def _new(width: int = 1200, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      base_url=pages_server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield _new
    for context in contexts:
        context.close()
    assert list(errors) == []
