"""The web process's websocket transport: eventlet's, with two costs taken out.

- Compression: a client's permessage-deflate offer is answered with no.
- Unmasking: every frame a client sends is masked, and eventlet undoes the mask one byte
  at a time, a bytes object per byte; here it is one XOR of two integers.
"""
from __future__ import annotations

from engineio.async_drivers import eventlet as eventlet_driver
from eventlet.websocket import RFC6455WebSocket


class UncompressedWebSocket(eventlet_driver.WebSocketWSGI):
    """Engine.IO's eventlet websocket, answering a client's permessage-deflate offer with no.

    Browsers and the Node client offer it on every connection; accepted, each socket keeps
    its own zlib compressor for life (about 90 KB of the process's memory per idle socket,
    more than all the rest of the socket together) and every chat frame of a few hundred
    bytes is compressed on its way out. Node's socket.io server declines it by default for
    the same reason. A client that is told no simply sends and receives plain frames.
    """

    def _negotiate_permessage_deflate(self, extensions: object) -> None:
        return None


def apply_mask(data: bytes, mask: bytes, length: int | None = None, offset: int = 0) -> bytes:
    """``data[:length]`` XORed with the 4-byte ``mask`` repeated, starting ``offset`` bytes
    into it: what ``RFC6455WebSocket._apply_mask`` computes, without a loop in Python."""
    if length is None:
        length = len(data)
    shift = offset % 4
    key = (mask[shift:] + mask[:shift]) * (length // 4 + 1)
    value = int.from_bytes(data[:length], "little") ^ int.from_bytes(key[:length], "little")
    return value.to_bytes(length, "little")


def install() -> None:
    """Make every engineio server in eventlet mode build its websockets this way (the web
    process has one server, so this is its transport setting)."""
    eventlet_driver._async["websocket"] = UncompressedWebSocket
    RFC6455WebSocket._apply_mask = staticmethod(apply_mask)
