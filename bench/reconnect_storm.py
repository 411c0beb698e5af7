"""A reconnect storm: every client of a web process comes back at once after it restarts,
and each catches up with ``after_seq``.

The stack is the reference harness's (``/work/shared/perf/stack.py``: every Procfile
process, a private Redis as broker and Socket.IO message queue, SQLite or, with ``--pg``,
PostgreSQL), plus a second web process (``web2``) that stays up: the restarted process's
clients miss what is written meanwhile, as in a rolling restart.

1. Setup through the REST API: an owner, a business open all day, one staff member, and
   ``--customers`` customers, each with its room.
2. ``--clients`` Socket.IO clients (websocket only, authenticated, the customers' tokens
   round-robin, so ``--clients / --customers`` devices per customer) connect to ``web``,
   pinned to core 0 like the harness pins it, and each joins its customer's room.
3. The staff member, on ``web2``, sends ``--before`` messages into every room; every client
   must see them live.
4. ``web`` is stopped (SIGTERM; ``--kill``: SIGKILL). While it is down, the staff member
   sends ``--during`` messages into every room: those are what the clients must catch up on.
5. ``web`` is started again. When its ``/healthz`` answers, every client reconnects at the
   same moment (no stagger, no backoff before the first try) and joins its room with
   ``after_seq`` = the highest seq it holds without a gap, paging with
   ``GET /api/chat/rooms/<id>/messages?after_seq=`` while ``has_more``. A refused or
   timed-out try is counted and retried after 1 s (then 2, 4 s, at most 5 s), as
   socket.io clients do. Meanwhile the staff member keeps sending ``--live-rate`` msg/s
   across the rooms, so pages and live events interleave.
6. Reported: per client, the time from that moment to connected (namespace connect
   acknowledged) and to caught up (join ack and every page in), p50/p99/max, the time
   until the last client was caught up (settle), failed tries by reason, and then the check:
   every client holds every seq of its room from 1 to the room's last (read by the staff
   member at the end), and no message reached a client live twice. A seq that came both
   live and in a catch-up page (the join subscribes before it reads, by design) is counted
   apart: the client library drops it by seq.

    .venv/bin/python bench/reconnect_storm.py                        # 2,000 clients, SQLite
    .venv/bin/python bench/reconnect_storm.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/reconnect_storm.py --clients 200 --customers 50   # a quick look

Loopback only; the stack is taken down at the end, also on Ctrl-C. Exits 1 if a client
missed a message or never caught up.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
import targets  # noqa: E402
from sioclients import ClientError, RawClient  # noqa: E402

REPO = targets.REPO
PASSWORD = targets.PASSWORD


def log(text: str) -> None:
    print(f"[storm {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ----------------------------------------------------------------------------- setup


async def api(session: aiohttp.ClientSession, base: str, method: str, path: str,
              body: dict | None = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(8):
        async with session.request(method, base + path, json=body, headers=headers,
                                   timeout=aiohttp.ClientTimeout(total=60)) as response:
            if response.status == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After") or 2))
                continue
            return response.status, await response.json(content_type=None)
    raise RuntimeError(f"{method} {path}: still 429")


async def must(session: aiohttp.ClientSession, base: str, method: str, path: str,
               body: dict | None = None, token: str | None = None) -> Any:
    status, data = await api(session, base, method, path, body, token)
    if status >= 300:
        raise RuntimeError(f"{method} {path} -> {status} {str(data)[:300]}")
    return data


@dataclass
class Room:
    id: int
    customer_token: str


async def set_up(session: aiohttp.ClientSession, base: str, customers: int,
                 concurrency: int) -> tuple[str, list[Room]]:
    run = secrets.token_hex(4)
    owner = (await must(session, base, "POST", "/api/auth/register", {
        "email": f"storm-owner-{run}@bench.example", "password": PASSWORD,
        "name": "Storm Owner"}))["access_token"]
    hours = {day: [["00:00", "24:00"]] for day in (
        "mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    status, created = await api(session, base, "POST", "/api/businesses", {
        "name": f"Storm {run}", "timezone": "UTC", "business_hours": hours, "holidays": []},
        owner)
    if status >= 300:
        hours = {day: [["00:00", "23:59"]] for day in hours}
        created = await must(session, base, "POST", "/api/businesses", {
            "name": f"Storm {run}", "timezone": "UTC", "business_hours": hours,
            "holidays": []}, owner)
    business_id = created["business"]["id"]
    owner = created.get("access_token") or owner
    staff = {"email": f"storm-staff-{run}@bench.example", "password": PASSWORD,
             "name": "Storm Staff"}
    await must(session, base, "POST", f"/api/businesses/{business_id}/staff", staff, owner)
    staff_token = (await must(session, base, "POST", "/api/auth/login", {
        "email": staff["email"], "password": PASSWORD}))["access_token"]
    gate = asyncio.Semaphore(concurrency)

    async def customer(i: int) -> Room:
        async with gate:
            token = (await must(session, base, "POST", "/api/auth/register", {
                "email": f"storm-c{i}-{run}@bench.example", "password": PASSWORD,
                "name": f"Storm Customer {i}"}))["access_token"]
            room = await must(session, base, "POST", "/api/chat/rooms/create",
                              {"business_id": business_id}, token)
        return Room(room["room"]["id"], token)

    rooms = await asyncio.gather(*(customer(i) for i in range(customers)))
    return staff_token, list(rooms)


# ----------------------------------------------------------------------------- clients


@dataclass
class Client:
    index: int
    room: Room
    seqs: set[int] = field(default_factory=set)
    live: set[int] = field(default_factory=set)
    duplicates: int = 0  # a message delivered live twice
    overlaps: int = 0  # a seq that came both live and in a page: dropped by seq, as designed
    sio: RawClient | None = None
    connected_at: float | None = None
    caught_up_at: float | None = None
    tries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def contiguous(self) -> int:
        top = 0
        while top + 1 in self.seqs:
            top += 1
        return top

    def take(self, messages: list[dict]) -> None:
        for message in messages:
            if message.get("room_id") != self.room.id:
                continue
            seq = message.get("seq")
            if seq in self.seqs:
                self.overlaps += 1
            elif isinstance(seq, int):
                self.seqs.add(seq)

    def on_event(self, event: str, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("message"), dict):
            message = data["message"]
            if message.get("room_id") != self.room.id:
                return
            seq = message.get("seq")
            if seq in self.live:
                self.duplicates += 1
                return
            self.live.add(seq)
            self.take([message])


async def join(client: Client, session: aiohttp.ClientSession, base: str, timeout: float,
               after_seq: int | None) -> None:
    payload: dict[str, Any] = {"room_id": client.room.id}
    if after_seq is not None:
        payload["after_seq"] = after_seq
    ack = await client.sio.call("chat:join-room", payload, timeout)
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise ClientError(f"join refused: {str(ack)[:200]}")
    client.take(ack.get("messages") or [])
    has_more = bool(ack.get("has_more")) and after_seq is not None
    while has_more:
        page = await must(session, base, "GET",
                          f"/api/chat/rooms/{client.room.id}/messages?after_seq="
                          f"{client.contiguous()}&limit=200", token=client.room.customer_token)
        client.take(page.get("messages") or [])
        has_more = bool(page.get("has_more"))


async def connect(client: Client, session: aiohttp.ClientSession, base: str,
                  timeout: float) -> None:
    client.sio = RawClient(session, base, client.room.customer_token, client.on_event)
    await client.sio.connect(timeout)


async def reconnect(client: Client, session: aiohttp.ClientSession, base: str, start: float,
                    timeout: float, deadline: float) -> None:
    """Connect, join with after_seq and page until caught up; retry with socket.io's
    backoff (1 s doubling to 5 s, jittered) after a failed try."""
    delay = 1.0
    while time.monotonic() < deadline:
        client.tries += 1
        try:
            await connect(client, session, base, timeout)
            client.connected_at = time.monotonic() - start
            await join(client, session, base, timeout, client.contiguous())
            client.caught_up_at = time.monotonic() - start
            return
        except (ClientError, aiohttp.ClientError, OSError, TimeoutError, RuntimeError) as exc:
            reason = f"{type(exc).__name__}: {str(exc)[:80]}"
            client.failures[reason] = client.failures.get(reason, 0) + 1
            client.connected_at = None
            if client.sio is not None:
                await client.sio.close()
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 5.0)
    client.error = "never caught up"


# ----------------------------------------------------------------------------- the storm


class Sender:
    """The staff member on web2: sends into the rooms through its own socket, with acks."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.sio = RawClient(session, base, token, None)
        self.sent = 0
        self.refused: dict[str, int] = {}

    async def start(self) -> None:
        await self.sio.connect(20)

    async def send(self, room_id: int, text: str) -> None:
        ack = await self.sio.call("chat:send-message", {
            "room_id": room_id, "content": text, "client_msg_id": str(uuid.uuid4())}, 30)
        if isinstance(ack, dict) and ack.get("ok"):
            self.sent += 1
        else:
            code = (ack or {}).get("error", {}).get("code", "no_ack") if isinstance(
                ack, dict) else "no_ack"
            self.refused[code] = self.refused.get(code, 0) + 1

    async def round(self, rooms: list[Room], per_room: int, label: str) -> None:
        gate = asyncio.Semaphore(32)

        async def one(room: Room, n: int) -> None:
            async with gate:
                await self.send(room.id, f"{label} {n}")

        await asyncio.gather(*(one(room, n) for n in range(per_room) for room in rooms))

    async def steady(self, rooms: list[Room], rate: float, stop: asyncio.Event) -> None:
        if rate <= 0:
            return
        n = 0
        began = time.monotonic()
        pending: set[asyncio.Task] = set()
        while not stop.is_set():
            due = int((time.monotonic() - began) * rate) + 1
            while n < due:
                task = asyncio.create_task(self.send(rooms[n % len(rooms)].id, f"live {n}"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
            await asyncio.sleep(0.01)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def pin(pgid: int, core: str) -> None:
    for pid in targets.cpu_by_pid(pgid=pgid):
        subprocess.run(["taskset", "-a", "-cp", core, str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


async def storm(stack, args: argparse.Namespace) -> dict:
    base, base2 = stack.base_url, stack.extra_web_url
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        log(f"setting up {args.customers} customers and their rooms")
        staff_token, rooms = await set_up(session, base2, args.customers, args.concurrency)
        clients = [Client(i, rooms[i % len(rooms)]) for i in range(args.clients)]
        sender = Sender(session, base2, staff_token)
        await sender.start()

        log(f"connecting {len(clients)} clients to web")
        gate = asyncio.Semaphore(args.connect_concurrency)

        async def first(client: Client) -> None:
            async with gate:
                await connect(client, session, base, 30)
                await join(client, session, base, 30, 0)

        await asyncio.gather(*(first(c) for c in clients))
        log(f"sending {args.before} message(s) per room while everyone is connected")
        await sender.round(rooms, args.before, "before")
        await asyncio.sleep(2)
        live_missing = sum(1 for c in clients if len(c.seqs) < args.before)

        log("stopping web" + (" (SIGKILL)" if args.kill else ""))
        went_down = time.monotonic()
        if args.kill:
            stack.kill("web")
        else:
            stack.stop("web")
        for client in clients:
            await client.sio.close()
        log(f"sending {args.during} message(s) per room while web is down")
        await sender.round(rooms, args.during, "during")
        log("starting web again")
        proc = await asyncio.to_thread(stack.start, "web")
        if args.pin:
            pin(proc.pgid, "0")
        start = time.monotonic()
        downtime = start - went_down
        log(f"web answers /healthz ({downtime:.1f} s after the stop): "
            f"{len(clients)} clients reconnect at once")
        spy = None
        if args.profile:
            # py-spy (pip install py-spy) samples the restarted web process until settled.
            spy_bin = shutil.which("py-spy") or str(REPO / ".venv" / "bin" / "py-spy")
            spy = subprocess.Popen(
                [spy_bin, "record", "-p", str(proc.pid), "-r", "200", "-f", "raw",
                 "-o", args.profile, "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        stop = asyncio.Event()
        steady = asyncio.create_task(sender.steady(rooms, args.live_rate, stop))
        deadline = start + args.timeout
        cpu_before = sum(targets.cpu_by_pid(pgid=proc.pgid).values())
        await asyncio.gather(*(reconnect(c, session, base, start, args.connect_timeout,
                                         deadline) for c in clients))
        settle = time.monotonic() - start
        web_cpu = sum(targets.cpu_by_pid(pgid=proc.pgid).values()) - cpu_before
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await asyncio.to_thread(spy.wait, 30)
        stop.set()
        await steady
        await asyncio.sleep(3)  # the last live messages reach the clients

        last_seq: dict[int, int] = {}
        for room in rooms:
            after, top = 0, 0
            while True:
                page = await must(session, base2, "GET", f"/api/chat/rooms/{room.id}/messages"
                                  f"?after_seq={after}&limit=200", token=staff_token)
                items = page.get("messages") or []
                if items:
                    top = max(top, max(m["seq"] for m in items))
                    after = items[-1]["seq"]
                if not page.get("has_more"):
                    break
            last_seq[room.id] = top
        missed = {c.index: sorted(set(range(1, last_seq[c.room.id] + 1)) - c.seqs)[:5]
                  for c in clients if not set(range(1, last_seq[c.room.id] + 1)) <= c.seqs}
        await asyncio.gather(*(c.sio.close() for c in clients if c.sio), return_exceptions=True)
        await sender.sio.close()

    connected = [c.connected_at for c in clients if c.connected_at is not None]
    caught = [c.caught_up_at for c in clients if c.caught_up_at is not None]
    failures: dict[str, int] = {}
    for client in clients:
        for reason, count in client.failures.items():
            failures[reason] = failures.get(reason, 0) + count
    return {
        "clients": len(clients), "rooms": len(rooms), "downtime_s": round(downtime, 2),
        "connected": len(connected), "caught_up": len(caught),
        "connect_p50_ms": round(percentile(connected, 0.5) * 1000, 1),
        "connect_p99_ms": round(percentile(connected, 0.99) * 1000, 1),
        "connect_max_ms": round(max(connected, default=float("nan")) * 1000, 1),
        "caught_up_p50_ms": round(percentile(caught, 0.5) * 1000, 1),
        "caught_up_p99_ms": round(percentile(caught, 0.99) * 1000, 1),
        "settle_s": round(settle, 2),
        "web_cpu_s_during_storm": round(web_cpu, 2),
        "tries": sum(c.tries for c in clients), "failed_tries": failures,
        "clients_retried": sum(1 for c in clients if c.tries > 1),
        "never_caught_up": sum(1 for c in clients if c.error),
        "messages": {"before": args.before * len(rooms),
                     "during": args.during * len(rooms), "sent_acked": sender.sent,
                     "refused": sender.refused,
                     "mean_caught_up_per_client": round(statistics.mean(
                         len(c.seqs) for c in clients), 1)},
        "clients_missing_live_before": live_missing,
        "clients_with_a_missed_message": len(missed),
        "missed_examples": dict(list(missed.items())[:5]),
        "duplicates": sum(c.duplicates for c in clients),
        "seen_live_and_in_a_page": sum(c.overlaps for c in clients),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--harness", default=os.environ.get("PERF_HARNESS", "/work/shared/perf"))
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL (else SQLite)")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=400,
                        help="customers (one room each); clients share their tokens")
    parser.add_argument("--before", type=int, default=2, help="messages per room, all online")
    parser.add_argument("--during", type=int, default=3, help="messages per room, web down")
    parser.add_argument("--live-rate", type=float, default=50,
                        help="msg/s the staff member sends during the storm")
    parser.add_argument("--kill", action="store_true", help="SIGKILL web instead of SIGTERM")
    parser.add_argument("--connect-timeout", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds for every client to catch up")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel registrations")
    parser.add_argument("--connect-concurrency", type=int, default=50,
                        help="parallel first connects (before the storm)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="leave web unpinned (default: web on core 0, this on core 1)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--profile", default=None,
                        help="py-spy raw profile of the restarted web process during the storm")
    args = parser.parse_args()

    harness = Path(args.harness)
    sys.path.insert(0, str(harness))
    import stack as perf_stack

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.clients + 512 > hard:
        raise SystemExit(f"{args.clients} clients need more than the fd limit {hard}")
    os.environ["PROJECT_PYTHON_BIN"] = str(REPO / ".venv" / "bin")
    # As project.sh runs it: no send limit in the way; sign-ups are this script's setup.
    os.environ.setdefault("RATE_LIMIT_MESSAGES", "1000000/second")
    os.environ.setdefault("RATE_LIMIT_AUTH", "1000000/minute")
    os.environ.setdefault("RATE_LIMIT_AUTH_IP", "1000000/minute")
    os.environ.setdefault("WEB_MAX_CONNECTIONS", "20000")
    stack = perf_stack.Stack(str(REPO), pg_url=args.pg or "")
    stack.up()
    try:
        stack.start_extra_web()
        if args.pin:
            pin(stack.procs["web"].pgid, "0")
            os.sched_setaffinity(0, {1})
        result = asyncio.run(storm(stack, args))
    finally:
        logs = stack.log_dir
        problems = subprocess.run(
            ["grep", "-h", "-c", "-E", r"ERROR|Traceback|CRITICAL", *(
                str(Path(logs) / f) for f in ("web.log", "web2.log"))],
            capture_output=True, text=True).stdout.split()
        stack.down()
    result["problem_lines_in_web_logs"] = sum(int(n) for n in problems if n.isdigit())
    result["database"] = "PostgreSQL" if args.pg else "SQLite"
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    ok = not (result["clients_with_a_missed_message"] or result["never_caught_up"]
              or result["duplicates"])
    print(f"summary: {'PASS' if ok else 'FAIL'} {result['caught_up']}/{result['clients']} "
          f"caught up, settle {result['settle_s']} s, caught-up p50 "
          f"{result['caught_up_p50_ms']} ms / p99 {result['caught_up_p99_ms']} ms, "
          f"{sum(result['failed_tries'].values())} failed tries")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
