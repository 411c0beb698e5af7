"""Customer messages per second that ONE automation worker process on one core handles,
measured from a pre-filled queue (issue 11: at least 150 msg/s per worker process).

What a run does:

1. a private ``redis-server`` on a free 127.0.0.1 port and a fresh database (a SQLite file
   in a temporary folder, or with ``--pg URL`` a fresh ``bench_<random>`` PostgreSQL
   database, dropped at the end); ``flask --app web.app db upgrade``;
2. the web process (``python -m web.serve``, pinned to core 0) with DATABASE_URL, REDIS_URL,
   a random JWT_SECRET_KEY, PORT, RATE_LIMIT_MESSAGES=1000000/second and
   RATE_LIMIT_AUTH=1000000/minute; no worker, no beat;
3. over the public REST API, as the reference harness does: an owner, a business open all
   day every day in UTC, whose default FAQs and auto-responses are KEPT (the automation is
   what is measured), ``--staff-online`` staff members with a connected socket (so the
   business is attended), and ``--rooms`` customers with a room each;
4. ``--messages`` customer messages (FAQ questions, other questions, chit-chat; several per
   room, round-robin) sent over Socket.IO (websocket) with every ack awaited: the
   automation tasks pile up in the broker;
5. ONE worker started from the Procfile's line whose ``-Q`` names ``automation``, run through
   ``bash -c`` as a platform would, with its concurrency forced to 1 (the variables the
   line reads set to 1, and ``--concurrency=1`` appended) and pinned with ``taskset -c 1``;
   the database is polled until no customer message's ``automation_state`` is ``pending``.

It prints the drain figures: messages, seconds from the worker's "ready" log line to the
last message done, messages/s, the worker's CPU seconds (its process group: main process
and pool children, from /proc/<pid>/stat) and CPU ms per message, the states reached
(done/failed), the bot messages posted by kind, and problems in the worker's log.

    .venv/bin/python bench/worker_throughput.py
    .venv/bin/python bench/worker_throughput.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/worker_throughput.py --messages 1000 --rooms 50 --keep-tmp

It relies only on the Procfile's automation line, the ``messages`` table's
``automation_state``, ``sender_type`` and ``kind`` columns, and the public API.
Loopback only; every wait is bounded; everything started here is stopped at the end, also
on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import targets  # noqa: E402  (bench/targets.py: process, REST and PostgreSQL helpers)

REPO = targets.REPO
TARGET_RATE = 150.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NS = "/realtime"
CLK_TCK = os.sysconf("SC_CLK_TCK")

CHIT_CHAT = [
    "Hi there!", "Hello", "Good morning :)", "Thanks!", "ok great", "Perfect, thank you so much",
    "cheers", "See you then", "Lovely, thanks", "hey", "Brilliant", "no worries", "ok",
    "Thank you, have a nice day", "great stuff",
]
OTHER_QUESTIONS = [
    "Can I bring my dog along to the appointment?",
    "Is there somewhere to park near you?",
    "Do you do group bookings for a hen party of eight?",
    "My appointment was moved, can someone call me back please?",
    "Can I speak to a real person please?",
    "I was not happy with my last visit, who can I talk to about it?",
    "Is the building wheelchair accessible?",
    "Could I get the same stylist as last time?",
    "Do you have anything free on Saturday afternoon around 3?",
    "Can my daughter come with me, she is 6?",
    "I think I was charged twice last week, can you check?",
    "What's the wifi password?",
]
FALLBACK_FAQ_QUESTIONS = [  # used only if the business has no active FAQs
    "What are your opening hours?", "How do I cancel my booking?", "How much does it cost?",
]


class BenchError(RuntimeError):
    pass


class Interrupted(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut the teardown
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


def log(text: str) -> None:
    print(f"[worker_throughput {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------

def spawn(name: str, cmd: list[str], env: dict[str, str], tmp: Path, port: int = 0,
          cwd: Path = REPO) -> targets.ServerProc:
    """A process in its own session (its pid is its group id: stopped by group, nothing else)."""
    log_path = tmp / f"{name}.log"
    with log_path.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return targets.ServerProc(name, proc, f"http://127.0.0.1:{port}", log_path)


def group_cpu(pgid: int) -> float:
    """User+system CPU seconds of the live processes of a group, with their reaped children's
    (a pool child that exited is counted in its parent's cutime/cstime)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) != pgid:
            continue
        total += sum(int(x) for x in fields[11:15]) / CLK_TCK
    return total


def automation_line(procfile: Path) -> tuple[str, str]:
    """(name, command) of the Procfile line whose ``-Q``/``--queues`` names ``automation``."""
    found = []
    for raw in procfile.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_-]+)\s*:\s*(.+)$", raw)
        if not m or raw.lstrip().startswith("#"):
            continue
        q = re.search(r"(?:^|\s)(?:-Q\s*|--queues[=\s])\s*['\"]?([^\s'\"]+)", m.group(2))
        if q and "automation" in q.group(1).split(","):
            found.append((m.group(1), m.group(2).strip()))
    if not found:
        raise BenchError(f"no Procfile line with -Q ...automation... in {procfile}")
    if len(found) > 1:
        log(f"several Procfile lines serve the automation queue; using {found[0][0]!r}")
    return found[0]


def queues_of(command: str) -> list[str]:
    q = re.search(r"(?:^|\s)(?:-Q\s*|--queues[=\s])\s*['\"]?([^\s'\"]+)", command)
    return q.group(1).split(",") if q else []


def concurrency_vars(command: str) -> list[str]:
    """Environment variables the line reads for its concurrency (``-c ${X:-2}``,
    ``--concurrency=$X``), and any variable named like *CONCURRENCY*."""
    var = r"\$\{?([A-Za-z_][A-Za-z0-9_]*)"
    names = set(re.findall(r"(?:-c|--concurrency)[=\s]*['\"]?" + var, command))
    names |= {n for n in re.findall(var, command) if "CONCURRENCY" in n}
    return sorted(names)


# ---------------------------------------------------------------------------------------------
# the database, read directly (columns: messages.automation_state, sender_type, kind)
# ---------------------------------------------------------------------------------------------

class Db:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///"):]
            self.conn: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            self.kind = "sqlite"
        else:
            import psycopg2
            dsn = re.sub(r"^postgres(ql)?\+[^:]+://", "postgresql://", url)
            self.conn = psycopg2.connect(dsn, connect_timeout=10)
            self.conn.autocommit = True
            self.kind = "pg"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        for attempt in range(20):
            try:
                cur = self.conn.cursor()
                cur.execute(sql)
                out = cur.fetchall()
                cur.close()
                return out
            except sqlite3.OperationalError:   # "database is locked": the worker is writing
                if attempt == 19:
                    raise
                time.sleep(0.05)
        return []

    def customer_states(self) -> Counter[str]:
        return Counter(dict(self.rows(
            "SELECT automation_state, COUNT(*) FROM messages WHERE sender_type = 'customer' "
            "GROUP BY automation_state")))

    def bot_kinds(self) -> Counter[str]:
        return Counter(dict(self.rows(
            "SELECT kind, COUNT(*) FROM messages WHERE sender_type = 'bot' GROUP BY kind")))

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# setup through the public API, as the harness does
# ---------------------------------------------------------------------------------------------

def create_business(base: str) -> dict[str, Any]:
    api, expect, run = targets.api, targets.expect, secrets.token_hex(4)
    owner = expect(api(base, "POST", "/api/auth/register",
                       {"email": f"owner-{run}@bench.example", "password": targets.PASSWORD,
                        "name": "Bench Owner"}), (200, 201), "register owner")["access_token"]
    last: tuple[int, Any] = (0, None)
    for end in ("24:00", "23:59"):   # "24:00" may be refused; 23:59 leaves one closed minute
        hours = {d: [["00:00", end]] for d in DAYS}
        last = api(base, "POST", "/api/businesses", {"name": f"Throughput {run}", "timezone": "UTC",
                                                      "business_hours": hours, "holidays": []},
                   owner)
        if last[0] < 300 or last[0] not in (400, 422):
            break
    body = expect(last, (200, 201), "create business")
    business = body.get("business") or body
    owner = body.get("access_token") or owner
    if business.get("is_open_now") is False:
        log("warning: the business reports is_open_now=false (offline replies will come)")
    return {"run": run, "owner": owner, "business_id": business["id"]}


def faq_questions(base: str, owner: str) -> list[str]:
    body = targets.expect(targets.api(base, "GET", "/api/chat/faqs", None, owner), (200,),
                          "GET /api/chat/faqs")
    faqs = body if isinstance(body, list) else body.get("faqs") or next(
        (v for v in body.values() if isinstance(v, list)), [])
    out = []
    for faq in faqs:
        if faq.get("is_active") is False:
            continue
        out.append(faq["question"])
        out.extend(faq.get("alternative_questions") or [])
    return out


def add_staff(base: str, ctx: dict[str, Any], n: int) -> list[str]:
    tokens = []
    for i in range(n):
        email = f"staff{i}-{ctx['run']}@bench.example"
        targets.expect(targets.api(base, "POST", f"/api/businesses/{ctx['business_id']}/staff",
                                   {"email": email, "password": targets.PASSWORD,
                                    "name": f"Staff {i}"}, ctx["owner"]),
                       (200, 201), f"add staff {email}")
        tokens.append(targets.expect(targets.api(base, "POST", "/api/auth/login",
                                                 {"email": email, "password": targets.PASSWORD}),
                                     (200,), f"login {email}")["access_token"])
    return tokens


def add_customers(base: str, ctx: dict[str, Any], n: int,
                  concurrency: int = 8) -> list[tuple[str, int]]:
    def one(i: int) -> tuple[str, int]:
        email = f"cust{i}-{ctx['run']}@bench.example"
        token = targets.expect(targets.api(base, "POST", "/api/auth/register",
                                           {"email": email, "password": targets.PASSWORD,
                                            "name": f"Customer {i}"}),
                               (200, 201), f"register {email}")["access_token"]
        room = targets.expect(targets.api(base, "POST", "/api/chat/rooms/create",
                                          {"business_id": ctx["business_id"]}, token),
                              (200, 201), f"room for {email}")
        return token, int((room.get("room") or room)["id"])

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(n)))


def connect(base: str, token: str, timeout: float = 20.0) -> Any:
    import socketio
    client = socketio.Client(reconnection=False)
    client.connect(base, namespaces=[NS], transports=["websocket"], auth={"token": token},
                   wait_timeout=timeout)
    return client


def join(client: Any, room_id: int) -> None:
    ack = client.call("chat:join-room", {"room_id": room_id}, namespace=NS, timeout=15)
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise BenchError(f"chat:join-room {room_id} refused: {str(ack)[:200]}")


def plan_messages(count: int, rooms: int, faqs: list[str], seed: int) -> list[tuple[int, str]]:
    """(room index, text): round-robin over the rooms, each room opening with a greeting;
    then 40% FAQ questions (verbatim or lower-cased without the question mark), 30% other
    questions, 30% chit-chat."""
    rng = random.Random(seed)
    faqs = faqs or FALLBACK_FAQ_QUESTIONS
    out = []
    for i in range(count):
        room = i % rooms
        if i < rooms:
            text = rng.choice(["Hi there!", "Hello", "hey", "Good morning :)"])
        else:
            r = rng.random()
            if r < 0.4:
                text = rng.choice(faqs)
                if rng.random() < 0.5:
                    text = text.lower().rstrip("?").strip()
            elif r < 0.7:
                text = rng.choice(OTHER_QUESTIONS)
            else:
                text = rng.choice(CHIT_CHAT)
        out.append((room, text))
    return out


def send_all(clients: list[Any], room_ids: list[int], plan: list[tuple[int, str]], run: str,
             window: int, timeout: float) -> dict[str, Any]:
    """Emit every message with an ack callback, at most ``window`` unacknowledged; wait for
    every ack (bounded by ``timeout``)."""
    slots = threading.BoundedSemaphore(window)
    lock = threading.Lock()
    done = threading.Event()
    acks: list[float] = []
    errors: Counter[str] = Counter()
    state = {"answered": 0}
    started = time.monotonic()
    deadline = started + timeout

    def answered(t0: float, ack: Any) -> None:
        with lock:
            if isinstance(ack, dict) and ack.get("ok"):
                acks.append(time.monotonic() - t0)
            else:
                err = ack.get("error") if isinstance(ack, dict) else None
                errors[str(err.get("code") if isinstance(err, dict) else err or ack)[:60]] += 1
            state["answered"] += 1
            if state["answered"] == len(plan):
                done.set()
        slots.release()

    for i, (room, text) in enumerate(plan):
        if not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            break
        t0 = time.monotonic()
        payload = {"room_id": room_ids[room], "content": text, "client_msg_id": f"wt-{run}-{i}"}
        clients[room].emit("chat:send-message", payload, namespace=NS,
                           callback=lambda ack=None, t0=t0: answered(t0, ack))
    done.wait(timeout=max(0.0, deadline - time.monotonic()))
    elapsed = time.monotonic() - started
    with lock:
        lat = sorted(acks)
        return {"sent": len(plan), "acked": len(acks), "errors": dict(errors),
                "unanswered": len(plan) - state["answered"], "seconds": elapsed,
                "ack_p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
                "ack_p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None}


def broker_backlog(redis_url: str, queues: list[str]) -> dict[str, int]:
    import redis
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        return {q: int(client.llen(q)) for q in queues}
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# the measured part
# ---------------------------------------------------------------------------------------------

def start_worker(env: dict[str, str], tmp: Path, core: int) -> tuple[targets.ServerProc, str]:
    name, command = automation_line(REPO / "Procfile")
    wenv = dict(env)
    for var in concurrency_vars(command):
        wenv[var] = "1"
    wenv["DYNO"] = f"{name}.1"
    line = f"{command} --concurrency=1"   # click takes the last value given
    cmd = ["bash", "-c", line]
    if shutil.which("taskset") and (os.cpu_count() or 1) > core:
        cmd = ["taskset", "-c", str(core), *cmd]
    else:
        log("warning: taskset not available or too few cores: the worker is not pinned")
    shown = " ".join(f"{v}=1" for v in concurrency_vars(command))
    shown = f"{shown} {shlex.join(cmd)}".strip()
    return spawn("worker", cmd, wenv, tmp), shown


def wait_ready(worker: targets.ServerProc, timeout: float) -> float:
    """Monotonic time at which the worker's log says it is ready."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(rb"\bready\.?\s*$", re.MULTILINE)
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise BenchError(f"the worker exited with {worker.proc.returncode}:\n{worker.tail()}")
        try:
            if pattern.search(worker.log.read_bytes()):
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.01)
    raise BenchError(f"the worker did not log 'ready' within {timeout:.0f} s:\n{worker.tail()}")


def drain(db: Db, worker: targets.ServerProc, total: int, timeout: float,
          poll: float = 0.05) -> tuple[float | None, Counter[str], list[tuple[float, int]]]:
    """Poll until no customer message is pending; (time of that poll, states, progress)."""
    deadline = time.monotonic() + timeout
    progress: list[tuple[float, int]] = []
    last_print = time.monotonic()
    states: Counter[str] = Counter()
    while time.monotonic() < deadline:
        states = db.customer_states()
        now = time.monotonic()
        progress.append((now, total - states.get("pending", 0)))
        if states.get("pending", 0) == 0:
            return now, states, progress
        if worker.proc.poll() is not None:
            raise BenchError(f"the worker exited with {worker.proc.returncode}:\n{worker.tail()}")
        if now - last_print >= 5:
            log(f"  {dict(states)}")
            last_print = now
        time.sleep(poll)
    return None, states, progress


def run(o: argparse.Namespace, tmp: Path, stack: ExitStack) -> dict[str, Any]:
    t_setup = time.monotonic()
    redis_srv = targets.start_redis(tmp)
    stack.callback(redis_srv.stop)
    if o.pg:
        database_url = stack.enter_context(targets.fresh_pg_database(o.pg))
        db_label = "PostgreSQL"
    else:
        database_url = f"sqlite:///{tmp / 'bench.db'}"
        db_label = "SQLite"
    port = targets.free_port()
    env = dict(os.environ)
    for key in ("REDIS_URL", "DATABASE_URL", "PYTHONHOME", "LOG_LEVEL"):
        env.pop(key, None)
    venv_bin = str(REPO / ".venv" / "bin")
    env.update({
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
        "VIRTUAL_ENV": str(REPO / ".venv"),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_srv.url,
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "CORS_ALLOWED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        "INSTANCE_PATH": str(tmp / "instance"),
        "RATE_LIMIT_MESSAGES": "1000000/second",
        "RATE_LIMIT_AUTH": "1000000/minute",
        "JWT_ACCESS_TOKEN_MINUTES": "120",
    })
    (tmp / "instance").mkdir(mode=0o700)
    targets.upgrade_db(tmp, env)
    web_cmd = [targets.venv_bin("python"), "-m", "web.serve"]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        web_cmd = ["taskset", "-c", "0", *web_cmd]
    web = spawn("web", web_cmd, env, tmp, port)
    stack.callback(web.stop)
    web.wait_healthy(timeout=60)
    base = web.url

    ctx = create_business(base)
    faqs = faq_questions(base, ctx["owner"])
    log(f"business {ctx['business_id']} with {len(faqs)} FAQ questions; "
        f"{o.staff_online} staff online, {o.rooms} customers")
    clients: list[Any] = []

    def close_clients() -> None:
        for c in clients:
            try:
                c.disconnect()
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        clients.clear()
    stack.callback(close_clients)
    staff_clients = []
    for token in add_staff(base, ctx, o.staff_online):
        staff_clients.append(connect(base, token))
    clients.extend(staff_clients)
    customers = add_customers(base, ctx, o.rooms)
    customer_clients = []
    with ThreadPoolExecutor(16) as pool:
        customer_clients = list(pool.map(lambda c: connect(base, c[0]), customers))
    clients.extend(customer_clients)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda pair: join(*pair), zip(customer_clients,
                                                      [r for _, r in customers], strict=True)))
    setup_s = time.monotonic() - t_setup

    plan = plan_messages(o.messages, o.rooms, faqs, o.seed)
    mix = Counter("faq" if t in faqs or t in {f.lower().rstrip("?").strip() for f in faqs}
                  else "other question" if t in OTHER_QUESTIONS else "chit-chat"
                  for _, t in plan)
    log(f"setup {setup_s:.1f} s; sending {o.messages} customer messages over {o.rooms} rooms "
        f"(no worker running): {dict(mix)}")
    fill = send_all(customer_clients, [r for _, r in customers], plan, ctx["run"], o.window,
                    timeout=60 + o.messages / 20)
    log(f"filled in {fill['seconds']:.1f} s: {fill['acked']} acked, errors {fill['errors']}, "
        f"unanswered {fill['unanswered']}")
    for c in customer_clients:      # the customers leave; their sockets are no part of the drain
        try:
            c.disconnect()
        except Exception:  # noqa: BLE001
            pass

    _name, command = automation_line(REPO / "Procfile")
    queues = queues_of(command)
    db = Db(database_url)
    stack.callback(db.close)
    # The web process's publisher may still be sending: wait for the backlog to stop moving.
    backlog: dict[str, int] = {}
    stable_since, deadline = time.monotonic(), time.monotonic() + 30
    while time.monotonic() < deadline:
        now_backlog = broker_backlog(redis_srv.url, queues)
        if now_backlog != backlog:
            backlog, stable_since = now_backlog, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            break
        time.sleep(0.2)
    before = db.customer_states()
    log(f"before the worker: customer messages by state {dict(before)}; broker backlog {backlog}")
    pending = before.get("pending", 0)
    if pending == 0:
        raise BenchError("no customer message is pending: nothing for the worker to do "
                         "(is an automation worker running elsewhere on this Redis?)")

    try:  # this process polls from core 0: core 1 is the worker's
        os.sched_setaffinity(0, {0})
    except OSError:
        pass
    t_start = time.monotonic()
    worker, worker_cmd = start_worker(env, tmp, core=1)
    stack.callback(worker.stop)
    t_ready = wait_ready(worker, timeout=120)
    cpu_ready = group_cpu(worker.pid)
    log(f"worker ready {t_ready - t_start:.2f} s after start ({cpu_ready:.2f} CPU s); draining")
    profiler = None
    if o.profile:  # py-spy (not a requirement: pip install py-spy) over the whole drain
        profiler = subprocess.Popen(
            [shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy"),
             "record", "--subprocesses", "--nonblocking", "--format", "raw",
             "--rate", "200", "--pid", str(worker.pid), "--output", o.profile],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_done, states, progress = drain(db, worker, pending, timeout=o.timeout)
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=30)
        log(f"profile (collapsed stacks) in {o.profile}")
    cpu_done = group_cpu(worker.pid)
    bots = db.bot_kinds()
    problems = worker.problems()
    first = next((t for t, n in progress if n > 0), None)
    done_n = states.get("done", 0) - before.get("done", 0)
    failed_n = states.get("failed", 0) - before.get("failed", 0)
    drained = pending - states.get("pending", 0)
    end = t_done if t_done is not None else progress[-1][0]
    seconds = end - t_ready
    return {
        "database": db_label, "messages": o.messages, "rooms": o.rooms,
        "staff_online": o.staff_online, "setup_seconds": round(setup_s, 1),
        "fill": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in fill.items()},
        "mix": dict(mix), "broker_backlog_before": backlog, "pending_before": pending,
        "worker_command": worker_cmd,
        "worker_startup_seconds": round(t_ready - t_start, 2),
        "worker_startup_cpu_seconds": round(cpu_ready, 2),
        "first_done_after_ready_seconds": round(first - t_ready, 2) if first else None,
        "drained": drained, "done": done_n, "failed": failed_n,
        "still_pending": states.get("pending", 0), "finished": t_done is not None,
        "seconds": round(seconds, 2),
        "messages_per_second": round(drained / seconds, 1) if seconds > 0 else None,
        "worker_cpu_seconds": round(cpu_done - cpu_ready, 2),
        "cpu_ms_per_message": (round(1000 * (cpu_done - cpu_ready) / drained, 2)
                               if drained else None),
        "worker_cpu_share": round((cpu_done - cpu_ready) / seconds, 2) if seconds > 0 else None,
        "bot_messages": dict(bots),
        "worker_log_problems": dict(problems.most_common(8)),
    }


def report(r: dict[str, Any]) -> str:
    rate = r["messages_per_second"]
    verdict = "PASS" if rate is not None and r["finished"] and rate >= TARGET_RATE else "FAIL"
    bots = r["bot_messages"]
    lines = [
        f"worker throughput, {r['database']}: {r['messages']} customer messages over {r['rooms']} "
        f"rooms, {r['staff_online']} staff online",
        f"  fill (no worker)    {r['fill']['acked']}/{r['fill']['sent']} acked in "
        f"{r['fill']['seconds']} s, ack p50 {r['fill']['ack_p50_ms']} ms p99 "
        f"{r['fill']['ack_p99_ms']} ms, errors {r['fill']['errors'] or 0}; broker backlog "
        f"{r['broker_backlog_before']} tasks for {r['pending_before']} pending messages",
        f"  worker              {r['worker_command']}",
        f"  start-up            {r['worker_startup_seconds']} s to 'ready' "
        f"({r['worker_startup_cpu_seconds']} CPU s); first message done "
        f"{r['first_done_after_ready_seconds']} s after ready",
        "",
        "| database | messages | done | failed | seconds | msg/s | worker CPU s | CPU ms/msg "
        "| CPU share | welcome | faq | offline | escalation |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {r['database']} | {r['drained']} | {r['done']} | {r['failed']} | {r['seconds']} "
        f"| **{rate}** | {r['worker_cpu_seconds']} | {r['cpu_ms_per_message']} "
        f"| {r['worker_cpu_share']} | {bots.get('welcome', 0)} | {bots.get('faq', 0)} "
        f"| {bots.get('offline', 0)} | {bots.get('escalation', 0)} |",
        "",
        f"summary: {verdict} {rate} msg/s per worker process on one core (target >= "
        f"{TARGET_RATE:.0f})" + ("" if r["finished"] else
                                f"; NOT finished: {r['still_pending']} still pending"),
    ]
    if r["worker_log_problems"]:
        lines.append("worker.log problems: " + "; ".join(
            f"{n}x {text}" for text, n in r["worker_log_problems"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=3000, help="customer messages [3000]")
    p.add_argument("--rooms", type=int, default=300, help="customers, one room each [300]")
    p.add_argument("--staff-online", type=int, default=1,
                   help="staff members with a connected socket (0: offline replies) [1]")
    p.add_argument("--pg", default=None,
                   help="PostgreSQL server URL: a fresh bench_<random> database is used")
    p.add_argument("--window", type=int, default=100, help="unacknowledged sends at most [100]")
    p.add_argument("--timeout", type=float, default=0,
                   help="seconds the drain may take [max(120, messages / 10)]")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", default=None, help="also write the figures to this file")
    p.add_argument("--profile", default=None,
                   help="record the worker with py-spy during the drain into this file "
                        "(collapsed stacks)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the logs and the SQLite file")
    o = p.parse_args(argv)
    if o.messages < 1 or o.rooms < 1 or o.messages < o.rooms:
        p.error("need --messages >= --rooms >= 1")
    o.timeout = o.timeout or max(120.0, o.messages / 10)
    if shutil.which("redis-server") is None:
        p.error("redis-server is not installed")

    tmp = Path(tempfile.mkdtemp(prefix="bench-worker-throughput-"))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    code, keep = 0, o.keep_tmp
    result = None
    try:
        with ExitStack() as stack:
            try:
                result = run(o, tmp, stack)
            finally:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                log("stopping everything started here")
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc})")
        code, keep = 130, True
    except (BenchError, targets.TargetError) as exc:
        log(f"failed: {exc}")
        code, keep = 1, True
    if result is not None:
        print(report(result))
        if o.json:
            Path(o.json).write_text(json.dumps(result, indent=2) + "\n")
        if not result["finished"]:
            code = 1
    if keep:
        log(f"logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
