"""Audit event to live notification: latency and sustained rate through the full stack.

Starts its own redis-server on a free port, migrates a fresh database (SQLite in a temp
dir, or ``--database-url``), then runs ``python -m web.serve`` and
``celery -A workers.entry worker -Q automation,light`` as subprocesses. A staff member's
python-socketio client listens on /realtime while the host platform's side POSTs
``payment.failed`` events to ``/api/events``.

1. Latency: ``--events`` events (200) at a light ``--light-rate`` (20/s); for each, the time
   from the start of its POST to its ``notification:new`` at the staff socket; p50/p95/p99.
2. Sustained rate: a ladder of offered rates, ``--step-seconds`` each; a step is sustained
   when at least 99 % of its notifications arrive within ``--grace`` seconds after the step
   and their p99 stays under ``--p99-ms``. The highest sustained step is the figure.

Bounded: every wait has a timeout and the run stops at ``--max-seconds`` (170).

    .venv/bin/python bench/notification_latency.py
    .venv/bin/python bench/notification_latency.py --database-url postgresql://...  # empty DB
    .venv/bin/python bench/notification_latency.py --ladder 20,50,100 --concurrency 4
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import socketio

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAMESPACE = "/realtime"
PASSWORD = "bench-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


class Proc:
    """A child in its own session, so stopping it ends exactly its process group."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as fh:
            self.popen = subprocess.Popen(args, cwd=REPO, env=env, stdout=fh,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.popen.poll() is not None:
                return
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                continue


def wait_port(port: int, proc: Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"{proc.name} exited:\n{proc.tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{proc.name} did not listen on {port} within {timeout:.0f}s\n{proc.tail()}")


class Api:
    """A keep-alive JSON client; one per thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: object = None,
             token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw else {})
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def expect(result: tuple[int, dict], status: int, what: str) -> dict:
    if result[0] != status:
        raise SystemExit(f"{what}: HTTP {result[0]} {result[1]}")
    return result[1]


def setup_accounts(port: int) -> tuple[str, str]:
    """An owner with a business and one staff member; returns (owner token, staff token)."""
    api = Api(port)
    tag = uuid.uuid4().hex[:8]
    founder = expect(api.call("POST", "/api/auth/register", {
        "email": f"owner-{tag}@bench.example", "password": PASSWORD, "name": "Bench Owner"}),
        201, "register")
    created = expect(api.call("POST", "/api/businesses", {"name": "Bench Salon",
                                                          "timezone": "UTC"},
                              founder["access_token"]), 201, "create business")
    owner_token = created["access_token"]
    email = f"staff-{tag}@bench.example"
    expect(api.call("POST", f"/api/businesses/{created['business']['id']}/staff",
                    {"email": email, "password": PASSWORD, "name": "Bench Staff"},
                    owner_token), 201, "add staff")
    staff = expect(api.call("POST", "/api/auth/login", {"email": email, "password": PASSWORD}),
                   200, "login")
    return owner_token, staff["access_token"]


class Listener:
    """The staff socket: arrival time of each notification, keyed by the event's seq."""

    def __init__(self, port: int, token: str) -> None:
        self.arrived: dict[int, float] = {}
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        self.client.on("notification:new", self._on_new, namespace=NAMESPACE)
        self.client.connect(f"http://127.0.0.1:{port}", namespaces=[NAMESPACE],
                            transports=["websocket"], auth={"token": token}, wait_timeout=15)

    def _on_new(self, payload: dict) -> None:
        now = time.perf_counter()
        seq = (payload.get("notification", {}).get("data") or {}).get("bench_seq")
        if isinstance(seq, int):
            with self.lock:
                self.arrived.setdefault(seq, now)

    def wait_for(self, seqs: range, until: float) -> None:
        while time.perf_counter() < until:
            with self.lock:
                if all(s in self.arrived for s in seqs):
                    return
            time.sleep(0.02)


class Sender:
    """Posts events on a fixed schedule from a pool of keep-alive connections."""

    def __init__(self, port: int, token: str, concurrency: int) -> None:
        self.token = token
        self.local = threading.local()
        self.port = port
        self.pool = ThreadPoolExecutor(max_workers=concurrency)
        self.sent: dict[int, float] = {}
        self.post_ms: dict[int, float] = {}
        self.errors = 0
        self.lock = threading.Lock()

    def _api(self) -> Api:
        if not hasattr(self.local, "api"):
            self.local.api = Api(self.port)
        return self.local.api

    def _post(self, seq: int, at: float) -> None:
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        started = time.perf_counter()
        body = {"type": "payment.failed", "idempotency_key": f"bench-{seq}",
                "data": {"bench_seq": seq, "customer_name": "Bench Customer",
                         "amount": "10.00", "currency": "EUR"}}
        try:
            status, _ = self._api().call("POST", "/api/events", body, self.token)
        except OSError:
            status = 0
        with self.lock:
            if status == 202:
                self.sent[seq] = started
                self.post_ms[seq] = (time.perf_counter() - started) * 1000
            else:
                self.errors += 1

    def run(self, seqs: range, rate: float) -> float:
        """Send seqs at ``rate`` per second; returns the achieved send rate."""
        start = time.perf_counter() + 0.05
        futures = [self.pool.submit(self._post, seq, start + i / rate)
                   for i, seq in enumerate(seqs)]
        for future in futures:
            future.result(timeout=120)
        elapsed = max(time.perf_counter() - start, 1e-6)
        return len(seqs) / elapsed


def latencies(sender: Sender, listener: Listener, seqs: range) -> tuple[list[float], int]:
    values, lost = [], 0
    for seq in seqs:
        sent, got = sender.sent.get(seq), listener.arrived.get(seq)
        if sent is None:
            continue
        if got is None:
            lost += 1
        else:
            values.append((got - sent) * 1000)
    return values, lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--light-rate", type=float, default=20.0)
    parser.add_argument("--ladder", default="25,50,75,100,150,200,300")
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--grace", type=float, default=3.0)
    parser.add_argument("--p99-ms", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=16, help="sender connections")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="an empty database to migrate")
    parser.add_argument("--max-seconds", type=float, default=170.0)
    parser.add_argument("--keep-tmp", action="store_true")
    args = parser.parse_args()
    began = time.monotonic()
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        raise SystemExit("redis-server is not installed")

    tmp = Path(tempfile.mkdtemp(prefix="notif-bench-"))
    procs: list[Proc] = []
    try:
        redis_port, web_port = free_port(), free_port()
        redis = Proc("redis", [redis_binary, "--port", str(redis_port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                     dict(os.environ), tmp)
        procs.append(redis)
        wait_port(redis_port, redis, 10)
        env = {k: v for k, v in os.environ.items()
               if k not in ("TEST_DATABASE", "AUTO_MIGRATE", "FLASK_APP")}
        env.update(
            DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
            REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", PORT=str(web_port),
            HOST="127.0.0.1", INSTANCE_PATH=str(tmp / "instance"),
            JWT_SECRET_KEY="bench-secret-key-that-is-long-enough-for-hs256",
            JWT_ACCESS_TOKEN_MINUTES="120", LOG_LEVEL="WARNING",
            RATE_LIMIT_MESSAGES="1000000/minute", RATE_LIMIT_AUTH="1000000/minute",
            RATE_LIMIT_EVENTS="1000000/minute", PYTHONUNBUFFERED="1",
        )
        migrate = subprocess.run([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"],
                                 cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        if migrate.returncode != 0:
            raise SystemExit(f"db upgrade failed:\n{migrate.stdout}\n{migrate.stderr}")
        web = Proc("web", [str(BIN / "python"), "-m", "web.serve"], env, tmp)
        worker = Proc("worker", [str(BIN / "celery"), "-A", "workers.entry", "worker",
                                 "-Q", "automation,light", "-c", str(args.worker_concurrency),
                                 "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                                 "--without-heartbeat", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
                      env, tmp)
        procs += [web, worker]
        wait_port(web_port, web, 60)
        _owner, staff_token = setup_accounts(web_port)
        listener = Listener(web_port, staff_token)
        sender = Sender(web_port, staff_token, args.concurrency)

        # Warm the worker (imports, connections) outside the measurement.
        sender.run(range(-20, 0), 10)
        listener.wait_for(range(-20, 0), time.perf_counter() + 30)
        if len(listener.arrived) < 20:
            raise SystemExit(f"worker did not deliver the warm-up events\n{worker.tail()}")

        print(f"# notification latency: POST /api/events -> notification:new at the staff "
              f"socket (db {env['DATABASE_URL'].split(':', 1)[0]}, "
              f"worker -c {args.worker_concurrency}, {os.cpu_count()} CPUs)")
        seqs = range(0, args.events)
        sent_rate = sender.run(seqs, args.light_rate)
        listener.wait_for(seqs, time.perf_counter() + 15)
        values, lost = latencies(sender, listener, seqs)
        posts = [sender.post_ms[s] for s in seqs if s in sender.post_ms]
        print(f"light load: {len(values)} events at {sent_rate:.1f}/s: "
              f"p50 {percentile(values, 0.50):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
              f"p99 {percentile(values, 0.99):.1f} ms, max {max(values or [0]):.1f} ms, "
              f"lost {lost}, send errors {sender.errors}; the POST alone (202): "
              f"p50 {percentile(posts, 0.50):.1f} ms, p99 {percentile(posts, 0.99):.1f} ms")

        print(f"{'offered/s':>10} {'sent/s':>8} {'delivered':>10} {'p50 ms':>8} {'p99 ms':>8}"
              f" {'POST p50':>9}  sustained")
        best, next_seq = 0.0, 100_000
        for rate in [float(r) for r in args.ladder.split(",") if r.strip()]:
            need = args.step_seconds + args.grace + 5
            if time.monotonic() - began + need > args.max_seconds:
                print(f"(stopping: --max-seconds {args.max_seconds:.0f} reached)")
                break
            count = int(rate * args.step_seconds)
            step = range(next_seq, next_seq + count)
            next_seq += count + 1000
            errors_before = sender.errors
            sent_rate = sender.run(step, rate)
            listener.wait_for(step, time.perf_counter() + args.grace)
            values, lost = latencies(sender, listener, step)
            delivered = len(values) / count if count else 0.0
            p99 = percentile(values, 0.99)
            ok = (delivered >= 0.99 and p99 <= args.p99_ms and sent_rate >= 0.95 * rate
                  and sender.errors == errors_before)
            posts = [sender.post_ms[s] for s in step if s in sender.post_ms]
            print(f"{rate:>10.0f} {sent_rate:>8.1f} {delivered:>10.1%} "
                  f"{percentile(values, 0.5):>8.1f} {p99:>8.1f} {percentile(posts, 0.5):>9.1f}"
                  f"  {'yes' if ok else 'no'}")
            if not ok:
                break
            best = rate
            # Let the queue drain so one step's backlog does not count against the next.
            time.sleep(1.0)
        print(f"sustained: {best:.0f} events/s (p99 <= {args.p99_ms:.0f} ms, >= 99% delivered "
              f"within {args.grace:.0f} s); run took {time.monotonic() - began:.0f} s")
        listener.client.disconnect()
        sender.pool.shutdown(wait=False, cancel_futures=True)
        return 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        if args.keep_tmp:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
