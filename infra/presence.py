"""Who is connected, across every web process.

With Redis each web process keeps its sockets under its own id and a heartbeat
key; when a process dies its heartbeat expires and a sweep by any survivor
removes its sockets, so a crash never leaves a user online for good. Without
Redis (the embedded mode) one process holds everything in memory.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

HEARTBEAT_SECONDS = 15
ALIVE_TTL_SECONDS = 45


@dataclass(frozen=True)
class Socket:
    sid: str
    user_id: int
    business_id: int | None
    jti: str


class MemoryPresence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[str, Socket] = {}
        self._by_user: dict[int, set[str]] = defaultdict(set)
        self._by_token: dict[str, set[str]] = defaultdict(set)

    def connect(self, sock: Socket, token_exp: int) -> bool:
        with self._lock:
            self._sockets[sock.sid] = sock
            self._by_user[sock.user_id].add(sock.sid)
            self._by_token[sock.jti].add(sock.sid)
            return len(self._by_user[sock.user_id]) == 1

    def disconnect(self, sid: str) -> tuple[Socket, bool] | None:
        with self._lock:
            sock = self._sockets.pop(sid, None)
            if sock is None:
                return None
            self._by_user[sock.user_id].discard(sid)
            self._by_token[sock.jti].discard(sid)
            last = not self._by_user[sock.user_id]
            if last:
                del self._by_user[sock.user_id]
            if not self._by_token[sock.jti]:
                del self._by_token[sock.jti]
            return sock, last

    def sids_for_token(self, jti: str) -> list[str]:
        with self._lock:
            return list(self._by_token.get(jti, ()))

    def online_user_ids(self, business_id: int | None = None) -> list[int]:
        with self._lock:
            return sorted(
                {
                    s.user_id
                    for s in self._sockets.values()
                    if business_id is None or s.business_id == business_id
                }
            )

    def is_online(self, user_id: int) -> bool:
        with self._lock:
            return bool(self._by_user.get(user_id))

    def any_online(self, user_ids: list[int]) -> bool:
        return any(self.is_online(uid) for uid in user_ids)

    def count(self, business_id: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for s in self._sockets.values()
                if business_id is None or s.business_id == business_id
            )

    def heartbeat(self) -> list[Socket]:
        return []


class RedisPresence:
    def __init__(self, client, prefix: str = "rt:") -> None:
        self.r = client
        self.p = prefix
        self.proc = uuid.uuid4().hex[:12]

    def _member(self, sock: Socket) -> str:
        return f"{self.proc}|{sock.sid}|{sock.user_id}"

    def connect(self, sock: Socket, token_exp: int) -> bool:
        p, member = self.p, self._member(sock)
        pipe = self.r.pipeline()
        pipe.sadd(f"{p}procs", self.proc)
        pipe.set(f"{p}alive:{self.proc}", int(time.time()), ex=ALIVE_TTL_SECONDS)
        pipe.hset(
            f"{p}socks:{self.proc}", sock.sid, f"{sock.user_id}|{sock.business_id or ''}|{sock.jti}"
        )
        pipe.sadd(f"{p}user:{sock.user_id}", member)
        if sock.business_id:
            pipe.sadd(f"{p}biz:{sock.business_id}", member)
        pipe.sadd(f"{p}jti:{sock.jti}", f"{self.proc}|{sock.sid}")
        pipe.expireat(f"{p}jti:{sock.jti}", int(token_exp) + 60)
        pipe.scard(f"{p}user:{sock.user_id}")
        return pipe.execute()[-1] == 1

    def _remove(self, proc: str, sid: str, raw: str) -> tuple[Socket, bool]:
        user, business, jti = raw.split("|", 2)
        sock = Socket(sid, int(user), int(business) if business else None, jti)
        member, p = f"{proc}|{sid}|{user}", self.p
        pipe = self.r.pipeline()
        pipe.hdel(f"{p}socks:{proc}", sid)
        pipe.srem(f"{p}user:{user}", member)
        if business:
            pipe.srem(f"{p}biz:{business}", member)
        pipe.srem(f"{p}jti:{jti}", f"{proc}|{sid}")
        pipe.scard(f"{p}user:{user}")
        return sock, pipe.execute()[-1] == 0

    def disconnect(self, sid: str) -> tuple[Socket, bool] | None:
        raw = self.r.hget(f"{self.p}socks:{self.proc}", sid)
        if raw is None:
            return None
        return self._remove(self.proc, sid, raw.decode() if isinstance(raw, bytes) else raw)

    def sids_for_token(self, jti: str) -> list[str]:
        members = self.r.smembers(f"{self.p}jti:{jti}")
        return [(m.decode() if isinstance(m, bytes) else m).split("|", 1)[1] for m in members]

    def _users(self, key: str) -> set[int]:
        return {
            int((m.decode() if isinstance(m, bytes) else m).rsplit("|", 1)[1])
            for m in self.r.smembers(key)
        }

    def online_user_ids(self, business_id: int | None = None) -> list[int]:
        if business_id is not None:
            return sorted(self._users(f"{self.p}biz:{business_id}"))
        users: set[int] = set()
        for proc in self._procs():
            for raw in self.r.hvals(f"{self.p}socks:{proc}"):
                users.add(int((raw.decode() if isinstance(raw, bytes) else raw).split("|")[0]))
        return sorted(users)

    def is_online(self, user_id: int) -> bool:
        return self.r.scard(f"{self.p}user:{user_id}") > 0

    def any_online(self, user_ids: list[int]) -> bool:
        if not user_ids:
            return False
        pipe = self.r.pipeline()
        for uid in user_ids:
            pipe.scard(f"{self.p}user:{uid}")
        return any(n > 0 for n in pipe.execute())

    def count(self, business_id: int | None = None) -> int:
        if business_id is not None:
            return self.r.scard(f"{self.p}biz:{business_id}")
        return sum(self.r.hlen(f"{self.p}socks:{proc}") for proc in self._procs())

    def _procs(self) -> list[str]:
        return [
            m.decode() if isinstance(m, bytes) else m for m in self.r.smembers(f"{self.p}procs")
        ]

    def heartbeat(self) -> list[Socket]:
        """Refresh this process's liveness; drop the sockets of processes that died.

        Returns the sockets whose user went offline with them, so the caller can
        announce it.
        """
        self.r.sadd(f"{self.p}procs", self.proc)
        self.r.set(f"{self.p}alive:{self.proc}", int(time.time()), ex=ALIVE_TTL_SECONDS)
        gone: list[Socket] = []
        for proc in self._procs():
            if proc == self.proc or self.r.exists(f"{self.p}alive:{proc}"):
                continue
            for sid, raw in self.r.hgetall(f"{self.p}socks:{proc}").items():
                sid = sid.decode() if isinstance(sid, bytes) else sid
                raw = raw.decode() if isinstance(raw, bytes) else raw
                sock, last = self._remove(proc, sid, raw)
                if last:
                    gone.append(sock)
            self.r.delete(f"{self.p}socks:{proc}")
            self.r.srem(f"{self.p}procs", proc)
        return gone

    def close(self) -> None:
        """Forget this process's sockets on a clean shutdown."""
        for sid, raw in self.r.hgetall(f"{self.p}socks:{self.proc}").items():
            self._remove(
                self.proc,
                sid.decode() if isinstance(sid, bytes) else sid,
                raw.decode() if isinstance(raw, bytes) else raw,
            )
        self.r.delete(f"{self.p}alive:{self.proc}", f"{self.p}socks:{self.proc}")
        self.r.srem(f"{self.p}procs", self.proc)


_store: MemoryPresence | RedisPresence = MemoryPresence()


def configure(redis_url: str | None) -> None:
    global _store
    if redis_url:
        import redis

        # Socket timeouts: a Redis that stops answering fails the call ("unavailable")
        # instead of hanging the request that waits on it.
        pool = redis.BlockingConnectionPool.from_url(
            redis_url, max_connections=32, timeout=10, socket_timeout=3,
            socket_connect_timeout=3)
        _store = RedisPresence(redis.Redis(connection_pool=pool))
    else:
        _store = MemoryPresence()


def store() -> MemoryPresence | RedisPresence:
    return _store
