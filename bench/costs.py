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

With ``--web 2`` a second web process (``stack.start_extra_web``) gets half the pairs, its
own load.js: every pair's sockets are on one process, so each delivers locally and the
other hears nothing of that room (per-room subscriptions). The two web processes' CPU per
message is then compared with the one-process figure. With ``--web 2 --cross`` one load.js
goes through a round-robin TCP proxy, so a pair's two sockets land on different processes
and deliveries go through Redis; the message queue's counters (``/_debug/socket-queue``)
say how many deliveries were local and how many remote.

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
             joined: threading.Event) -> dict:
    cmd = ["node", str(harness / "load.js"), "--target", "project", "--url", url,
           "--direction", direction, "--rates", str(rate), "--seconds", str(seconds),
           "--pairs", str(pairs)]
    proc = subprocess.Popen(cmd, cwd=harness, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    result: dict = {}
    for line in proc.stdout:
        if "pairs joined" in line:
            joined.set()
        if line.startswith("{"):
            result = json.loads(line)
    proc.wait()
    return result


class RoundRobinProxy:
    """Hands each new TCP connection to the next of several web processes, so that the
    two sockets of a load.js pair (connected one after the other) land on different
    processes and every message is delivered remotely, through Redis."""

    def __init__(self, ports: list[int]) -> None:
        import socket

        self._socket = socket
        self.ports = ports
        self._next = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            port = self.ports[self._next % len(self.ports)]
            self._next += 1
            upstream = self._socket.create_connection(("127.0.0.1", port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


def deliveries(urls: list[str]) -> dict[str, int]:
    """Socket deliveries so far, summed over the web processes: local and through Redis."""
    import urllib.request

    total = {"local_deliveries": 0, "remote_deliveries": 0, "received": 0}
    for url in urls:
        with urllib.request.urlopen(f"{url}/_debug/socket-queue", timeout=5) as response:
            counters = json.load(response).get("counters", {})
        for key in total:
            total[key] += counters.get(key, 0)
    return total


def measure(stack, harness: Path, urls: list[str], direction: str, rate: int, seconds: float,
            pairs: int, database: str | None, profile: str | None = None) -> dict:
    events = [threading.Event() for _ in urls]
    results: list[dict] = [{} for _ in urls]
    per_process = rate // len(urls)

    def one(index: int) -> None:
        results[index] = run_load(harness, urls[index], direction, per_process, seconds,
                                  pairs // len(urls), events[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for event in events:
        event.wait(600)
    before = Snapshot(stack, database)
    if profile:
        # py-spy (pip install py-spy) samples the web process during the measured step.
        subprocess.Popen(["py-spy", "record", "-p", str(stack.procs["web"].pid), "-r", "200",
                          "-d", str(int(seconds)), "-f", "raw", "-o", profile, "--nonblocking"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for thread in threads:
        thread.join()
    after = Snapshot(stack, database)
    messages = sum(r.get("sent", 0) for r in results) + rate * WARMUP
    return {
        "direction": direction, "rate": rate, "web_processes": len(urls),
        "messages": messages, "window_s": round(after.at - before.at, 2),
        "steps": results,
        "cpu_ms_per_msg": {name: round((after.cpu[name] - before.cpu.get(name, 0)) * 1000
                                       / messages, 3) for name in after.cpu},
        "redis_cmds_per_msg": round((after.redis_calls - before.redis_calls) / messages, 2),
    }


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
    os.environ.setdefault("WEB_MAX_CONNECTIONS", "20000")
    # GET /_debug/socket-queue: how many deliveries were local and how many remote.
    os.environ["SOCKETIO_DEBUG_COUNTERS"] = "1"
    stack = perf_stack.Stack(str(REPO), pg_url=args.pg or "")
    stack.up()
    rows = []
    try:
        urls = [stack.base_url]
        if args.web == 2:
            urls.append(stack.start_extra_web())  # its process group is procs["web2"]
        if args.cross:
            proxy = RoundRobinProxy([int(url.rsplit(":", 1)[1]) for url in urls])
            urls = [f"http://127.0.0.1:{proxy.port}"]
        database = stack.database.name if stack.database else None
        web_urls = [stack.base_url] + ([stack.extra_web_url] if args.web == 2 else [])
        for direction in args.directions.split(","):
            deliveries_before = deliveries(web_urls)
            row = measure(stack, harness, urls, direction, args.rate, args.seconds,
                          args.pairs, database,
                          f"{args.profile}-{direction}.txt" if args.profile else None)
            after = deliveries(web_urls)
            row["deliveries"] = {k: after[k] - deliveries_before[k] for k in after}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        stack.down()
    db = "PostgreSQL" if args.pg else "SQLite"
    shape = f"{args.web} web process(es)" + (", every delivery remote" if args.cross else "")
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
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
