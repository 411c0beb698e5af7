"""Audit event to live notification: latency and sustained rate through the full stack.

Starts its own redis-server on a free port, migrates a fresh database (SQLite in a temp
dir, or ``--database-url``), then runs ``python -m web.serve`` and
``celery -A workers.entry worker`` on every queue as subprocesses. A staff member's
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
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import socketio
import targets

NAMESPACE = "/realtime"
PASSWORD = "bench-password-123"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


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
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")

    tmp = Path(tempfile.mkdtemp(prefix="notif-bench-"))
    procs: list[targets.ServerProc] = []
    try:
        redis = targets.start_redis(tmp)
        procs.append(redis)
        web_port = targets.free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("TEST_DATABASE", "AUTO_MIGRATE", "FLASK_APP")}
        env.update(
            DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
            REDIS_URL=redis.url, PORT=str(web_port),
            HOST="127.0.0.1", INSTANCE_PATH=str(tmp / "instance"),
            JWT_SECRET_KEY="bench-secret-key-that-is-long-enough-for-hs256",
            JWT_ACCESS_TOKEN_MINUTES="120", LOG_LEVEL="WARNING",
            RATE_LIMIT_MESSAGES="1000000/minute", RATE_LIMIT_AUTH="1000000/minute",
            RATE_LIMIT_EVENTS="1000000/minute", PYTHONUNBUFFERED="1",
        )
        targets.upgrade_db(tmp, env)
        worker = targets.start_worker(tmp, env, args.worker_concurrency)
        procs.append(worker)
        procs.append(targets.start_web(tmp, env, name="web"))
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
    except targets.TargetError as exc:
        raise SystemExit(str(exc)) from None
    finally:
        for proc in reversed(procs):
            proc.stop()
        if args.keep_tmp:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
