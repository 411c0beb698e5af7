"""How long an occasional SQLite writer waits while another process writes all the time.

The shape of the production stack on SQLite: the web process's message writer commits
batch after batch, and a worker (the automation, the notifier) now and then needs the
write lock for a transaction of its own. The worker's wait is part of every FAQ answer's
and every notification's latency.

One process writes in a loop (each transaction holds the lock ``--hold`` ms, then takes it
again at once); another asks for the lock every ``--every`` ms and records how long it
waited, and how many transactions the busy writer made meanwhile. Strategies:

- ``backoff``: BEGIN IMMEDIATE retried with sleeps that double from 2 ms up to 50 ms (how
  the stack waited before the writer file lock);
- ``flock``: infra.database's WriterFileLock (each waiter polls it every 0.5 ms), then
  BEGIN IMMEDIATE.

    .venv/bin/python bench/sqlite_lock_handoff.py [--seconds 10] [--hold 2] [--every 20]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.database import WriterFileLock  # noqa: E402


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=20")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _begin(conn: sqlite3.Connection, lock: WriterFileLock | None) -> None:
    if lock is not None:
        lock.acquire()
    delay = 0.002
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _commit(conn: sqlite3.Connection, lock: WriterFileLock | None) -> None:
    conn.execute("COMMIT")
    if lock is not None:
        lock.release()


def busy_writer(path: str, strategy: str, hold: float, stop_at: float, count) -> None:  # noqa: ANN001
    conn = _connect(path)
    lock = WriterFileLock(path + "-writer.lock") if strategy == "flock" else None
    while time.monotonic() < stop_at:
        _begin(conn, lock)
        conn.execute("INSERT INTO t (who) VALUES ('busy')")
        time.sleep(hold)
        _commit(conn, lock)
        with count.get_lock():
            count.value += 1


def occasional_writer(path: str, strategy: str, every: float, stop_at: float, out) -> None:  # noqa: ANN001
    conn = _connect(path)
    lock = WriterFileLock(path + "-writer.lock") if strategy == "flock" else None
    waits = []
    while time.monotonic() < stop_at:
        time.sleep(every)
        asked = time.monotonic()
        _begin(conn, lock)
        waits.append(time.monotonic() - asked)
        conn.execute("INSERT INTO t (who) VALUES ('occasional')")
        _commit(conn, lock)
    out.put(waits)


def run(strategy: str, seconds: float, hold: float, every: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        conn = _connect(path)
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
        conn.close()
        stop_at = time.monotonic() + seconds
        count = mp.Value("i", 0)
        out: mp.Queue = mp.Queue()
        busy = mp.Process(target=busy_writer, args=(path, strategy, hold, stop_at, count))
        occasional = mp.Process(target=occasional_writer,
                                args=(path, strategy, every, stop_at, out))
        busy.start()
        occasional.start()
        waits = sorted(out.get(timeout=seconds + 120))
        occasional.join()
        busy.join()
    ms = [w * 1000 for w in waits]
    return {
        "strategy": strategy, "asked": len(ms),
        "wait_p50_ms": round(statistics.median(ms), 2) if ms else None,
        "wait_p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2) if ms else None,
        "wait_max_ms": round(ms[-1], 2) if ms else None,
        "busy_tx_per_s": round(count.value / seconds, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--hold", type=float, default=2, help="ms the busy writer holds the lock")
    p.add_argument("--every", type=float, default=20, help="ms between the occasional asks")
    p.add_argument("--strategies", default="backoff,flock")
    o = p.parse_args()
    print("| strategy | asks | wait p50 ms | wait p99 ms | wait max ms | busy writer tx/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for strategy in o.strategies.split(","):
        r = run(strategy, o.seconds, o.hold / 1000, o.every / 1000)
        print(f"| {r['strategy']} | {r['asked']} | {r['wait_p50_ms']} | {r['wait_p99_ms']} | "
              f"{r['wait_max_ms']} | {r['busy_tx_per_s']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
