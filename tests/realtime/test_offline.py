"""The web process's queue manager with Redis away: in-process, threading mode, a closed port."""
from __future__ import annotations

import time

import socketio

from tests.helpers import NAMESPACE as NS
from tests.helpers.cluster import wait_until
from tests.processes import free_port
from web.socket_queue import RoomQueueManager


def test_an_emit_while_redis_is_down_reaches_local_sockets_and_never_raises() -> None:
    manager = RoomQueueManager(f"redis://127.0.0.1:{free_port()}/0", resync_namespaces=(NS,))
    server = socketio.Server(client_manager=manager, async_mode="threading")
    sent: list[tuple[str, object]] = []
    server._send_eio_packet = lambda eio_sid, pkt: sent.append((eio_sid, pkt.data))
    manager.initialize()
    try:
        wait_until(lambda: manager.stats()["state"] == "down", what="the listener to give up")
        sid = manager.connect("eio-1", NS)
        started = time.monotonic()
        server.enter_room(sid, "room:1", namespace=NS)
        assert time.monotonic() - started < 0.5  # a join does not wait on a Redis that is away
        assert any(c.endswith("#/realtime#room:1") for c in manager.stats()["channels"])

        server.emit("chat:new-message", {"message": {"content": "hi"}}, to="room:1",
                    namespace=NS)

        assert sent == [("eio-1", '2/realtime,["chat:new-message",{"message":{"content":"hi"}}]')]
        wait_until(lambda: manager.counters["publish_dropped"] == 1,
                   what="the copy for other processes to be dropped")
        assert manager.counters["local_deliveries"] == 1
    finally:
        manager.close()
