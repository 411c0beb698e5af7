"""The websocket transport of a real web process: what it agrees to in the handshake, and
how it answers a connect while Redis is away."""
from __future__ import annotations

import base64
import os
import socket
import time
from urllib.parse import urlsplit

import socketio

from tests.helpers import NAMESPACE
from tests.helpers.cluster import Cluster, conversation, wait_until


def _handshake(url: str, extensions: str) -> tuple[str, bytes]:
    """A websocket upgrade on the Engine.IO path; the response head and the first frame's
    first byte (FIN, RSV1-3 and the opcode)."""
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
               f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Extensions: {extensions}\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            assert chunk, f"the server closed the connection: {data!r}"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        while not rest:
            rest = conn.recv(4096)
            assert rest, "no frame after the handshake"
    return head.decode("latin-1"), rest[:1]


def test_a_permessage_deflate_offer_is_declined_and_frames_stay_plain(cluster: Cluster) -> None:
    head, first = _handshake(cluster.urls["a"],
                             "permessage-deflate; client_max_window_bits")
    assert head.startswith("HTTP/1.1 101"), head
    assert "sec-websocket-extensions" not in head.lower(), head
    # The Engine.IO open packet: a final text frame with RSV1 clear (not compressed).
    assert first[0] == 0x81, hex(first[0])


def _try_connect(url: str, token: str) -> tuple[bool, list, float]:
    client = socketio.Client(reconnection=False)
    refusals: list = []
    client.on("connect_error", refusals.append, namespace=NAMESPACE)
    started = time.monotonic()
    try:
        client.connect(url, namespaces=[NAMESPACE], transports=["websocket"],
                       auth={"token": token}, wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return False, refusals, time.monotonic() - started
    client.disconnect()
    return True, refusals, time.monotonic() - started


def test_a_connect_while_redis_is_away_is_refused_at_once_then_accepted_again(
        cluster: Cluster) -> None:
    chat = conversation(cluster.api("a"))  # accounts made while Redis is up
    cluster.redis.stop()
    try:
        connected, refusals, took = _try_connect(cluster.urls["a"], chat.customer)
        assert not connected
        # Refused with a reason the client retries on, not left to its own 10 s timeout.
        assert refusals == [{"message": "unavailable"}], refusals
        assert took < 8, took
    finally:
        cluster.redis.start()
    wait_until(lambda: _try_connect(cluster.urls["a"], chat.customer)[0], timeout=20,
               what="a connect to be accepted once Redis is back")
