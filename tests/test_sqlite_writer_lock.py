"""SQLite's writers queue across processes on a file lock (infra.database.WriterFileLock):
one holder at a time, the next one in as soon as it is free, a dead holder's lock freed by
the kernel, and a web process that waits for it keeps serving (the hub does not stop)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from infra.database import WriterFileLock

ROOT = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent("""
    import sys, time
    from infra.database import WriterFileLock
    lock = WriterFileLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    sys.stdin.readline()  # until the test says so (or closes the pipe)
    lock.release()
    print("released", flush=True)
    time.sleep(30)
""")


def _holder(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "chat.db-writer.lock"


def test_one_process_at_a_time_and_the_next_gets_it_once_free(lock_path: Path) -> None:
    holder = _holder(lock_path)
    try:
        lock = WriterFileLock(str(lock_path))
        with pytest.raises(TimeoutError):
            lock.acquire(timeout=0.3)  # another process holds it
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        lock.acquire(timeout=5)
        lock.release()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_process_that_died_is_free(lock_path: Path) -> None:
    holder = _holder(lock_path)
    holder.kill()  # SIGKILL while holding it
    holder.wait()
    lock = WriterFileLock(str(lock_path))
    lock.acquire(timeout=5)
    lock.release()


def test_the_lock_file_is_private(lock_path: Path) -> None:
    lock = WriterFileLock(str(lock_path))
    lock.acquire()
    lock.release()
    assert lock_path.stat().st_mode & 0o077 == 0


WAITER_UNDER_EVENTLET = textwrap.dedent("""
    import eventlet
    eventlet.monkey_patch()
    import sys, time
    from infra.database import WriterFileLock

    ticks = 0

    def ticker():
        global ticks
        while True:
            ticks += 1
            eventlet.sleep(0.01)

    eventlet.spawn(ticker)
    eventlet.sleep(0)
    lock = WriterFileLock(sys.argv[1])
    print("waiting", flush=True)
    started = time.monotonic()
    lock.acquire(timeout=10)  # the holder lets go after about a second
    waited = time.monotonic() - started
    print(f"{waited:.3f} {ticks}", flush=True)
""")


def test_a_green_thread_waiting_for_the_lock_does_not_stop_the_hub(lock_path: Path) -> None:
    holder = _holder(lock_path)
    try:
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAITER_UNDER_EVENTLET, str(lock_path)], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert waiter.stdout.readline().strip() == "waiting"
        time.sleep(1.0)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        out, err = waiter.communicate(timeout=20)
        assert waiter.returncode == 0, err
        waited, ticks = out.split()
        # While it waited (about a second) the other green thread kept running: it ticks
        # every 10 ms, so a stopped hub would show one or two ticks.
        assert float(waited) > 0.5
        assert int(ticks) >= 0.3 * float(waited) / 0.01
    finally:
        holder.kill()
        holder.wait()


def _busy_writer(path: str, stop, done) -> None:  # noqa: ANN001 - multiprocessing objects
    lock = WriterFileLock(path)
    while not stop.is_set():
        lock.acquire()
        time.sleep(0.002)  # a transaction
        with done.get_lock():
            done.value += 1
        lock.release()  # and straight back for the next one


def test_a_busy_writer_cannot_keep_the_lock_from_another_process(lock_path: Path) -> None:
    """Fair: while a process waits for the lock, a writer that takes it again the moment
    it lets go (the web process under load) finishes at most the transaction it is in."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    stop, done = context.Event(), context.Value("i", 0)
    busy = context.Process(target=_busy_writer, args=(str(lock_path), stop, done))
    busy.start()
    try:
        deadline = time.monotonic() + 10
        while done.value < 5:
            assert time.monotonic() < deadline, "the busy writer never started"
            time.sleep(0.01)
        lock = WriterFileLock(str(lock_path))
        meanwhile = []
        for _ in range(20):
            before = done.value
            lock.acquire(timeout=10)
            meanwhile.append(done.value - before)
            lock.release()
            time.sleep(0.005)
        assert max(meanwhile) <= 2, meanwhile
    finally:
        stop.set()
        busy.join(timeout=10)
