"""The pages' web process (embedded mode, seeded with the demo business; it can be stopped
and started again on the same port and database) and the headless Chromium that drives them."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.databases import fresh_database
from tests.processes import BIN, Process, free_port, start_process, stop_process, wait_for_url
from tests.services import missing

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
def running_server(tmp: Path, **env: str) -> Iterator[Server]:
    with fresh_database(tmp) as database_url:
        server = Server(tmp, database_url)
        server.env.update(env)
        server.start()
        try:
            yield server
        finally:
            server.stop()


class PageErrors(list):
    """JavaScript errors of the pages of a test; a test fails if any happened."""
