"""The automation pipeline (welcome, hours, FAQ, escalation) run by a real Celery worker: the
web process stores and enqueues, the worker answers through the Redis message queue.

The last tests break the worker on purpose: a worker killed while it holds a task, and one
task delivered twice; either way the customer gets one answer.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import socketio
import sqlalchemy as sa

from celeryconfig import ALL_QUEUES
from tests.factories import ALWAYS_OPEN, NEVER_OPEN
from tests.helpers import NAMESPACE
from tests.helpers.databases import create_pg_database, drop_pg_database
from tests.helpers.live import EventRecorder, LiveStack, stack_env
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

PASSWORD = "correct-horse-battery"
ROOM_EVENTS = ["chat:new-message", "chat:auto-response", "chat:faq-response"]
STAFF_EVENTS = ["notification:new", "presence:update"]
# A question none of the seeded FAQs answers.
UNANSWERABLE = "can my dog wait inside while I get my fringe trimmed"
WAIT = 15.0
VISIBILITY_TIMEOUT = 3


# --------------------------------------------------------------------------- helpers


@dataclass
class Chat:
    business_id: int
    owner: str
    staff: str
    staff_id: int
    staff_events: EventRecorder
    customer: str
    room_id: int
    client: socketio.Client
    events: EventRecorder
    faqs: list[dict]


def _staff_token(api: Api, business_id: int, owner: str) -> tuple[str, int]:
    email = f"e2e-staff-{uuid.uuid4().hex[:10]}@example.com"
    user = api.call("POST", f"/api/businesses/{business_id}/staff", token=owner, expect=201,
                    json={"email": email, "password": PASSWORD, "name": "Front Desk"})["user"]
    token = api.call("POST", "/api/auth/login", expect=200,
                     json={"email": email, "password": PASSWORD})["access_token"]
    return token, user["id"]


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def _open_chat(api: Api, base_url: str, sockets, hours: dict) -> Chat:
    """A business with the given hours and its seeded bots, a staff member online through a
    socket (else the worker sends the "no staff online" offline reply), and a customer whose
    socket has joined their room."""
    business, owner = api.business(name=f"Automation Salon {uuid.uuid4().hex[:6]}",
                                   business_hours=hours)
    staff, staff_id = _staff_token(api, business["id"], owner)
    _, staff_events = sockets(base_url, staff, STAFF_EVENTS)
    # The worker reads presence from Redis: wait until the stack counts staff online.
    _wait_until(lambda: staff_id in api.call("GET", "/api/monitoring/connections",
                                             token=owner, expect=200)["online_user_ids"],
                "staff socket counted online")
    faqs = api.call("GET", "/api/chat/faqs", token=owner, expect=200)["faqs"]
    assert faqs, "a new business starts with the default FAQs"

    customer = api.register(name="Automation Customer")["access_token"]
    room = api.call("POST", "/api/chat/rooms/create", token=customer, expect=201,
                    json={"business_id": business["id"]})["room"]
    client, events = sockets(base_url, customer, ROOM_EVENTS)
    joined = client.call("chat:join-room", {"room_id": room["id"]}, namespace=NAMESPACE,
                         timeout=10)
    assert joined["ok"] is True, joined
    return Chat(business["id"], owner, staff, staff_id, staff_events, customer, room["id"],
                client, events, faqs)


def _faq(chat: Chat, words: str) -> dict:
    """The seeded FAQ whose question contains ``words``."""
    found = [f for f in chat.faqs if words.lower() in f["question"].lower()]
    assert found, (words, [f["question"] for f in chat.faqs])
    return found[0]


def _send(chat: Chat, content: str) -> dict:
    ack = chat.client.call("chat:send-message",
                           {"room_id": chat.room_id, "content": content,
                            "client_msg_id": uuid.uuid4().hex},
                           namespace=NAMESPACE, timeout=10)
    assert ack["ok"] is True, ack
    return ack["message"]


def _history(api: Api, chat: Chat) -> list[dict]:
    body = api.call("GET", f"/api/chat/rooms/{chat.room_id}/messages?limit=200",
                    token=chat.customer, expect=200)
    assert body["has_more"] is False
    return body["messages"]


def _kinds(messages: list[dict]) -> list[str]:
    return [m["kind"] for m in messages]


def _assert_seqs_dense(messages: list[dict]) -> None:
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1)), messages


def _faq_answer(chat: Chat, faq_id: int) -> dict:
    return chat.events.wait_for(
        "chat:faq-response", lambda d: d["message"]["faq_id"] == faq_id, timeout=WAIT)["message"]


def _events_named(chat: Chat, name: str, predicate: Callable[[dict], bool]) -> list[dict]:
    return [d["message"] for n, d in chat.events.seen if n == name and predicate(d["message"])]


def _automation_state(database_url: str, message_id: int) -> str:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT automation_state FROM messages WHERE id = :id"),
                                {"id": message_id}).scalar_one()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the pipeline


def test_faq_question_is_answered_by_the_worker(live_stack: LiveStack, api: Api, sockets):
    chat = _open_chat(api, live_stack.base_url, sockets, ALWAYS_OPEN)
    faq = _faq(chat, "book an appointment")

    sent = _send(chat, faq["question"])
    assert sent["seq"] == 1

    answer = _faq_answer(chat, faq["id"])
    assert answer["kind"] == "faq"
    assert answer["sender_type"] == "bot"
    assert answer["room_id"] == chat.room_id
    assert answer["content"] == faq["answer"]
    assert 0.7 <= answer["confidence"] <= 1
    # The same message also goes out as chat:new-message.
    chat.events.wait_for("chat:new-message", lambda d: d["message"]["id"] == answer["id"])

    # Stored before it was emitted; staff online and the business open: no offline reply,
    # nothing escalated, and the room's seqs stay 1..N.
    history = _history(api, chat)
    _assert_seqs_dense(history)
    assert history[0]["id"] == sent["id"]
    assert sorted(_kinds(history)) == ["faq", "text", "welcome"]
    assert answer["id"] in [m["id"] for m in history]
    room = api.call("GET", f"/api/chat/rooms/{chat.room_id}", token=chat.customer,
                    expect=200)["room"]
    assert room["status"] == "open"


def test_closed_business_answers_offline_once_per_closed_period(live_stack: LiveStack,
                                                                 api: Api, sockets):
    chat = _open_chat(api, live_stack.base_url, sockets, NEVER_OPEN)

    _send(chat, "Hello!")
    welcome = chat.events.wait_for(
        "chat:auto-response", lambda d: d["message"]["kind"] == "welcome", timeout=WAIT)
    offline = chat.events.wait_for(
        "chat:auto-response", lambda d: d["message"]["kind"] == "offline", timeout=WAIT)
    assert welcome["message"]["sender_type"] == offline["message"]["sender_type"] == "bot"
    assert "{next_open_at}" not in offline["message"]["content"]

    # A second message in the same closed period: its automation runs (the FAQ answer is the
    # sign it has), but no second welcome and no second offline reply.
    faq = _faq(chat, "book an appointment")
    _send(chat, faq["question"])
    _faq_answer(chat, faq["id"])

    history = _history(api, chat)
    _assert_seqs_dense(history)
    assert _kinds(history).count("welcome") == 1
    assert _kinds(history).count("offline") == 1
    assert _kinds(history).count("text") == 2
    assert len(_events_named(chat, "chat:auto-response", lambda m: m["kind"] == "offline")) == 1


def test_unanswered_question_escalates_to_staff_until_a_staff_reply(live_stack: LiveStack,
                                                                     api: Api, sockets):
    chat = _open_chat(api, live_stack.base_url, sockets, ALWAYS_OPEN)
    match = api.call("POST", "/api/chat/faqs/match", token=chat.owner, expect=200,
                     json={"text": UNANSWERABLE})
    assert match["match"] is None, match

    question = _send(chat, UNANSWERABLE)
    new = chat.staff_events.wait_for(
        "notification:new",
        lambda d: d["notification"]["type"] == "chat.escalated"
        and d["notification"]["data"].get("room_id") == chat.room_id,
        timeout=WAIT)
    notification = new["notification"]
    assert notification["data"]["message_id"] == question["id"]
    assert UNANSWERABLE in notification["message"]

    room = api.call("GET", f"/api/chat/rooms/{chat.room_id}", token=chat.staff,
                    expect=200)["room"]
    assert room["status"] == "waiting_for_staff"
    history = _history(api, chat)
    _assert_seqs_dense(history)
    assert "faq" not in _kinds(history)
    assert "offline" not in _kinds(history)
    assert _kinds(history).count("escalation") == 1  # the seeded "passed it on" note

    api.call("POST", f"/api/chat/rooms/{chat.room_id}/messages", token=chat.staff, expect=201,
             json={"content": "Of course, dogs are welcome in the waiting area."})
    room = api.call("GET", f"/api/chat/rooms/{chat.room_id}", token=chat.customer,
                    expect=200)["room"]
    assert room["status"] == "open"


def test_task_delivered_twice_answers_once(live_stack: LiveStack, api: Api, sockets):
    chat = _open_chat(api, live_stack.base_url, sockets, ALWAYS_OPEN)
    booking = _faq(chat, "book an appointment")
    payment = _faq(chat, "payment methods")

    asked = _send(chat, booking["question"])
    _faq_answer(chat, booking["id"])

    for _ in range(2):
        run_command([str(BIN / "celery"), "-A", "workers.entry", "call",
                     "workers.tasks.process_customer_message", f"--args=[{asked['id']}]"],
                    live_stack.env, timeout=60)
    # One worker, tasks of the automation queue in order: once the next question is answered,
    # both repeats have run.
    _send(chat, payment["question"])
    _faq_answer(chat, payment["id"])

    history = _history(api, chat)
    _assert_seqs_dense(history)
    assert [m["faq_id"] for m in history if m["kind"] == "faq"] == [booking["id"], payment["id"]]
    assert _kinds(history).count("welcome") == 1
    assert len(_events_named(chat, "chat:faq-response", lambda m: True)) == 2
    assert _automation_state(live_stack.env["DATABASE_URL"], asked["id"]) == "done"


# --------------------------------------------------------------------------- a worker killed


@dataclass
class CrashStack:
    """A web process and its own Redis, with workers started and killed by the test."""

    base_url: str
    env: dict[str, str]
    redis_url: str
    log_dir: Path
    processes: list[Process]

    def start_worker(self) -> Process:
        """A prefork worker with one pool child; returns once it consumes."""
        name = f"crash-worker-{len(self.processes)}"
        worker = start_process(
            name,
            [str(BIN / "celery"), "-A", "workers.entry", "worker", "-Q", ALL_QUEUES,
             "--pool=prefork", "-c", "1", "--loglevel=INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"],
            # The app's logging decides what reaches the log: INFO, for celery's "ready".
            {**self.env, "LOG_LEVEL": "INFO"}, self.log_dir)
        self.processes.append(worker)
        _wait_until(lambda: not worker.running or " ready." in worker.output(),
                    f"{name} ready", timeout=60)
        assert worker.running, describe(self.processes)
        return worker


def _private_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of this module's own: Socket.IO's pub/sub channel ignores database
    numbers, so a second stack on the session's server would hear the first one's emits."""
    from tests.services import redis_server_binary

    binary = redis_server_binary()  # skips (fails in CI) when redis-server is missing
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def crash_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashStack]:
    """Web on a database and a Redis of its own, workers redelivering a dead worker's task
    after CELERY_VISIBILITY_TIMEOUT seconds."""
    pg_name = None
    if os.environ.get("TEST_DATABASE", "sqlite") == "postgres":
        pg_name, database_url = create_pg_database()
    else:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('crash-db') / 'chat.db'}"
    redis_dir = Path(tempfile.mkdtemp(prefix="redis-crash-"))
    redis_proc, redis_url = _private_redis(redis_dir)
    instance = tmp_path_factory.mktemp("crash-instance")
    port = free_port()
    env = stack_env(database_url, redis_url, instance, port)
    env["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT)
    stack = CrashStack(f"http://127.0.0.1:{port}", env, redis_url, instance, [])
    try:
        run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)
        stack.processes.append(start_process(
            "crash-web", [str(BIN / "python"), "-m", "web.serve"], env, instance))
        wait_for_url(f"{stack.base_url}/healthz", stack.processes)
        yield stack
    finally:
        for process in stack.processes:
            if process.running and process.name != "crash-web":
                _kill_tree(process.popen.pid)
            stop_process(process)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(redis_dir, ignore_errors=True)
        if pg_name:
            drop_pg_database(pg_name)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _kill_tree(pid: int) -> None:
    """SIGKILL a worker as a crash would: the main process first (so it cannot hand its task
    back), then its pool children."""
    children = _children(pid)
    _signal_all([pid], signal.SIGKILL)
    _signal_all(children, signal.SIGKILL)


class DatabaseLock:
    """Holds what the automation task needs first, so a started task waits mid-run: SQLite's
    write lock (every transaction of the app begins IMMEDIATE), or on PostgreSQL the room's
    row, which the task locks FOR UPDATE."""

    def __init__(self, database_url: str, room_id: int) -> None:
        self.sqlite = database_url.startswith("sqlite")
        if self.sqlite:
            self.path = Path(database_url.removeprefix("sqlite:///")).resolve()
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self._conn.execute("BEGIN IMMEDIATE")
        else:
            self._engine = sa.create_engine(database_url)
            self._conn = self._engine.connect()
            self._conn.execute(sa.text("SELECT id FROM rooms WHERE id = :id FOR UPDATE"),
                               {"id": room_id})

    def wait_for_waiter(self, pids: list[int]) -> None:
        """Return once one of ``pids`` has started the task: on PostgreSQL a session waits for
        the lock; on SQLite the process has opened the database file (which a pool child
        first does in a task) and retries BEGIN IMMEDIATE."""
        if self.sqlite:
            _wait_until(lambda: any(_opened(pid, self.path) for pid in pids),
                        "the task opening the database")
            return
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'")

        def waiting() -> bool:
            # A fresh transaction each time: statistics views hold still within one.
            with self._engine.connect() as conn:
                return conn.execute(query).scalar_one() >= 1

        _wait_until(waiting, "the task waiting for the room's lock")

    def release(self) -> None:
        self._conn.rollback()
        self._conn.close()
        if not self.sqlite:
            self._engine.dispose()


def _opened(pid: int, path: Path) -> bool:
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, PermissionError):
        return False
    for fd in fds:
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:
            continue
    return False


def test_worker_killed_mid_task_answers_once_after_restart(live_stack: LiveStack,
                                                           crash_stack: CrashStack, sockets):
    # Their logs join the report of a failing test (live_stack's hook prints its processes).
    live_stack.processes.extend(p for p in crash_stack.processes if p not in live_stack.processes)
    database_url = crash_stack.env["DATABASE_URL"]
    api = Api(crash_stack.base_url)
    broker = redis.Redis.from_url(crash_stack.redis_url)
    chat = _open_chat(api, crash_stack.base_url, sockets, ALWAYS_OPEN)
    booking = _faq(chat, "book an appointment")
    payment = _faq(chat, "payment methods")

    first = crash_stack.start_worker()
    live_stack.processes.append(first)
    pool = _children(first.popen.pid)
    assert pool, "the prefork worker has a pool child"
    # Pause the worker while the message is stored, then let it take the task and start it
    # against a lock it cannot get: the worker dies in the middle of the task.
    _signal_all([first.popen.pid], signal.SIGSTOP)
    lock = None
    try:
        asked = _send(chat, booking["question"])  # stored (and its task sent) when acked
        lock = DatabaseLock(database_url, chat.room_id)
        _signal_all([first.popen.pid], signal.SIGCONT)
        lock.wait_for_waiter(pool)
        # kombu's Redis transport keeps a delivered, unacknowledged message in `unacked`.
        assert broker.hlen("unacked") == 1
    finally:
        _kill_tree(first.popen.pid)
        first.popen.wait(timeout=10)
        if lock is not None:
            lock.release()
    with pytest.raises(AssertionError):
        chat.events.wait_for("chat:faq-response", timeout=0.5)
    assert _automation_state(database_url, asked["id"]) == "pending"
    # Acknowledged late: the started task is still the broker's to hand out again.
    assert broker.hlen("unacked") == 1, "the task was acknowledged before it finished"

    # A starting worker restores unacknowledged messages older than the visibility timeout:
    # start it once the held task is that old.
    [(_tag, reserved_at)] = broker.zrange("unacked_index", 0, -1, withscores=True)
    time.sleep(max(0.0, reserved_at + VISIBILITY_TIMEOUT + 0.5 - time.time()))
    second = crash_stack.start_worker()
    live_stack.processes.append(second)

    answer = _faq_answer(chat, booking["id"])
    assert answer["kind"] == "faq"
    assert answer["confidence"] >= 0.7
    # A later question is answered only after that one (one pool child, one queue in order).
    _send(chat, payment["question"])
    _faq_answer(chat, payment["id"])

    history = _history(api, chat)
    _assert_seqs_dense(history)
    assert [m["faq_id"] for m in history if m["kind"] == "faq"] == [booking["id"], payment["id"]]
    assert _kinds(history).count("welcome") == 1
    assert len(_events_named(chat, "chat:faq-response",
                             lambda m: m["faq_id"] == booking["id"])) == 1
    assert _automation_state(database_url, asked["id"]) == "done"
    _wait_until(lambda: broker.hlen("unacked") == 0, "the redelivered task acknowledged")
