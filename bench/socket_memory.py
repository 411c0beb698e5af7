"""Where the web process's memory per idle authenticated socket goes.

Starts a private Redis, a fresh SQLite database and the web process with ``REDIS_URL``
set (the production shape, as the reference harness's ``sockets`` scenario runs it), but
through ``bench/traced_web.py``, which answers SIGUSR1 with a probe: VmRSS, live objects
by type and, with ``--frames N``, a tracemalloc snapshot. It registers ``--users``
customers, then opens authenticated websocket-only Socket.IO connections on /realtime in
steps (``--steps 1000,2000``: the total held after each step), waits ``--settle`` s and
probes after each step. Printed: RSS per socket between consecutive probes, the object
types that grew per socket, and (with ``--frames``) the tracemalloc allocation sites that
grew most between the last two probes, grouped by traceback.

    .venv/bin/python bench/socket_memory.py                          # RSS and object counts
    .venv/bin/python bench/socket_memory.py --frames 12 --top 25     # + allocation sites

tracemalloc slows the process and adds its own bookkeeping to RSS: take RSS figures from
a run without ``--frames`` (or from the harness: ``project.sh sockets``).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
import targets  # noqa: E402
from sioclients import RawClient  # noqa: E402

REPO = targets.REPO


def register_users(base: str, n: int) -> list[str]:
    run = secrets.token_hex(4)
    return [str(targets.expect(targets.api(
        base, "POST", "/api/auth/register",
        {"email": f"idle{i}-{run}@bench.example", "password": targets.PASSWORD,
         "name": f"Idle {i}"}), (200, 201), "register")["access_token"]) for i in range(n)]


def probe(pid: int, out: Path, index: int, timeout: float = 300) -> dict:
    os.kill(pid, signal.SIGUSR1)
    path = out / f"probe-{index}.json"
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the web process wrote no probe")
        time.sleep(0.2)
    return json.loads(path.read_text())


async def open_sockets(session: aiohttp.ClientSession, base: str, tokens: list[str],
                       start: int, stop: int, batch: int, clients: list[RawClient]) -> int:
    failed = 0
    for first in range(start, stop, batch):
        group = [RawClient(session, base, tokens[i % len(tokens)], None)
                 for i in range(first, min(stop, first + batch))]
        results = await asyncio.gather(*(c.connect(20) for c in group), return_exceptions=True)
        for client, result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                failed += 1
            else:
                clients.append(client)
    return failed


def print_types(before: dict, after: dict, sockets: int, top: int) -> None:
    grown = {name: after["types"].get(name, 0) - before["types"].get(name, 0)
             for name in after["types"]}
    rows = sorted(((n, c) for n, c in grown.items() if c > 0), key=lambda r: -r[1])[:top]
    print("  objects per socket by type: " + ", ".join(
        f"{name} {count / sockets:.2f}" for name, count in rows))


def print_sites(out: Path, first: int, second: int, sockets: int, top: int) -> None:
    filters = [tracemalloc.Filter(False, tracemalloc.__file__),
               tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]
    old = tracemalloc.Snapshot.load(str(out / f"probe-{first}.snapshot")).filter_traces(filters)
    new = tracemalloc.Snapshot.load(str(out / f"probe-{second}.snapshot")).filter_traces(filters)
    for key in ("filename", "lineno", "traceback"):
        stats = new.compare_to(old, key)
        total = sum(s.size_diff for s in stats)
        print(f"\n## tracemalloc by {key}: {total / sockets / 1024:.2f} KB per socket in all")
        for stat in stats[:top]:
            if stat.size_diff <= 0:
                continue
            where = stat.traceback.format(limit=12) if key == "traceback" else [
                str(stat.traceback[0])]
            print(f"{stat.size_diff / sockets:9.0f} B/socket {stat.count_diff / sockets:6.2f} "
                  f"blocks/socket  " + ("\n    ".join(where) if key == "traceback"
                                         else where[0]))


async def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="socket-memory-"))
    redis = targets.start_redis(tmp) if args.target == "app" else None
    web = None
    probe_script = [targets.venv_bin("python"), str(REPO / "bench" / "traced_web.py")]
    try:
        port = targets.free_port()
        if redis is not None:
            env = targets.app_env(port, f"sqlite:///{tmp / 'app.db'}", redis.url, [])
            env.pop("LOG_LEVEL", None)  # the level the harness leaves: the default
            env["WEB_MAX_CONNECTIONS"] = "20000"
            targets.upgrade_db(tmp, env)
            command = probe_script
        else:
            env = dict(os.environ)
            command = [*probe_script, str(Path(args.harness) / "relay_flask.py"), str(port),
                       "20000"]
        env.update({"MEMPROBE_DIR": str(tmp), "MEMPROBE_FRAMES": str(args.frames)})
        web = targets._spawn(args.target, command, env, tmp / f"{args.target}.log", port)
        web.wait_healthy(timeout=120)
        tokens = register_users(web.url, args.users) if redis is not None else ["relay"]
        clients: list[RawClient] = []
        probes = [probe(web.pid, tmp, 1)]
        print(f"{args.target} pid {web.pid}, log {web.log}; before any socket: RSS "
              f"{probes[0]['rss_kb']} KB", flush=True)
        held = 0
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            for index, target in enumerate(int(s) for s in args.steps.split(",")):
                failed = await open_sockets(session, web.url, tokens, held, target, args.batch,
                                            clients)
                await asyncio.sleep(args.settle)
                alive = sum(1 for c in clients if c.closed_reason is None)
                probes.append(probe(web.pid, tmp, index + 2))
                grown = target - held
                before, after = probes[-2], probes[-1]
                per = (after["rss_kb"] - before["rss_kb"]) / max(grown, 1)
                traced = ""
                if after["traced"] is not None:
                    traced = (f", traced Python memory "
                              f"{(after['traced'] - before['traced']) / grown / 1024:.2f} KB "
                              "per socket")
                print(f"{target} sockets asked, {len(clients)} connected ({failed} failed), "
                      f"{alive} open after {args.settle:.0f} s: RSS {after['rss_kb']} KB, "
                      f"{per:.1f} KB per socket over the last {grown}{traced}", flush=True)
                print_types(before, after, grown, args.top)
                held = target
            if args.frames > 0 and len(probes) >= 3:
                print_sites(tmp, len(probes) - 1, len(probes), held - int(
                    args.steps.split(",")[-2]), args.top)
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    finally:
        if web is not None:
            web.stop()
        if redis is not None:
            redis.stop()
    print(f"logs in {tmp}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("app", "relay"), default="app",
                        help="the project's web process, or the harness's bare Flask relay")
    parser.add_argument("--harness", default=os.environ.get("PERF_HARNESS", "/work/shared/perf"))
    parser.add_argument("--steps", default="1000,2000")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--frames", type=int, default=0,
                        help="tracemalloc frames per allocation (0: no tracemalloc)")
    parser.add_argument("--top", type=int, default=20)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
