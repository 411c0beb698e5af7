"""Real web processes on a private redis-server that a test may restart, for the Socket.IO
message queue's tests, and the scenarios those tests play on them."""
from __future__ import annotations

import queue
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.helpers import NAMESPACE
from tests.helpers.live import EventRecorder, connect_socket, stack_env
from tests.processes import (
    BIN,
    Api,
    Process,
    describe,
    free_port,
    run_command,
    start_process,
    stop_process,
    wait_for_url,
)
from tests.services import redis_server_binary

PASSWORD = "correct-horse-battery"
ROOM_EVENTS = ("chat:new-message", "chat:user-typing", "notification:new", "connection:resync")


class RedisServer:
    """A redis-server on a fixed free port that can be stopped and started again there."""

    def __init__(self, workdir: Path) -> None:
        self.binary = redis_server_binary()  # skips (fails in CI) when it is missing
        self.workdir = workdir
        self.port = free_port()
        self.popen: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=10)
        self.popen = None


@dataclass
class Cluster:
    """Web processes sharing one database and one Redis database."""

    redis: RedisServer
    redis_url: str
    env: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    opened: list = field(default_factory=list)

    def api(self, name: str = "a") -> Api:
        return Api(self.urls[name])

    def stats(self, name: str, strict: bool = True) -> dict:
        """The message queue's counters of one web process (SOCKETIO_DEBUG_COUNTERS=1)."""
        response = requests.get(f"{self.urls[name]}/_debug/socket-queue", timeout=5)
        assert response.status_code == 200, (name, response.status_code, response.text[:200])
        body = response.json()
        assert "counters" in body or not strict, (
            f"web-{name} does not run the per-room queue manager: {body}")
        return body

    def counters(self, name: str) -> dict:
        return self.stats(name)["counters"]

    def socket(self, name: str, token: str, events=ROOM_EVENTS):
        client, recorder = connect_socket(self.urls[name], token, list(events))
        self.opened.append(client)
        return client, recorder

    def output(self) -> str:
        return describe(self.processes)


def start_cluster(tmp: Path, database_url: str, names: tuple[str, ...] = ("a", "b"),
                  redis_db: int = 1) -> Cluster:
    redis_server = RedisServer(tmp / "redis")
    (tmp / "redis").mkdir()
    redis_server.start()
    redis_url = redis_server.url(redis_db)
    instance = tmp / "instance"
    instance.mkdir()
    env = stack_env(database_url, redis_url, instance, 0)
    env.update(SOCKETIO_DEBUG_COUNTERS="1")
    cluster = Cluster(redis_server, redis_url, env)
    try:
        run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)
        for name in names:
            port = free_port()
            cluster.urls[name] = f"http://127.0.0.1:{port}"
            cluster.processes.append(start_process(
                f"web-{name}", [str(BIN / "python"), "-m", "web.serve"],
                {**env, "PORT": str(port)}, instance))
        for name in names:
            wait_for_url(f"{cluster.urls[name]}/healthz", cluster.processes)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for client in cluster.opened:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
    for process in cluster.processes:
        stop_process(process)
    cluster.redis.stop()


# --------------------------------------------------------------------------- scenarios


@dataclass
class Conversation:
    business_id: int
    room_id: int
    customer: str
    customer_id: int
    staff: str


def conversation(api: Api) -> Conversation:
    """A business (its owner is the staff member) and one customer's room with it."""
    business, owner = api.business(name=f"Queue Salon {uuid.uuid4().hex[:6]}")
    customer = api.register(name="Queue Customer")
    room = api.call("POST", "/api/chat/rooms/create", token=customer["access_token"],
                    expect=201, json={"business_id": business["id"]})["room"]
    return Conversation(business["id"], room["id"], customer["access_token"],
                        customer["user"]["id"], owner)


def call(client, event: str, payload: dict) -> dict:
    result = client.call(event, payload, namespace=NAMESPACE, timeout=15)
    assert result["ok"] is True, result
    return result


def join(client, room_id: int) -> None:
    call(client, "chat:join-room", {"room_id": room_id})


def send(client, room_id: int, content: str) -> dict:
    return call(client, "chat:send-message", {"room_id": room_id, "content": content})["message"]


def with_content(content: str) -> Callable[[object], bool]:
    return lambda data: isinstance(data, dict) and data.get("message", {}).get("content") == content


def settle(recorder: EventRecorder, seconds: float = 0.5) -> None:
    """Take in whatever else arrives within ``seconds`` (a late duplicate, say)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            recorder.seen.append(recorder._queue.get(timeout=left))
        except queue.Empty:
            return


def copies(recorder: EventRecorder, event: str, content: str) -> int:
    settle(recorder, 0)
    return sum(1 for name, data in recorder.seen if name == event and with_content(content)(data))


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")
