"""The live stack: `python -m web.serve` and a Celery worker as real processes, on a fresh
database and the session's private Redis (their parts are in tests/helpers/live.py).

Process output goes to log files; a failing test that used the stack gets the tail of each
log attached to its report.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
import socketio

from tests.helpers.databases import fresh_database
from tests.helpers.live import (
    EventRecorder,
    LiveStack,
    connect_socket,
    stack_env,
    start_web,
    start_worker,
)
from tests.processes import BIN, Api, free_port, run_command, stop_process, wait_for_url


@pytest.fixture(scope="module")
def stack_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the kind the session tests run on."""
    with fresh_database(tmp_path_factory.mktemp("e2e-db")) as url:
        yield url


@pytest.fixture(scope="module")
def live_stack(stack_database: str, redis_server: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The web process and a Celery worker (queues automation and light), migrated first."""
    import redis

    # A database index of its own, so queues and presence keys start empty.
    redis_url = redis_server.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(redis_url).flushdb()
    instance = tmp_path_factory.mktemp("e2e-instance")
    port = free_port()
    env = stack_env(stack_database, redis_url, instance, port)
    run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)

    stack = LiveStack(base_url=f"http://127.0.0.1:{port}", env=env)
    try:
        stack.processes.append(start_web(env, instance))
        stack.processes.append(start_worker(env, instance))
        wait_for_url(f"{stack.base_url}/healthz", stack.processes)
        yield stack
    finally:
        for process in stack.processes:
            stop_process(process)


@pytest.fixture
def api(live_stack: LiveStack) -> Api:
    return Api(live_stack.base_url)


@pytest.fixture
def sockets() -> Iterator[Callable[..., tuple[socketio.Client, EventRecorder]]]:
    """``connect_socket`` whose clients are disconnected after the test."""
    opened: list[socketio.Client] = []

    def open_socket(base_url: str, token: str | None, events: Sequence[str] = ()):
        client, recorder = connect_socket(base_url, token, events)
        opened.append(client)
        return client, recorder

    yield open_socket
    for client in opened:
        client.disconnect()
