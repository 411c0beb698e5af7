"""The Socket.IO message queue's wire: a deployment's channel names, the message format, and
the Redis publisher that web processes and workers share.

A message is one JSON object. ``host`` names the publishing process, so a process can skip
its own publications; an emit carries the Socket.IO packet already encoded, so a receiving
process hands it to its sockets without serialising the payload again.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from socketio import packet as sio_packet

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "bookingchat"

# engineio's generate_id: 15 random bytes in URL-safe base64, so 20 characters, no padding.
_SID_LIKE = re.compile(r"^[A-Za-z0-9_-]{20}$")


def redis_db(url: str) -> int:
    """The database number a Redis URL selects (0 unless it names one)."""
    from redis.connection import parse_url

    try:
        return int(parse_url(url).get("db") or 0)
    except (ValueError, TypeError):
        # Sentinel URLs and the like: /<db>/<service> in the path.
        parts = [p for p in urlparse(url).path.split("/") if p]
        return int(parts[0]) if parts and parts[0].isdigit() else 0


def looks_like_sid(room: object) -> bool:
    return isinstance(room, str) and _SID_LIKE.match(room) is not None


@dataclass(frozen=True)
class Channels:
    """Channel names of one deployment.

    Redis pub/sub ignores the database number, so it is part of the prefix: two deployments
    on db 0 and db 1 of one server would otherwise hear each other.
    """

    prefix: str

    @classmethod
    def for_deployment(cls, name: str, redis_url: str) -> Channels:
        return cls(f"{name}:{redis_db(redis_url)}")

    @property
    def control(self) -> str:
        """Every process listens here: broadcasts, single sids, remote room changes."""
        return f"{self.prefix}#control"

    def room(self, namespace: str, room: object) -> str:
        return f"{self.prefix}#{namespace}#{room}"

    def for_target(self, namespace: str, room: object) -> str:
        """Where an emit to ``room`` goes: its room's channel, or the control channel for a
        broadcast, a single sid (sids have no channel) or a list of rooms (one copy each)."""
        if isinstance(room, str) and not looks_like_sid(room):
            return self.room(namespace, room)
        return self.control


def packet_args(data: object) -> list:
    """Socket.IO event arguments, as python-socketio's Manager.emit builds them."""
    if isinstance(data, tuple):
        return list(data)
    if data is None:
        return []
    return [data]


def encode_event(event: str, data: object, namespace: str,
                 packet_class: type | None = None) -> list:
    """The encoded Socket.IO packet(s) of an event: a str, then any binary attachments."""
    encoded = (packet_class or sio_packet.Packet)(sio_packet.EVENT, namespace=namespace,
                           data=[event, *packet_args(data)]).encode()
    return encoded if isinstance(encoded, list) else [encoded]


def emit_message(host_id: str, namespace: str, room: object, skip_sid: object,
                 encoded: list) -> str:
    message = {"host": host_id, "method": "emit", "ns": namespace, "room": room,
               "skip": skip_sid, "pkt": encoded[0]}
    if len(encoded) > 1:
        message["att"] = [base64.b64encode(part).decode() for part in encoded[1:]]
    return json.dumps(message, separators=(",", ":"))


def request_message(host_id: str, method: str, namespace: str, **fields: object) -> str:
    """disconnect, enter_room, leave_room, close_room: done by the process holding the sid."""
    return json.dumps({"host": host_id, "method": method, "ns": namespace, **fields},
                      separators=(",", ":"))


def decoded_packets(message: dict) -> list:
    return [message["pkt"], *(base64.b64decode(a) for a in message.get("att", ()))]


def redis_client(url: str):
    """A client that fails fast: an emit is a hint, so a dead Redis must not hold anyone up."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from web.config import redis_ssl_options

    # One immediate retry: enough to replace a connection that a Redis restart closed.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2,
                                socket_keepalive=True, retry=Retry(NoBackoff(), 1),
                                **(redis_ssl_options(url) or {}))


class DropLog:
    """Logs the first failure, then at most one summary every ``every`` seconds."""

    def __init__(self, what: str, every: float = 10.0) -> None:
        self.what = what
        self.every = every
        self._lock = threading.Lock()
        self._dropped = 0
        self._last = 0.0

    def failed(self, count: int, exc: BaseException) -> None:
        with self._lock:
            self._dropped += count
            now = time.monotonic()
            if now - self._last < self.every:
                return
            dropped, self._dropped, self._last = self._dropped, 0, now
        log.warning("%s: Redis unavailable, dropped %d message(s) for other processes (%s)",
                    self.what, dropped, exc)


class Publisher:
    """Sends messages on the deployment's channels, a batch at a time through a pipeline."""

    def __init__(self, redis_url: str) -> None:
        self.redis = redis_client(redis_url)

    def publish(self, batch: list[tuple[str, str]]) -> None:
        """Raises what Redis raises; the caller decides what dropping means."""
        if len(batch) == 1:
            self.redis.publish(*batch[0])
            return
        pipe = self.redis.pipeline(transaction=False)
        for channel, message in batch:
            pipe.publish(channel, message)
        pipe.execute()


class QueueEmitter:
    """A write-only member of the message queue, for processes without sockets (workers).

    It publishes synchronously and never raises: an emit is a hint, and the database holds
    what a client catches up on.
    """

    def __init__(self, redis_url: str, channel_name: str = DEFAULT_CHANNEL) -> None:
        self.channels = Channels.for_deployment(channel_name, redis_url)
        self.host_id = uuid.uuid4().hex
        self.publisher = Publisher(redis_url)
        self.published = 0
        self.dropped = 0
        self._drops = DropLog("socket queue (write-only)")

    def emit(self, event: str, data: object, namespace: str, room: object = None,
             skip_sid: object = None) -> None:
        message = emit_message(self.host_id, namespace, room, skip_sid,
                               encode_event(event, data, namespace))
        try:
            self.publisher.publish([(self.channels.for_target(namespace, room), message)])
            self.published += 1
        except Exception as exc:  # noqa: BLE001 - a hint is dropped, never raised
            self.dropped += 1
            self._drops.failed(1, exc)
