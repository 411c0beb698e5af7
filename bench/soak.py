"""Soak: chat, automation and notifications at a steady rate for ``--minutes`` in the
production shape; memory per process, errors, and messages lost or duplicated.

The stack is the reference harness's (``stack.py``: every Procfile process, a private Redis
as broker and message queue, SQLite or ``--pg`` PostgreSQL). Over the public API: a
business open all day with its default FAQs and auto-responses, ``--staff`` staff members
and ``--customers`` customers, one room each, every socket joined. Then, for the duration:

* ``--rate`` messages/s in all, round-robin over the rooms, alternating a customer message
  (an FAQ question, another question or chit-chat: the automation runs on each) and a staff
  reply, every one with a ``client_msg_id`` and its ack awaited (``--window`` in flight);
* one host-platform event (``POST /api/events``, ``booking.created``) every
  ``--event-every`` seconds, each becoming a ``notification:new`` at the staff sockets.

As the reference harness does, the send limit is lifted (``RATE_LIMIT_MESSAGES``): a
handful of staff members answer every room.

Every ``--sample`` seconds the RSS of each process group is read from ``/proc``. At the end:
each acked message must be in its room's history exactly once (lost: acked but missing;
duplicated: one ``client_msg_id`` twice), each customer question must have at most one FAQ
answer, seqs must be gap-free, every event must have produced its notification; plus the
acks that were not ok (by code) and the problem lines in the processes' logs. Memory growth
is reported from the first sample after ``--warmup`` seconds to the last.

    .venv/bin/python bench/soak.py                                  # SQLite, 10 minutes
    .venv/bin/python bench/soak.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/soak.py --minutes 2 --rate 20            # a quick look

Loopback only; the stack is taken down at the end, also on Ctrl-C.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import targets  # noqa: E402

REPO = targets.REPO
NS = "/realtime"
OTHER = ["Can I bring my dog along?", "Is there parking nearby?", "Hi there!", "Thanks!",
         "Do you do group bookings for eight?", "ok great", "See you then"]
PROBLEM = re.compile(r"\b(ERROR|CRITICAL|Traceback)\b")


def group_rss_mb(pgid: int) -> float:
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                if int(handle.read().rsplit(")", 1)[1].split()[2]) != pgid:
                    continue
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


class Client:
    """One account's socket, joined to its rooms; counts what it receives."""

    def __init__(self, url: str, token: str, rooms: list[int]) -> None:
        self.token = token
        self.sio = socketio.Client(reconnection=True)
        self.notifications: list[dict] = []
        self.sio.on("notification:new", self.notifications.append, namespace=NS)
        self.sio.connect(url, namespaces=[NS], transports=["websocket"],
                         auth={"token": token}, wait_timeout=20)
        for room in rooms:
            ack = self.sio.call("chat:join-room", {"room_id": room}, namespace=NS, timeout=20)
            assert ack and ack.get("ok"), ack


def setup(url: str, staff_count: int, customer_count: int) -> dict:
    run = uuid.uuid4().hex[:6]

    def call(method: str, path: str, body: dict | None = None, token: str | None = None,
             ok: tuple[int, ...] = (200, 201, 202)):
        return targets.expect(targets.api(url, method, path, body, token), ok,
                              f"{method} {path}")

    owner = call("POST", "/api/auth/register", {"email": f"soak-owner-{run}@bench.example",
                                                "password": targets.PASSWORD,
                                                "name": "Soak Owner"})["access_token"]
    hours = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                    "sun")}
    created = call("POST", "/api/businesses", {"name": f"Soak {run}", "timezone": "UTC",
                                               "business_hours": hours}, owner)
    business_id, owner = created["business"]["id"], created["access_token"]
    faqs = [f["question"] for f in call("GET", "/api/chat/faqs", token=owner)["faqs"]]
    staff = []
    for index in range(staff_count):
        email = f"soak-staff-{run}-{index}@bench.example"
        call("POST", f"/api/businesses/{business_id}/staff",
             {"email": email, "password": targets.PASSWORD, "name": f"Staff {index}"}, owner)
        staff.append(call("POST", "/api/auth/login",
                          {"email": email, "password": targets.PASSWORD})["access_token"])
    customers = []
    for index in range(customer_count):
        token = call("POST", "/api/auth/register",
                     {"email": f"soak-customer-{run}-{index}@bench.example",
                      "password": targets.PASSWORD, "name": f"Customer {index}"})["access_token"]
        room = call("POST", "/api/chat/rooms/create", {"business_id": business_id},
                    token)["room"]["id"]
        customers.append((token, room))
    return {"owner": owner, "business_id": business_id, "faqs": faqs, "staff": staff,
            "customers": customers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--harness", default=os.environ.get("PERF_HARNESS", "/work/shared/perf"))
    parser.add_argument("--pg", default=None)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=40, help="messages/s in all [40]")
    parser.add_argument("--event-every", type=float, default=2.0)
    parser.add_argument("--staff", type=int, default=5)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--sample", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    sys.path.insert(0, args.harness)
    import stack as perf_stack

    os.environ["PROJECT_PYTHON_BIN"] = str(REPO / ".venv" / "bin")
    os.environ.setdefault("RATE_LIMIT_AUTH", "1000000/minute")
    os.environ.setdefault("RATE_LIMIT_MESSAGES", "1000000/second")
    stack = perf_stack.Stack(str(REPO), pg_url=args.pg or "")
    stack.up()
    try:
        return soak(stack, args)
    finally:
        stack.down()


def soak(stack, args: argparse.Namespace) -> int:
    url = stack.base_url
    world = setup(url, args.staff, args.customers)
    rooms = [room for _, room in world["customers"]]
    customers = [Client(url, token, [room]) for token, room in world["customers"]]
    staff = [Client(url, token, rooms) for token in world["staff"]]
    print(f"[soak] {len(customers)} customers, {len(staff)} staff joined; "
          f"{args.rate} msg/s for {args.minutes} min", flush=True)

    acked: dict[str, tuple[int, int]] = {}   # client_msg_id -> (room, message id)
    questions: dict[int, int] = {}           # customer message id -> room
    refused: Counter[str] = Counter()
    window = threading.Semaphore(args.window)
    lock = threading.Lock()
    texts = itertools.cycle(world["faqs"][:10] + OTHER)

    def send(client: Client, room: int, content: str, is_customer: bool) -> None:
        client_msg_id = uuid.uuid4().hex

        def done(ack: dict | None) -> None:
            window.release()
            with lock:
                if ack and ack.get("ok"):
                    acked[client_msg_id] = (room, ack["message"]["id"])
                    if is_customer:
                        questions[ack["message"]["id"]] = room
                else:
                    refused[(ack or {}).get("error", {}).get("code", "no ack")] += 1

        window.acquire()
        client.sio.emit("chat:send-message", {"room_id": room, "content": content,
                                              "client_msg_id": client_msg_id},
                        namespace=NS, callback=done)

    rss: dict[str, list[tuple[float, float]]] = {name: [] for name in stack.procs}
    events_sent: list[int] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    next_sample = started
    next_event = started
    index = 0
    while (now := time.monotonic()) < end:
        if now >= next_sample:
            for name, proc in stack.procs.items():
                rss[name].append((now - started, group_rss_mb(proc.pgid)))
            next_sample += args.sample
        if now >= next_event:
            body = {"type": "booking.created", "idempotency_key": uuid.uuid4().hex,
                    "data": {"customer_name": "Ana", "service": "Cut",
                             "starts_at": "2026-12-24T10:00:00Z"}}
            status, reply = targets.api(url, "POST", "/api/events", body, world["owner"])
            if status == 202:
                events_sent.append(reply["audit_log_id"])
            else:
                refused[f"event {status}"] += 1
            next_event += args.event_every
        slot = index // 2 % len(rooms)
        if index % 2 == 0:
            send(customers[slot], rooms[slot], next(texts), True)
        else:
            send(staff[slot % len(staff)], rooms[slot], f"reply {index}", False)
        index += 1
        time.sleep(max(0.0, started + index / args.rate - time.monotonic()))

    for _ in range(args.window):  # every ack back
        window.acquire(timeout=30)
    time.sleep(15)  # automation and notifications drain
    for name, proc in stack.procs.items():
        rss[name].append((time.monotonic() - started, group_rss_mb(proc.pgid)))
    report = check(stack, url, world, acked, questions, refused, events_sent, staff, rss, args)
    for client in customers + staff:
        client.sio.disconnect()
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    clean = (report["lost"], report["duplicated"], report["rooms_with_seq_gaps"],
             report["rooms_over_answered"], report["events_without_notification"])
    return 0 if clean == (0, 0, 0, 0, 0) else 1


def check(stack, url, world, acked, questions, refused, events_sent, staff, rss, args) -> dict:
    by_room: dict[int, list[dict]] = {}
    for token, room in world["customers"]:
        messages: list[dict] = []
        after = 0
        while True:
            status, body = targets.api(url, "GET", f"/api/chat/rooms/{room}/messages"
                                       f"?limit=200&after_seq={after}", token=token)
            assert status == 200, body
            messages += body["messages"]
            if not body["messages"] or not body.get("has_more"):
                break
            after = body["messages"][-1]["seq"]
        by_room[room] = messages
    stored = Counter(m["client_msg_id"] for ms in by_room.values() for m in ms
                     if m.get("client_msg_id"))
    lost = sum(1 for cid in acked if stored[cid] == 0)
    duplicated = sum(1 for cid in acked if stored[cid] > 1)
    gaps = sum(1 for ms in by_room.values()
               if [m["seq"] for m in ms] != list(range(1, len(ms) + 1)))
    # An answer does not name its question; a room with more FAQ answers than customer
    # messages has answered one twice.
    over_answered = sum(
        1 for ms in by_room.values()
        if sum(m["kind"] == "faq" for m in ms) > sum(m["sender_type"] == "customer" for m in ms))
    notified = {n["notification"]["audit_log_id"] for c in staff for n in c.notifications
                if "notification" in n}
    problems = []
    for log in Path(stack.log_dir).glob("*.log"):
        problems += [f"{log.stem}: {line.strip()[:200]}" for line in log.read_text(
            errors="replace").splitlines() if PROBLEM.search(line)]
    memory = {}
    for name, samples in rss.items():
        after_warmup = [mb for t, mb in samples if t >= args.warmup] or [samples[-1][1]]
        memory[name] = {"first_mb": round(samples[0][1], 1),
                        "after_warmup_mb": round(after_warmup[0], 1),
                        "last_mb": round(samples[-1][1], 1),
                        "growth_after_warmup_mb": round(samples[-1][1] - after_warmup[0], 1)}
    return {
        "database": "PostgreSQL" if args.pg else "SQLite", "minutes": args.minutes,
        "rate": args.rate, "acked": len(acked), "customer_messages": len(questions),
        "lost": lost, "duplicated": duplicated, "rooms_with_seq_gaps": gaps,
        "faq_answers": sum(1 for ms in by_room.values() for m in ms if m["kind"] == "faq"),
        "rooms_over_answered": over_answered,
        "bot_messages": sum(1 for ms in by_room.values() for m in ms
                            if m["sender_type"] == "bot"),
        "not_ok_acks": dict(refused), "events": len(events_sent),
        "events_without_notification": len(set(events_sent) - notified),
        "memory": memory, "log_problems": len(problems), "log_problem_samples": problems[:10],
    }


if __name__ == "__main__":
    raise SystemExit(main())
