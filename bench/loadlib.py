"""Load-generator worker: runs sender/receiver pairs in one asyncio loop per process.

The orchestrator (chat_load.py) talks to each worker over a multiprocessing pipe: the
worker connects its pairs and joins the rooms, then runs one ladder step per command and
sends back raw counts and latencies, which the orchestrator merges across workers.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from sioclients import CLIENTS, ClientError

TICK_S = 0.005  # sender pacing granularity: cheap, and far below the latencies we judge
CONNECT_TIMEOUT_S = 15.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int | str = "self") -> float:
    """User+system CPU seconds of a process, from /proc (no psutil needed)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def host_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (all cores), to expose noisy neighbours."""
    with open("/proc/stat") as fh:
        vals = [int(v) for v in fh.readline().split()[1:]]
    return (sum(vals) - vals[3] - vals[4]) / _CLK_TCK


@dataclass
class StepStats:
    """What one worker observed during one ladder step (measured phase only)."""

    tag: str
    sent: int = 0
    acked_ok: int = 0
    ack_err: int = 0
    err_samples: list[str] = field(default_factory=list)
    received: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    last_recv_ns: int = 0
    measure_start_ns: int = 0
    measure_end_ns: int = 0
    lg_cpu_s: float = 0.0
    srv_cpu_s: float = float("nan")
    host_cpu_s: float = float("nan")

    def on_ack(self, resp: Any) -> None:
        if isinstance(resp, dict) and resp.get("ok"):
            self.acked_ok += 1
            return
        self.ack_err += 1
        if len(self.err_samples) < 3:
            self.err_samples.append(repr(resp)[:200])


def _ignore_ack(resp: Any) -> None:
    del resp


@dataclass
class Pair:
    room_id: Any
    sender: Any
    receiver: Any
    current: StepStats | None = None

    def on_event(self, event: str, data: Any) -> None:
        now = time.time_ns()
        st = self.current
        if st is None or event != "chat:new-message" or not isinstance(data, dict):
            return
        msg = data.get("message")
        if not isinstance(msg, dict):
            return
        content = msg.get("content")
        # The app's bots may post into the same room: only our own messages count.
        if not isinstance(content, str) or not content.startswith("bench "):
            return
        if str(msg.get("room_id")) != str(self.room_id):
            return
        parts = content.split(" ")
        if len(parts) < 3 or parts[2] != st.tag or not parts[1].isdigit():
            return  # warm-up or a straggler from an earlier step
        st.received += 1
        st.latencies_ms.append((now - int(parts[1])) / 1e6)
        st.last_recv_ns = now

    async def send(self, tag: str, st: StepStats | None) -> None:
        payload = {
            "room_id": self.room_id,
            "content": f"bench {time.time_ns()} {tag}",
            "client_msg_id": str(uuid.uuid4()),
        }
        # Warm-up asks for acks too, so the server does the same work in both phases.
        cb = st.on_ack if st is not None else _ignore_ack
        await self.sender.emit("chat:send-message", payload, cb)


async def _connect_pairs(
    session: aiohttp.ClientSession, cfg: dict[str, Any],
) -> list[Pair]:
    client_cls = CLIENTS[cfg["client"]]
    pairs: list[Pair] = []
    for spec in cfg["pairs"]:
        pair = Pair(room_id=spec["room_id"], sender=None, receiver=None)
        pair.sender = client_cls(session, cfg["url"], spec["sender_token"], None)
        pair.receiver = client_cls(session, cfg["url"], spec["receiver_token"], pair.on_event)
        pairs.append(pair)
    # Bounded concurrency: the app authenticates every connect, and a thundering herd of
    # connects on a 2-core box only produces spurious timeouts.
    sem = asyncio.Semaphore(8)

    async def join(client: Any, room_id: Any, who: str) -> None:
        async with sem:
            await client.connect(CONNECT_TIMEOUT_S)
            resp = await client.call("chat:join-room", {"room_id": room_id}, CONNECT_TIMEOUT_S)
        if not (isinstance(resp, dict) and resp.get("ok")):
            raise ClientError(f"{who} chat:join-room {room_id!r} failed: {resp!r}"[:400])

    await asyncio.gather(*(
        coro for p in pairs for coro in (
            join(p.receiver, p.room_id, "receiver"), join(p.sender, p.room_id, "sender"))
    ))
    return pairs


async def _send_phase(
    pairs: list[Pair], rate: float, t0: float, t1: float, tag: str, st: StepStats | None,
    rr: list[int],
) -> int:
    """Open-loop pacing on a monotonic schedule; round-robin over pairs so each pair gets
    rate/len(pairs). Returns how many messages were sent."""
    total = int(rate * (t1 - t0))
    sent = 0
    n = len(pairs)
    while sent < total:
        now = time.monotonic()
        if now >= t1 + 2 * TICK_S:  # slack for the last tick; a lagging loadgen stops here
            break
        due = min(total, int((now - t0) * rate) + 1) - sent
        for _ in range(max(0, due)):
            await pairs[rr[0] % n].send(tag, st)
            rr[0] += 1
            sent += 1
        await asyncio.sleep(TICK_S)
    return sent


async def _run_step(pairs: list[Pair], cmd: dict[str, Any], rr: list[int]) -> StepStats:
    rate: float = cmd["rate"]
    warmup: float = cmd["warmup"]
    duration: float = cmd["duration"]
    server_pid: int | None = cmd.get("server_pid")
    # Workers share a wall-clock start so that the per-worker shares add up at once.
    mono_start = time.monotonic() + max(0.0, cmd["start_at"] - time.time())
    st = StepStats(tag=f"s{cmd['index']}m")
    await asyncio.sleep(max(0.0, mono_start - time.monotonic()))
    if warmup > 0:
        await _send_phase(pairs, rate, mono_start, mono_start + warmup, f"s{cmd['index']}w",
                          None, rr)
    for p in pairs:
        p.current = st
    cpu0, host0 = proc_cpu_seconds(), host_cpu_seconds()
    srv0 = proc_cpu_seconds(server_pid) if server_pid else float("nan")
    st.measure_start_ns = time.time_ns()
    m0 = time.monotonic()
    st.sent = await _send_phase(pairs, rate, m0, m0 + duration, st.tag, st, rr)
    st.measure_end_ns = time.time_ns()
    st.lg_cpu_s = proc_cpu_seconds() - cpu0
    st.host_cpu_s = host_cpu_seconds() - host0
    if server_pid:
        st.srv_cpu_s = proc_cpu_seconds(server_pid) - srv0
    deadline = time.monotonic() + cmd["grace"]
    while time.monotonic() < deadline and (
        st.received < st.sent or st.acked_ok + st.ack_err < st.sent
    ):
        await asyncio.sleep(0.02)
    for p in pairs:
        p.current = None
    return st


async def _worker(conn: Connection, cfg: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        pairs: list[Pair] = []
        try:
            pairs = await asyncio.wait_for(_connect_pairs(session, cfg), 120)
        except (ClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            conn.send({"error": f"{type(exc).__name__}: {exc}"})
            return
        conn.send({"ready": True})
        rr = [0]
        try:
            while True:
                cmd = await loop.run_in_executor(None, conn.recv)
                if cmd.get("cmd") != "step":
                    break
                dead = [c.closed_reason for p in pairs for c in (p.sender, p.receiver)
                        if getattr(c, "closed_reason", None)]
                if dead:
                    conn.send({"error": f"{len(dead)} connection(s) closed: {dead[0]}"})
                    break
                try:
                    stats = await _run_step(pairs, cmd, rr)
                except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
                    conn.send({"error": f"connection lost mid-step: {type(exc).__name__}: {exc}"})
                    break
                conn.send({"stats": stats})
        except EOFError:
            pass  # orchestrator went away: just clean up
        finally:
            await asyncio.gather(
                *(c.close() for p in pairs for c in (p.sender, p.receiver)),
                return_exceptions=True,
            )


def worker_main(conn: Connection, cfg: dict[str, Any]) -> None:
    """Entry point of a load-generator process (multiprocessing target)."""
    try:
        asyncio.run(_worker(conn, cfg))
    except KeyboardInterrupt:
        pass
    finally:
        conn.close()
