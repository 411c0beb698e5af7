"""Customer send to FAQ answer at the client, through web + Celery worker + Redis, while staff
chat in the background. Target (chat issue): p50 < 50 ms, p99 < 200 ms at 200 msg/s of chat.

Starts its own redis-server, database (SQLite, or ``--pg URL``: a fresh PostgreSQL database),
web process and one prefork Celery worker; creates an always-open business, staff pairs that
chat at ``--background-rate`` in staff rooms (no automation; keeps the business attended) and
probe customers that greet, then ask seeded FAQ questions verbatim at ``--probe-rate``.
Latency: just before the emit of ``chat:send-message`` to ``chat:faq-response`` for that room
at the same client; no answer within 5 s is a miss. Details: bench/README.md.

    .venv/bin/python bench/faq_latency.py
    .venv/bin/python bench/faq_latency.py --pg postgresql://postgres@127.0.0.1:5432/
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import chat_load
import loadlib
import sioclients
import targets

MISS_S = 5.0
TARGET_P50_MS, TARGET_P99_MS = 50.0, 200.0
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
pct, iso = chat_load.percentile, datetime.fromisoformat


@dataclass
class Setup:
    owner_token: str
    staff_ids: list[int]
    pair_specs: list[dict[str, Any]]  # loadlib pairs: a staff room, its sender and receiver
    customers: list[tuple[str, int]]  # (token, room id)
    questions: list[tuple[str, int]]  # (text, the FAQ that must answer it)


def setup_business(base: str, staff_pairs: int, customers: int) -> Setup:
    """Owner and business, staff pairs with a staff room each, customers with a room each.
    Emails are unique per run so a reused database still works."""
    api, expect, run = targets.api, targets.expect, secrets.token_hex(4)

    def account(path: str, email: str, name: str, token: str | None = None) -> dict[str, Any]:
        body = {"email": email, "password": targets.PASSWORD, "name": name}
        return expect(api(base, "POST", path, body, token), (200, 201), f"{path} {email}")

    founder = account("/api/auth/register", f"owner-{run}@bench.example", "Owner")
    body = expect(api(base, "POST", "/api/businesses",
                      {"name": f"FAQ bench {run}", "timezone": "UTC",
                       "business_hours": ALWAYS_OPEN}, founder["access_token"]),
                  (201,), "create business")
    business, owner = body["business"], str(body["access_token"])
    if not business.get("is_open_now"):
        raise targets.TargetError(f"the always-open business is closed: {business}")
    staff: list[tuple[int, str]] = []
    for i in range(2 * staff_pairs):
        email = f"staff{i}-{run}@bench.example"
        user = account(f"/api/businesses/{business['id']}/staff", email, f"Staff {i}", owner)
        login = expect(api(base, "POST", "/api/auth/login",
                           {"email": email, "password": targets.PASSWORD}), (200,), "login")
        staff.append((int(user["user"]["id"]), str(login["access_token"])))
    specs = []
    for (_, token_a), (id_b, token_b) in zip(staff[0::2], staff[1::2], strict=True):
        room = expect(api(base, "POST", "/api/chat/rooms/create",
                          {"type": "staff", "participant_ids": [id_b]}, token_a),
                      (200, 201), "create staff room")["room"]
        specs.append({"room_id": room["id"], "sender_token": token_a, "receiver_token": token_b})
    probes = []
    for i in range(customers):
        token = account("/api/auth/register", f"probe{i}-{run}@bench.example",
                        f"Probe {i}")["access_token"]
        room = expect(api(base, "POST", "/api/chat/rooms/create",
                          {"business_id": business["id"]}, token), (200, 201), "customer room")
        probes.append((str(token), int(room["room"]["id"])))
    return Setup(owner, [s[0] for s in staff], specs, probes, faq_questions(base, owner))


def faq_questions(base: str, owner: str) -> list[tuple[str, int]]:
    """Seeded questions and alternatives that the matcher answers with their own FAQ: this
    bench times the answer's trip, not the matcher's recall (faq_eval.py does that)."""
    faqs = targets.expect(targets.api(base, "GET", "/api/chat/faqs", None, owner),
                          (200,), "list FAQs")["faqs"]
    found = []
    for faq in (f for f in faqs if f.get("is_active", True)):
        for text in [faq["question"], *faq.get("alternative_questions", [])]:
            match = targets.expect(targets.api(base, "POST", "/api/chat/faqs/match",
                                               {"text": text}, owner), (200,), "match")["match"]
            if match and match["faq_id"] == faq["id"]:
                found.append((text, int(faq["id"])))
    if not found:
        raise targets.TargetError(f"no seeded FAQ matches its own question ({len(faqs)} FAQs)")
    return found


class ProbeClient(sioclients.SioClient):
    """SioClient taking any event: RawClient decodes only chat:new-message (cheap), and a few
    probes a second do not need cheap."""

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self._sio.on(event, handler, namespace=sioclients.NAMESPACE)


@dataclass
class Probe:
    faq_id: int
    measured: bool
    sent: float  # perf_counter just before the emit
    sent_wall: float  # the same moment on the wall clock, to place the server's timestamps
    acked: float | None = None
    stored_wall: float | None = None  # the question's created_at
    answered: float | None = None
    answer_wall: float | None = None  # the answer's created_at
    ack_error: str | None = None


class Customer:
    def __init__(self, url: str, token: str, room_id: int, odd: Counter[str]) -> None:
        self.client = ProbeClient(None, url, token, None)  # type: ignore[arg-type]
        self.room_id, self.odd = room_id, odd
        self.current: Probe | None = None
        self.welcomed = asyncio.Event()
        self.client.on("chat:faq-response", self._on_faq)
        self.client.on("chat:auto-response", self._on_auto)

    def _message(self, data: Any) -> dict[str, Any] | None:
        msg = data.get("message") if isinstance(data, dict) else None
        return msg if isinstance(msg, dict) and msg.get("room_id") == self.room_id else None

    def _on_faq(self, data: Any) -> None:
        now, msg, probe = time.perf_counter(), self._message(data), self.current
        if msg is None:
            return
        if probe is None or probe.answered is not None or msg.get("faq_id") != probe.faq_id:
            self.odd["FAQ answers for no waiting probe (late, repeated or another FAQ)"] += 1
            return
        probe.answered, probe.answer_wall = now, iso(msg["created_at"]).timestamp()

    def _on_auto(self, data: Any) -> None:
        msg = self._message(data)
        if msg is not None and msg.get("kind") == "welcome" and not self.welcomed.is_set():
            self.welcomed.set()
        elif msg is not None:  # offline or escalation: the setup or the app is off
            self.odd[f"unexpected {msg.get('kind')} replies"] += 1

    async def call(self, event: str, data: dict[str, Any]) -> None:
        resp = await self.client.call(event, {"room_id": self.room_id, **data}, 15.0)
        if not (isinstance(resp, dict) and resp.get("ok")):
            raise sioclients.ClientError(f"{event} in room {self.room_id}: {resp!r}"[:300])

    async def join_and_greet(self, sem: asyncio.Semaphore) -> None:
        async with sem:  # the app authenticates each connect: no thundering herd
            await self.client.connect(15.0)
            await self.call("chat:join-room", {})
        # Small talk: only the welcome reply comes, so later questions get just their answer.
        await self.call("chat:send-message", {"content": "Hi there!"})
        await asyncio.wait_for(self.welcomed.wait(), 45.0)  # first tasks pay the cold start

    async def ask(self, text: str, faq_id: int, measured: bool) -> Probe:
        payload = {"room_id": self.room_id, "content": text, "client_msg_id": str(uuid.uuid4())}
        probe = self.current = Probe(faq_id, measured, time.perf_counter(), time.time())

        def on_ack(resp: Any) -> None:
            probe.acked = time.perf_counter()
            if isinstance(resp, dict) and resp.get("ok"):
                probe.stored_wall = iso(resp["message"]["created_at"]).timestamp()
            else:
                probe.ack_error = repr(resp)[:200]

        await self.client.emit("chat:send-message", payload, on_ack)
        return probe


def cpu_snapshot(groups: dict[str, int], pg_db: str | None) -> dict[str, dict[int, float]]:
    """CPU seconds by process: per pid, so processes born in the window count from zero."""
    snap = {name: targets.cpu_by_pid(pgid=pgid) for name, pgid in groups.items()}
    if pg_db:  # its backends are part of the stack, not "other processes"
        snap["postgres"] = targets.cpu_by_pid(title=f" {pg_db} ")
    return snap | {"probes": {0: loadlib.proc_cpu_seconds()},
                   "host": {0: loadlib.host_cpu_seconds()}, "wall": {0: time.monotonic()}}


async def measure(args: argparse.Namespace, url: str, setup: Setup, workers: chat_load.Workers,
                  groups: dict[str, int], pg_db: str | None) -> dict[str, Any]:
    odd: Counter[str] = Counter()
    sigint = signal.getsignal(signal.SIGINT)
    customers = [Customer(url, token, room, odd) for token, room in setup.customers]
    # Workers.step blocks for the whole background step. Its own executor, not the default
    # one: asyncio.run would wait for that on Ctrl-C, while this one is left behind.
    pool = ThreadPoolExecutor(max_workers=1)
    # SIGTERM cancels the probes like Ctrl-C does, so they close cleanly (loop.close undoes it).
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    try:
        sem = asyncio.Semaphore(8)
        try:
            await asyncio.gather(*(c.join_and_greet(sem) for c in customers))
        except TimeoutError:
            raise targets.TargetError("no welcome reply: worker down? (worker.log)") from None
        # On SIGINT engineio drops every socket and stops the loop under the probes; asyncio's
        # own handler cancels this task instead, and the finally below closes them in order.
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, sigint)
        bg_args = argparse.Namespace(warmup=args.warmup, step_seconds=args.seconds + 1.0,
                                     grace=2.0)  # runs on while the last answers come
        begin = time.perf_counter() + 0.3  # Workers.step starts the senders 0.3 s out
        bg = asyncio.get_running_loop().run_in_executor(
            pool, workers.step, 0, args.background_rate, bg_args, groups["web"])
        start, end = begin + args.warmup, begin + args.warmup + args.seconds
        probes: list[Probe] = []
        cpu0: dict[str, dict[int, float]] = {}
        i = 0
        while (due := begin + i / args.probe_rate) < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if due >= start and not cpu0:
                cpu0 = cpu_snapshot(groups, pg_db)
            cust = customers[i % len(customers)]
            text, faq_id = setup.questions[i % len(setup.questions)]
            i += 1
            last = cust.current
            if last and last.answered is None and time.perf_counter() - last.sent < MISS_S:
                odd["probes skipped: the customer was still waiting"] += 1
                continue
            probes.append(await cust.ask(text, faq_id, due >= start))
        cpu1 = cpu_snapshot(groups, pg_db)
        deadline = time.perf_counter() + MISS_S
        while time.perf_counter() < deadline and any(p.answered is None for p in probes):
            await asyncio.sleep(0.02)
        background = chat_load.merge(args.background_rate, bg_args.step_seconds, await bg)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.gather(*(c.client.close() for c in customers), return_exceptions=True)
    return {"probes": [p for p in probes if p.measured], "odd": odd, "cpu": (cpu0, cpu1),
            "background": background}


def report(args: argparse.Namespace, res: dict[str, Any], db: str,
           procs: list[targets.ServerProc]) -> tuple[list[str], bool]:
    """The report's lines, and whether any process logged errors."""
    probes: list[Probe] = res["probes"]
    done = [p for p in probes if p.answered is not None and p.answered - p.sent <= MISS_S]
    lat = sorted((p.answered - p.sent) * 1000 for p in done if p.answered)
    acks = sorted((p.acked - p.sent) * 1000 for p in probes if p.acked)
    share = len(done) / len(probes) if probes else 0.0
    misses, ack_err = len(probes) - len(done), sum(1 for p in probes if p.ack_error)
    # Legs by the server's created_at stamps (same host clock): the web's send path; queue
    # and worker; the answer's commit, Redis and the web's emit.
    st = [p for p in done if p.stored_wall and p.answer_wall and p.answered]
    legs = {name: sorted(1000 * leg(p) for p in st) for name, leg in (
        ("send -> question stored", lambda p: p.stored_wall - p.sent_wall),
        ("stored -> answer created", lambda p: p.answer_wall - p.stored_wall),
        ("answer created -> at client", lambda p: p.sent_wall + p.answered - p.sent
         - p.answer_wall))}
    bg: chat_load.StepResult = res["background"]
    cpu0, cpu1 = res["cpu"]
    span = cpu1["wall"][0] - cpu0["wall"][0] if cpu0 else math.nan
    cpu = {k: 100 * sum(v - cpu0.get(k, {}).get(pid, 0.0) for pid, v in cpu1[k].items()) / span
           for k in cpu1 if k != "wall"}
    other = cpu["host"] - sum(v for k, v in cpu.items() if k != "host") - bg.lg_cpu
    lines = [
        f"# customer send -> chat:faq-response (db {db}, worker -c {args.concurrency}, "
        f"{os.cpu_count()} CPUs); background {args.background_rate:g} msg/s in "
        f"{args.staff_pairs} staff rooms; probes {args.probe_rate:g}/s from {args.customers} "
        f"customers, {args.seconds:g} s after {args.warmup:g} s warm-up",
        " probes  answered misses ackerr   p50ms   p95ms   p99ms   maxms  ackp50  ackp99",
        f"{len(probes):7d} {share:9.1%} {misses:6d} {ack_err:6d} " + " ".join(f"{v:7.1f}" for v in
            (*(pct(lat, q) for q in (.5, .95, .99, 1)), pct(acks, .5), pct(acks, .99))),
        "legs p50 (p99) ms: " + ", ".join(
            f"{k} {pct(v, .5):.1f} ({pct(v, .99):.1f})" for k, v in legs.items()),
    ]
    lines += [f"note: {n} x {what}" for what, n in sorted(res["odd"].items())]
    found = {proc.name: proc.problems() for proc in procs}
    for name, lines_seen in found.items():
        lines.append(f"{name}.log: {sum(lines_seen.values())} warning or error line(s)")
        lines += [f"  {n:5d} x {line}" for line, n in lines_seen.most_common(6)]
    bg_ok = bg.achieved >= chat_load.SUSTAIN_ACHIEVED * bg.offered and bg.ack_err == 0
    passed = (bool(lat) and misses == 0 and ack_err == 0 and pct(lat, .5) < TARGET_P50_MS
              and pct(lat, .99) < TARGET_P99_MS and bg_ok)
    lines += [
        "", f"summary (target: p50 < {TARGET_P50_MS:g} ms and p99 < {TARGET_P99_MS:g} ms, "
        f"no misses, background >= 95% of {args.background_rate:g} msg/s without errors)",
        f"  faq:        {len(probes)} probes, {share:.1%} answered within {MISS_S:g} s, p50 "
        f"{pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms: {'PASS' if passed else 'FAIL'}",
        f"  background: {bg.achieved:.0f} of {bg.offered:g} msg/s delivered (sent "
        f"{bg.sent_rate:.0f}), lost {bg.lost}, {bg.ack_err} ack errors, p50 {bg.p50:.1f} ms, "
        f"p99 {bg.p99:.1f} ms" + ("" if bg_ok else " (not sustained)"),
        "  cpu:        % of one core over the window: " + ", ".join(
            f"{k} {v:.0f}" for k, v in cpu.items() if k != "host") + f", loadgen "
        f"{bg.lg_cpu:.0f}; host {cpu['host']:.0f} of {100 * (os.cpu_count() or 1)}"
        + (f" (busy host: other processes {other:.0f})" if other > chat_load.BUSY_OTHER_CPU
           else ""),
    ]
    return lines, any(found.values())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="measured probe window")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured lead-in, under load")
    p.add_argument("--probe-rate", type=float, default=5.0, help="FAQ questions per second")
    p.add_argument("--customers", type=int, default=0, help="[each asks every 6 s]")
    p.add_argument("--background-rate", type=float, default=200.0, help="staff msg/s in total")
    p.add_argument("--staff-pairs", type=int, default=10, help="staff rooms for the background")
    p.add_argument("--concurrency", type=int, default=2, help="the worker's prefork processes")
    p.add_argument("--pg", metavar="URL", help="PostgreSQL server: a fresh db, dropped after")
    p.add_argument("--app-env", action="append", default=[], metavar="K=V", help="web+worker")
    p.add_argument("--max-seconds", type=float, default=170.0, help="time limit for the run")
    p.add_argument("--keep-tmp", action="store_true", help="keep logs and the sqlite db")
    args = p.parse_args(argv)
    if min(args.seconds, args.probe_rate, args.background_rate, args.staff_pairs) <= 0:
        p.error("--seconds, --probe-rate, --background-rate and --staff-pairs must be positive")
    args.customers = args.customers or math.ceil(args.probe_rate * (MISS_S + 1))
    return args


def run(args: argparse.Namespace, tmp: Path, began: float) -> bool:
    """One run; True if web or worker logged errors. Everything started here is stopped."""
    with ExitStack() as stack:
        redis = targets.start_redis(tmp)
        stack.callback(redis.stop)
        db_url = (stack.enter_context(targets.fresh_pg_database(args.pg)) if args.pg
                  else f"sqlite:///{tmp / 'bench.db'}")
        env = targets.app_env(targets.free_port(), db_url, redis.url, [
            f"INSTANCE_PATH={tmp / 'instance'}", f"JWT_SECRET_KEY={secrets.token_hex(32)}",
            "PYTHONUNBUFFERED=1", *args.app_env])
        targets.upgrade_db(tmp, env)
        worker = targets.start_worker(tmp, env, args.concurrency)
        stack.callback(worker.stop)
        web = targets.start_web(tmp, env, name="web")
        stack.callback(web.stop)
        print(f"[faq] web pid {web.pid}, worker {worker.pid}; setting up ...", flush=True)
        setup = setup_business(web.url, args.staff_pairs, args.customers)
        workers = chat_load.Workers(web.url, setup.pair_specs, 1, "raw")
        stack.callback(workers.close)
        workers.wait_ready()
        targets.wait_online(web.url, setup.owner_token, setup.staff_ids)
        print(f"[faq] staff online; setup took {time.monotonic() - began:.0f} s", flush=True)
        groups = {"web": web.pid, "worker": worker.pid, "redis": redis.pid}
        pg_db = urlsplit(db_url).path.lstrip("/") if args.pg else None
        budget = max(10.0, args.max_seconds - (time.monotonic() - began))
        try:
            res = asyncio.run(asyncio.wait_for(
                measure(args, web.url, setup, workers, groups, pg_db), budget))
        except TimeoutError:
            raise targets.TargetError(f"--max-seconds {args.max_seconds:g} passed") from None
        finally:
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        for proc in (web, worker):
            if proc.proc.poll() is not None:
                raise targets.TargetError(f"{proc.name} died during the run:\n{proc.tail()}")
        lines, logged_errors = report(args, res, db_url.split(":", 1)[0], [web, worker])
        print("\n".join(lines))
        print(f"run took {time.monotonic() - began:.0f} s", flush=True)
        return logged_errors


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="faqbench-"))
    keep = True  # until a run completes: a failed or interrupted run's logs stay
    try:
        keep = run(args, tmp, began) or args.keep_tmp
        return 0
    except (targets.TargetError, sioclients.ClientError, aiohttp.ClientError, OSError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):  # asyncio.run turns Ctrl-C into either
        print("interrupted; everything this run started is stopped", file=sys.stderr)
        return 130
    finally:
        if keep:
            print(f"logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
