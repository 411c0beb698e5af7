"""The live stack's parts: `python -m web.serve` and a Celery worker as real processes with
the environment they need, and a Socket.IO client that records the events it receives."""
from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import socketio

from celeryconfig import ALL_QUEUES
from tests.helpers import NAMESPACE
from tests.processes import BIN, Process, describe, start_process

JWT_SECRET = "e2e-secret-key-that-is-long-enough-for-hs256"

# Settings the unit-test session puts in os.environ for its in-process app; the stack's
# processes get their own values (or the production defaults) instead.
_TEST_SESSION_VARS = ("ASYNC_MODE", "DATABASE_URL", "INSTANCE_PATH", "UPLOAD_DIR", "REDIS_URL",
                      "JWT_SECRET_KEY", "LOG_LEVEL", "RATE_LIMIT_MESSAGES", "RATE_LIMIT_AUTH",
                      "PORT", "AUTO_MIGRATE", "FLASK_APP")


# --------------------------------------------------------------------------- the stack


@dataclass
class LiveStack:
    base_url: str
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def output(self) -> str:
        return describe(self.processes)


def stack_env(database_url: str, redis_url: str, instance: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _TEST_SESSION_VARS}
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET_KEY=JWT_SECRET,
        INSTANCE_PATH=str(instance),
        UPLOAD_DIR=str(instance / "uploads"),
        LOG_LEVEL="WARNING",
        # Tests register several accounts from one address within a minute.
        RATE_LIMIT_AUTH="1000/minute",
        RATE_LIMIT_MESSAGES="1000/minute",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_web(env: dict[str, str], instance: Path, name: str = "web") -> Process:
    """``python -m web.serve`` with ``env`` (not waited for: see wait_for_url)."""
    return start_process(name, [str(BIN / "python"), "-m", "web.serve"], env, instance)


def start_worker(env: dict[str, str], instance: Path, name: str = "worker") -> Process:
    """One solo Celery worker on every queue, under a node name of its own."""
    return start_process(
        name,
        [str(BIN / "celery"), "-A", "workers.entry", "worker", "-Q", ALL_QUEUES,
         "--pool=solo", "-c", "1", "--loglevel=WARNING", "--without-gossip",
         "--without-mingle", "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h"],
        env, instance)


# --------------------------------------------------------------------------- clients


class EventRecorder:
    """Collects server events a Socket.IO client receives, for tests to wait on."""

    def __init__(self, client: socketio.Client, names: Sequence[str],
                 namespace: str = NAMESPACE) -> None:
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue()
        self.seen: list[tuple[str, object]] = []
        for name in names:
            client.on(name, self._handler(name), namespace=namespace)

    def _handler(self, name: str) -> Callable[..., None]:
        def record(data: object = None, *_rest: object) -> None:
            self._queue.put((name, data))

        return record

    def wait_for(self, name: str, predicate: Callable[[object], bool] = lambda _: True,
                 timeout: float = 10.0) -> object:
        """The first ``name`` event whose payload satisfies ``predicate``, within ``timeout``."""
        for seen_name, data in self.seen:
            if seen_name == name and predicate(data):
                return data
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                seen_name, data = self._queue.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append((seen_name, data))
            if seen_name == name and predicate(data):
                return data
        raise AssertionError(f"no matching {name!r} within {timeout} s; got {self.seen!r}")


def connect_socket(base_url: str, token: str | None, events: Sequence[str] = (),
                   ) -> tuple[socketio.Client, EventRecorder]:
    """A websocket client on /realtime (reconnection off, so a refusal is final)."""
    client = socketio.Client(reconnection=False)
    recorder = EventRecorder(client, list(events))
    client.connect(base_url, namespaces=[NAMESPACE], transports=["websocket"],
                   auth={"token": token} if token is not None else None, wait_timeout=10)
    return client, recorder
