"""Channel names and the write-only publisher, without processes."""
from __future__ import annotations

from tests.helpers import NAMESPACE as NS
from tests.processes import free_port
from web.socket_queue_wire import Channels, QueueEmitter, looks_like_sid, redis_db


def test_channels_carry_the_deployment_name_and_the_redis_database() -> None:
    db0 = Channels.for_deployment("bookingchat", "redis://127.0.0.1:6379/0")
    db1 = Channels.for_deployment("bookingchat", "redis://127.0.0.1:6379/1")
    other = Channels.for_deployment("staging", "rediss://:pw@example.com:6380/1")
    assert db0.control != db1.control != other.control
    assert db0.room(NS, "room:5") != db1.room(NS, "room:5")
    assert "flask-socketio" not in db0.control
    assert redis_db("redis://localhost") == 0
    assert redis_db("unix:///tmp/redis.sock?db=3") == 3


def test_sids_broadcasts_and_room_lists_go_on_the_control_channel() -> None:
    channels = Channels.for_deployment("bookingchat", "redis://127.0.0.1:6379/2")
    sid = "AbCdEfGhIjKlMnOpQr-_"
    assert looks_like_sid(sid)
    assert channels.for_target(NS, sid) == channels.control
    assert channels.for_target(NS, None) == channels.control
    assert channels.for_target(NS, ["room:1", "room:2"]) == channels.control
    assert channels.for_target(NS, "business:3:owners") == channels.room(
        NS, "business:3:owners")


def test_a_worker_emit_without_redis_is_dropped_not_raised() -> None:
    emitter = QueueEmitter(f"redis://127.0.0.1:{free_port()}/0")
    emitter.emit("notification:new", {"notification": {}}, NS, room="business:1")
    assert (emitter.published, emitter.dropped) == (0, 1)
