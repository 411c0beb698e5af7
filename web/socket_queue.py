"""The web process's Socket.IO client manager over Redis: local first, one channel per room.

python-socketio's RedisManager publishes every emit on one shared channel that every web
process reads, the sender included, so each process does the work of all of them. Here, as
in socket.io's Node Redis adapter:

- an emit is delivered at once to this process's sockets and published only for the others;
  a process skips its own publications (``host`` in the message);
- a process subscribes to a room's channel while one of its sockets is in that room, so a
  process with nobody in a room does no work for it; broadcasts, single sids and requests
  about remote sids (disconnect, enter or leave a room) use the deployment's control channel;
- channel names carry the deployment (``SOCKETIO_CHANNEL`` and the Redis database number).

One listener task owns the subscriber connection: it reads, and it reconnects with a short
bounded backoff. SUBSCRIBE and UNSUBSCRIBE are written to that connection by whichever green
thread joins or leaves a room, under a lock, while the listener is blocked reading it; eventlet
allows one reader and one writer on a socket at a time, and nothing here reconnects but the
listener. After a lost connection the listener subscribes again to everything it needs and
tells every local socket ``connection:resync``, so clients catch up by ``after_seq``.

Publishing never blocks or raises into the emitter: messages go to an outbox that a
background task sends, each batch through one pipeline (what a hub turn emitted), and are
dropped with a log line while Redis is away.
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
import uuid

from engineio import packet as eio_packet
from socketio import Manager

from web import socket_queue_wire as wire

log = logging.getLogger(__name__)

RESYNC_EVENT = "connection:resync"
BACKOFF_FIRST = 0.05
BACKOFF_CAP = 1.0
PING_SECONDS = 5.0  # a silent connection is pinged; two silent intervals mean it is dead
SUBSCRIBE_WAIT = 1.0  # a join waits this long at most for its room's subscription
OUTBOX_LIMIT = 10_000
BATCH_LIMIT = 500

COUNTER_NAMES = (
    "received",           # messages read from Redis, on any channel
    "own_skipped",        # ... of them published by this process (not delivered again)
    "remote_emits",       # emits from other processes handled here
    "remote_deliveries",  # packets those put on local sockets
    "local_emits",        # emits made in this process
    "local_deliveries",   # packets those put on local sockets
    "published",          # messages sent to Redis
    "publish_dropped",    # messages dropped because Redis failed or the outbox was full
    "requests",           # disconnect / enter / leave / close requests handled for others
    "reconnects",         # subscriber connections re-established after a loss
    "resyncs",            # connection:resync rounds sent to local sockets
)


class RoomQueueManager(Manager):
    name = "bookingchat-redis"

    def __init__(self, url: str, channel_name: str = wire.DEFAULT_CHANNEL,
                 resync_namespaces: tuple[str, ...] = ("/",)) -> None:
        super().__init__()
        self.redis_url = url
        self.channels = wire.Channels.for_deployment(channel_name, url)
        self.host_id = uuid.uuid4().hex
        self.resync_namespaces = tuple(resync_namespaces)
        self.counters = dict.fromkeys(COUNTER_NAMES, 0)
        # Channels this process needs, and those Redis confirmed on the current connection.
        self._wanted: set[str] = {self.channels.control}
        self._confirmed: set[str] = set()
        self._state = "starting"  # "up" while connected, "down" after a loss until back
        self._lost = False  # a loss happened since the last full subscription: resync then
        self._conn = None
        self._listener_ident: int | None = None
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._outbox: collections.deque[tuple[str, str]] = collections.deque()
        self._outbox_ready = threading.Event()
        self._flusher_started = False
        self._closing = False
        self._publisher: wire.Publisher | None = None
        self._drops = wire.DropLog("socket queue")

    # ------------------------------------------------------------------ lifecycle

    def initialize(self) -> None:
        super().initialize()
        if self.server.async_mode == "eventlet":
            from eventlet.patcher import is_monkey_patched

            if not is_monkey_patched("socket"):
                raise RuntimeError("the Redis message queue needs eventlet's monkey patching")
        self.server.start_background_task(self._listen_forever)
        self._start_flusher()

    def close(self) -> None:
        """Stop the listener and the flusher (tests; a web process just exits)."""
        self._closing = True
        self._outbox_ready.set()
        with self._send_lock:
            conn = self._conn
        if conn is not None:
            conn.disconnect()  # wakes the listener out of its read

    def stats(self) -> dict:
        """Counters and subscriptions, for tests and the debug endpoint."""
        with self._send_lock:
            channels = sorted(self._wanted)
        return {"host_id": self.host_id, "state": self._state, "counters": dict(self.counters),
                "subscriptions": len(channels), "channels": channels,
                "outbox": len(self._outbox)}

    # ------------------------------------------------------------------ emitting

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None,
             **kwargs):
        room = to or room
        namespace = namespace or "/"
        if callback is not None:
            # Acks cross no process boundary: only this process's sockets can answer one.
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                callback=callback)
        encoded = wire.encode_event(event, data, namespace, self._packet_class())
        self.counters["local_emits"] += 1
        self.counters["local_deliveries"] += self._deliver(namespace, room, skip_sid, encoded)
        if kwargs.get("ignore_queue"):
            return None
        if isinstance(room, str) and self.is_sid_room(namespace, room):
            return None  # that socket is here, and only here
        self._publish(self.channels.for_target(namespace, room),
                      wire.emit_message(self.host_id, namespace, room, skip_sid, encoded))
        return None

    def _packet_class(self) -> type | None:
        return self.server.packet_class if self.server is not None else None  # None: default

    def _deliver(self, namespace: str, room: object, skip_sid: object, encoded: list) -> int:
        if namespace not in self.rooms:
            return 0
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        packets = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in encoded]
        delivered = 0
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip:
                for pkt in packets:
                    self.server._send_eio_packet(eio_sid, pkt)
                delivered += 1
        return delivered

    def _publish(self, channel: str, message: str) -> None:
        if len(self._outbox) >= OUTBOX_LIMIT:
            self.counters["publish_dropped"] += 1
            self._drops.failed(1, RuntimeError("outbox full"))
            return
        self._outbox.append((channel, message))
        if not self._flusher_started:
            self._start_flusher()
        self._outbox_ready.set()

    def _start_flusher(self) -> None:
        with self._send_lock:
            if self._flusher_started or self.server is None:
                return
            self._flusher_started = True
        self.server.start_background_task(self._flush_forever)

    def _flush_forever(self) -> None:
        self._publisher = wire.Publisher(self.redis_url)
        while not self._closing:
            self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                batch = [self._outbox.popleft()
                         for _ in range(min(BATCH_LIMIT, len(self._outbox)))]
                try:
                    self._publisher.publish(batch)
                    self.counters["published"] += len(batch)
                except Exception as exc:  # noqa: BLE001 - remote delivery is best effort
                    self.counters["publish_dropped"] += len(batch)
                    self._drops.failed(len(batch), exc)

    # ------------------------------------------------------------------ sids and rooms

    def _is_local(self, sid: str, namespace: str) -> bool:
        return self.is_connected(sid, namespace) or self.is_pre_connected(sid, namespace)

    def can_disconnect(self, sid, namespace):
        namespace = namespace or "/"
        if self._is_local(sid, namespace):
            return super().can_disconnect(sid, namespace)
        self._request("disconnect", namespace, self.channels.control, sid=sid)
        return False

    def disconnect(self, sid, namespace, **kwargs):
        namespace = namespace or "/"
        if kwargs.get("ignore_queue") or self._is_local(sid, namespace):
            return self.basic_disconnect(sid, namespace)
        self._request("disconnect", namespace, self.channels.control, sid=sid)
        return None

    def enter_room(self, sid, namespace, room, eio_sid=None):
        if not self._is_local(sid, namespace):
            self._request("enter_room", namespace, self.channels.control, sid=sid, room=room)
            return None
        result = super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if room is not None and room != sid:
            # Subscribed before the join answers: the handler reads the history after
            # joining, so a message sent meanwhile must arrive as an event.
            self._await_subscription(self.channels.room(namespace, room))
        return result

    def leave_room(self, sid, namespace, room):
        if not self._is_local(sid, namespace):
            self._request("leave_room", namespace, self.channels.control, sid=sid, room=room)
            return None
        return super().leave_room(sid, namespace, room)

    def close_room(self, room, namespace):
        super().close_room(room, namespace)
        self._request("close_room", namespace, self.channels.for_target(namespace, room),
                      room=room)

    def _request(self, method: str, namespace: str, channel: str, **fields: object) -> None:
        self._publish(channel, wire.request_message(self.host_id, method, namespace, **fields))

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):
        fresh = room is not None and room != sid and room not in self.rooms.get(namespace, {})
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if fresh:
            self._subscribe(self.channels.room(namespace, room))

    def basic_leave_room(self, sid, namespace, room):
        existed = room is not None and room != sid and room in self.rooms.get(namespace, {})
        super().basic_leave_room(sid, namespace, room)
        if existed and room not in self.rooms.get(namespace, {}):
            self._unsubscribe(self.channels.room(namespace, room))

    # ------------------------------------------------------------------ subscriptions

    def _subscribe(self, channel: str) -> None:
        with self._send_lock:
            if channel in self._wanted:
                return
            self._wanted.add(channel)
            self._send(self._conn, "SUBSCRIBE", channel)

    def _unsubscribe(self, channel: str) -> None:
        with self._send_lock:
            if channel not in self._wanted:
                return
            self._wanted.discard(channel)
            self._send(self._conn, "UNSUBSCRIBE", channel)
        with self._cond:
            self._confirmed.discard(channel)

    @staticmethod
    def _send(conn, *args: object) -> None:
        """Write a command on the subscriber connection; the caller holds the send lock.

        Without a live socket nothing is sent: the listener subscribes to everything wanted
        when it connects. A failed write closes the connection, which wakes the listener.
        """
        if conn is None or getattr(conn, "_sock", None) is None:
            return
        try:
            conn.send_packed_command(conn.pack_command(*args), check_health=False)
        except Exception as exc:  # noqa: BLE001 - the listener reconnects
            log.warning("socket queue: cannot send %s (%s)", args[0], exc)

    def _await_subscription(self, channel: str) -> None:
        if threading.get_ident() == self._listener_ident:
            return  # the listener itself reads the confirmation: never wait there
        with self._cond:
            self._cond.wait_for(lambda: channel in self._confirmed or self._state == "down",
                                timeout=SUBSCRIBE_WAIT)

    # ------------------------------------------------------------------ listening

    def _listen_forever(self) -> None:
        import redis

        from web.config import redis_ssl_options

        self._listener_ident = threading.get_ident()
        pool = redis.ConnectionPool.from_url(
            self.redis_url, socket_connect_timeout=1, socket_timeout=10,
            socket_keepalive=True, **(redis_ssl_options(self.redis_url) or {}),
            # RESP2: redis-py 8 speaks RESP3 by default, and there its parser consumes
            # pub/sub pushes itself instead of returning them from read_response.
            protocol=2)
        backoff = BACKOFF_FIRST
        last_logged = 0.0
        while not self._closing:
            conn = None
            try:
                conn = pool.make_connection()
                conn.connect()
                with self._send_lock:
                    pending = set(self._wanted)
                    conn.send_command("SUBSCRIBE", *sorted(pending), check_health=False)
                    self._conn = conn
                with self._cond:
                    self._state = "up"
                    self._cond.notify_all()
                backoff = BACKOFF_FIRST
                self._read(conn, pending)
            except Exception as exc:  # noqa: BLE001 - anything here means: reconnect
                if self._closing:
                    break
                if not self._lost or time.monotonic() - last_logged > 10:
                    last_logged = time.monotonic()
                    log.warning("socket queue: no subscriber connection (%s: %s); retrying",
                                type(exc).__name__, exc)
                self._lost = True
            finally:
                with self._send_lock:
                    if self._conn is conn:
                        self._conn = None
                with self._cond:
                    self._confirmed.clear()
                    self._state = "down"
                    self._cond.notify_all()
                if conn is not None:
                    conn.disconnect()
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP)

    def _read(self, conn, pending: set[str]) -> None:
        """Read until the connection fails; ``pending``: the first SUBSCRIBE's channels."""
        waiting_pong = False
        while True:
            if getattr(conn, "_sock", None) is None:
                raise ConnectionError("connection closed")
            if not conn.can_read(timeout=PING_SECONDS):
                if waiting_pong:
                    raise TimeoutError("Redis did not answer PING")
                with self._send_lock:
                    self._send(conn, "PING")
                waiting_pong = True
                continue
            reply = conn.read_response(disconnect_on_error=False)
            waiting_pong = False
            kind = reply[0]
            if kind == b"message":
                self._on_message(reply[2])
            elif kind == b"subscribe":
                channel = reply[1].decode()
                with self._cond:
                    self._confirmed.add(channel)
                    self._cond.notify_all()
                if pending:
                    pending.discard(channel)
                    if not pending:
                        self._subscribed_all()
            elif kind == b"unsubscribe":
                channel = reply[1].decode()
                with self._send_lock:
                    still_wanted = channel in self._wanted
                if not still_wanted:
                    with self._cond:
                        self._confirmed.discard(channel)

    def _subscribed_all(self) -> None:
        """Every channel is back after a loss: tell the local sockets to catch up."""
        if not self._lost:
            return
        self._lost = False
        self.counters["reconnects"] += 1
        log.warning("socket queue: subscriber reconnected; asking local sockets to resync")
        encoded_by_ns = {ns: wire.encode_event(RESYNC_EVENT, {}, ns, self._packet_class())
                         for ns in self.resync_namespaces}
        for namespace, encoded in encoded_by_ns.items():
            self._deliver(namespace, None, None, encoded)
        self.counters["resyncs"] += 1

    def _on_message(self, data: bytes) -> None:
        self.counters["received"] += 1
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("socket queue: ignored a message that is not JSON")
            return
        if not isinstance(message, dict):
            return
        if message.get("host") == self.host_id:
            self.counters["own_skipped"] += 1
            return
        try:
            self._handle(message)
        except Exception:
            log.exception("socket queue: handling a %s message failed", message.get("method"))

    def _handle(self, message: dict) -> None:
        method, namespace = message.get("method"), message.get("ns") or "/"
        if method == "emit":
            self.counters["remote_emits"] += 1
            self.counters["remote_deliveries"] += self._deliver(
                namespace, message.get("room"), message.get("skip"),
                wire.decoded_packets(message))
            return
        sid, room = message.get("sid"), message.get("room")
        if method == "close_room":
            self.counters["requests"] += 1
            super().close_room(room, namespace)
        elif sid is not None and self._is_local(sid, namespace):
            self.counters["requests"] += 1
            if method == "disconnect":
                self.server.disconnect(sid, namespace=namespace, ignore_queue=True)
            elif method == "enter_room":
                super().enter_room(sid, namespace, room)
            elif method == "leave_room":
                super().leave_room(sid, namespace, room)


def client_manager(redis_url: str | None, channel_name: str,
                   namespaces: tuple[str, ...]) -> RoomQueueManager | None:
    """The manager for a web process; None (python-socketio's in-memory one) when embedded."""
    if not redis_url:
        return None
    return RoomQueueManager(redis_url, channel_name, resync_namespaces=namespaces)


def register_debug_counters(app, socketio) -> None:
    """GET /_debug/socket-queue: this process's counters; only with SOCKETIO_DEBUG_COUNTERS."""

    def socket_queue_counters():
        manager = socketio.server.manager if socketio.server is not None else None
        if not isinstance(manager, RoomQueueManager):
            return {"manager": type(manager).__name__}
        return {"manager": manager.name, **manager.stats()}

    app.add_url_rule("/_debug/socket-queue", "socket_queue_counters", socket_queue_counters)
