"""CPU cost per message of each process of the production shape: the figures behind
docs/SCALING.md's capacity model.

The stack is the reference harness's (``/work/shared/perf/stack.py``): every Procfile
process, a private Redis as broker and Socket.IO message queue, SQLite or (``--pg``)
PostgreSQL. Its ``load.js`` runs ONE step at ``--rate`` msg/s for ``--seconds`` (after its
2 s warm-up), in each ``--directions``. Around the sending (from "pairs joined" to the
step's result line) this reads the CPU seconds of every process group (web, worker,
notifier, beat: main process and pool children), of redis-server, and on PostgreSQL of the
database's backends, and the Redis command count (``INFO commandstats``). Per message:
CPU ms of each, Redis commands, and the web process's delivery work.

With ``--web 2`` a second web process (``stack.start_extra_web``) gets half the rate and
half the pairs, from its own load.js: every pair's sockets are on one process, so each
delivers locally and the other hears nothing of that room (per-room subscriptions). Each
web process's CPU is given over all messages (``cpu_ms_per_msg``) and over the messages of
its own load.js (``web_cpu_ms_per_own_msg``), to compare with the one-process figure at
the same rate per process. With ``--web 2 --cross`` one load.js goes through
``bench/cross_proxy.js``, which puts every sender on ``web`` and every receiver on
``web2``: ``web``'s CPU is the send path plus one publish, ``web2``'s the remote delivery.
The message queue's counters (``/_debug/socket-queue``) say how many deliveries were
local and how many remote, the proxy how many connections went where.

    .venv/bin/python bench/costs.py                       # SQLite, both directions, 100 msg/s
    .venv/bin/python bench/costs.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/costs.py --web 2 --directions staff-to-customer --rate 200

Loopback only; the stack is taken down at the end, also on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import targets  # noqa: E402

REPO = targets.REPO
CLK_TCK = os.sysconf("SC_CLK_TCK")
WARMUP = 2.0


def group_cpu(pgid: int) -> float:
    return sum(targets.cpu_by_pid(pgid=pgid).values())


def pid_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def redis_commands(port: int) -> int:
    import redis

    stats = redis.Redis(port=port).info("commandstats")
    return sum(entry["calls"] for entry in stats.values())


class Snapshot:
    def __init__(self, stack, database: str | None) -> None:
        self.stack = stack
        self.database = database
        self.at = time.monotonic()
        self.cpu = {name: group_cpu(proc.pgid) for name, proc in stack.procs.items()}
        self.cpu["redis"] = pid_cpu(stack.redis.pid)
        if database:
            self.cpu["postgres"] = sum(targets.cpu_by_pid(title=database).values())
        self.redis_calls = redis_commands(stack.redis_port)


def run_load(harness: Path, url: str, direction: str, rate: int, seconds: float, pairs: int,
             joined: Callable[[], None]) -> dict:
    cmd = ["node", str(harness / "load.js"), "--target", "project", "--url", url,
           "--direction", direction, "--rates", str(rate), "--seconds", str(seconds),
           "--pairs", str(pairs)]
    proc = subprocess.Popen(cmd, cwd=harness, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    result: dict = {}
    for line in proc.stdout:
        if "pairs joined" in line:
            joined()
        if line.startswith("{"):
            result = json.loads(line)
    proc.wait()
    return result


class CrossProxy:
    """``bench/cross_proxy.js`` in front of the two web processes: the REST setup goes to
    the first, websocket connections alternate, so every sender is on the first process and
    every receiver on the second (load.js connects a pair's sender, then its receiver, in
    one tick) and each message is delivered remotely. Node, not Python threads: a proxy in
    this process saturated at a few hundred msg/s and set the latencies it measured."""

    def __init__(self, ports: list[int]) -> None:
        self.proc = subprocess.Popen(
            ["node", str(Path(__file__).resolve().parent / "cross_proxy.js"),
             *(str(p) for p in ports)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError(f"cross_proxy.js did not start: {line!r}")
        self.port = int(line.split()[1])

    def counts(self) -> dict:
        """How many connections went where; ends the proxy."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def deliveries(urls: list[str]) -> dict[str, dict[str, int]]:
    """Socket deliveries so far of each web process, local and through Redis, by URL.
    Two URLs that answer with one process's id are refused: the measurement would be
    of one process twice."""
    import urllib.request

    found: dict[str, dict[str, int]] = {}
    hosts = set()
    for url in urls:
        with urllib.request.urlopen(f"{url}/_debug/socket-queue", timeout=5) as response:
            body = json.load(response)
        hosts.add(body.get("host_id"))
        counters = body.get("counters", {})
        found[url] = {key: counters.get(key, 0)
                      for key in ("local_deliveries", "remote_deliveries", "received")}
    if len(hosts) != len(urls):
        raise SystemExit(f"the web URLs {urls} do not reach {len(urls)} distinct processes")
    return found


def measure(stack, harness: Path, urls: list[str], direction: str, rate: int, seconds: float,
            pairs: int, database: str | None, profile: str | None = None) -> dict:
    """One load.js per URL. The shared processes (workers, Redis, the database) are read
    from the first load.js's "pairs joined" to the last one's end. With one load.js per
    web process, each web process is read over its own load.js's window: the two may not
    start together (sign-ups take a while), and a window shared by both once held one
    load.js's whole step before the other had joined, so its process showed 0 CPU."""
    results: list[dict] = [{} for _ in urls]
    per_process = rate // len(urls)
    first = threading.Event()
    mine = [f"web{i + 1}" if i else "web" for i in range(len(urls))]
    own_cpu: dict[str, list[float]] = {}
    lock = threading.Lock()
    snapshots: list[Snapshot] = []

    def joined(index: int) -> None:
        with lock:
            if not snapshots:
                snapshots.append(Snapshot(stack, database))
            if len(urls) > 1 and mine[index] in stack.procs:
                own_cpu[mine[index]] = [group_cpu(stack.procs[mine[index]].pgid),
                                        time.monotonic()]
        first.set()

    def one(index: int) -> None:
        results[index] = run_load(harness, urls[index], direction, per_process, seconds,
                                  pairs // len(urls), lambda: joined(index))
        name = mine[index]
        with lock:
            if name in own_cpu:
                began_cpu, began = own_cpu[name]
                own_cpu[name] = [group_cpu(stack.procs[name].pgid) - began_cpu,
                                 time.monotonic() - began]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    first.wait(600)
    if profile:
        # py-spy (pip install py-spy) samples the web process during the measured step.
        subprocess.Popen(["py-spy", "record", "-p", str(stack.procs["web"].pid), "-r", "200",
                          "-d", str(int(seconds)), "-f", "raw", "-o", profile, "--nonblocking"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for thread in threads:
        thread.join()
    before = snapshots[0] if snapshots else Snapshot(stack, database)
    after = Snapshot(stack, database)
    # Each load.js sends its share after a warm-up of the same rate.
    own = [r.get("sent", 0) + per_process * WARMUP for r in results]
    messages = sum(own)
    window = after.at - before.at
    spent = {name: after.cpu[name] - before.cpu.get(name, 0) for name in after.cpu}
    windows = {name: window for name in spent}
    for name, (cpu, seconds_own) in own_cpu.items():
        spent[name], windows[name] = cpu, seconds_own
    webs = sorted(name for name in spent if name.startswith("web"))
    row = {
        "direction": direction, "rate": rate, "load_generators": len(urls),
        "messages": messages, "window_s": round(window, 2),
        "steps": results,
        # Every process's CPU over every message sent: what the capacity model adds up.
        "cpu_ms_per_msg": {name: round(cpu * 1000 / messages, 3) for name, cpu in spent.items()},
        "web_cpu_share": {name: round(spent[name] / windows[name], 2) for name in webs},
        "redis_cmds_per_msg": round((after.redis_calls - before.redis_calls) / messages, 2),
    }
    if len(urls) == len(webs) > 1:
        # One load.js per web process: each one's CPU over the messages it carried itself.
        row["web_cpu_ms_per_own_msg"] = {
            name: round(spent[name] * 1000 / own[i], 3) for i, name in enumerate(webs)}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--harness", default=os.environ.get("PERF_HARNESS", "/work/shared/perf"))
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL (else SQLite)")
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--web", type=int, default=1, choices=(1, 2))
    parser.add_argument("--cross", action="store_true",
                        help="with --web 2: each pair's sockets on different processes "
                             "(a round-robin TCP proxy in front), so every delivery is remote")
    parser.add_argument("--directions", default="staff-to-customer,customer-to-staff")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--profile", default=None,
                        help="py-spy raw profile of the web process, <this>-<direction>.txt")
    args = parser.parse_args()

    harness = Path(args.harness)
    if not (harness / "node_modules").is_dir():
        raise SystemExit(f"run `npm ci` in {harness} first (or pass --harness to a copy)")
    sys.path.insert(0, str(harness))
    import stack as perf_stack

    os.environ["PROJECT_PYTHON_BIN"] = str(REPO / ".venv" / "bin")
    # As the reference harness (project.sh) runs it: no send limit in the way of the load.
    os.environ.setdefault("RATE_LIMIT_MESSAGES", "1000000/second")
    # Two load.js set up 50 accounts each: the sign-up limit (20/minute) would stall them
    # for minutes, one of them well into the other's measured step.
    os.environ.setdefault("RATE_LIMIT_AUTH", "1000000/minute")
    os.environ.setdefault("RATE_LIMIT_AUTH_IP", "1000000/minute")
    os.environ.setdefault("WEB_MAX_CONNECTIONS", "20000")
    # GET /_debug/socket-queue: how many deliveries were local and how many remote.
    os.environ["SOCKETIO_DEBUG_COUNTERS"] = "1"
    stack = perf_stack.Stack(str(REPO), pg_url=args.pg or "")
    proxy: CrossProxy | None = None
    stack.up()
    rows = []
    try:
        urls = [stack.base_url]
        if args.web == 2:
            urls.append(stack.start_extra_web())  # its process group is procs["web2"]
        if args.cross:
            proxy = CrossProxy([int(url.rsplit(":", 1)[1]) for url in urls])
            urls = [f"http://127.0.0.1:{proxy.port}"]
        database = stack.database.name if stack.database else None
        web_urls = [stack.base_url] + ([stack.extra_web_url] if args.web == 2 else [])
        for direction in args.directions.split(","):
            deliveries_before = deliveries(web_urls)
            row = measure(stack, harness, urls, direction, args.rate, args.seconds,
                          args.pairs, database,
                          f"{args.profile}-{direction}.txt" if args.profile else None)
            after = deliveries(web_urls)
            row["deliveries"] = {
                name: {k: after[url][k] - deliveries_before[url][k] for k in after[url]}
                for name, url in zip(("web", "web2"), web_urls, strict=False)}
            if proxy is not None:
                row["connections"] = proxy.counts()
                proxy = CrossProxy([int(url.rsplit(":", 1)[1]) for url in web_urls])
                urls = [f"http://127.0.0.1:{proxy.port}"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if proxy is not None:
            proxy.counts()
        stack.down()
    db = "PostgreSQL" if args.pg else "SQLite"
    shape = f"{args.web} web process(es)" + (
        ", senders on web, receivers on web2: every delivery remote" if args.cross else "")
    print(f"\nCPU ms per message, {db}, {args.rate} msg/s, {shape}")
    names = sorted({name for row in rows for name in row["cpu_ms_per_msg"]})
    print("| direction | " + " | ".join(names) + " | Redis cmds/msg | acked | p99 ack ms |")
    print("| --- " * (len(names) + 4) + "|")
    for row in rows:
        acked = sum(s.get("acked", 0) for s in row["steps"])
        p99 = max((s.get("ack_p99", 0) for s in row["steps"]), default=0)
        print(f"| {row['direction']} | " + " | ".join(
            f"{row['cpu_ms_per_msg'].get(n, 0):.2f}" for n in names)
            + f" | {row['redis_cmds_per_msg']} | {acked} | {p99} |")
    for row in rows:
        print(f"{row['direction']}: web CPU share {row['web_cpu_share']}"
              + (f", web CPU ms per message it carried {row['web_cpu_ms_per_own_msg']}"
                 if "web_cpu_ms_per_own_msg" in row else "")
              + f", deliveries {row['deliveries']}"
              + (f", connections {row['connections']}" if "connections" in row else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
