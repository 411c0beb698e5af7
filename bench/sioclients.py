"""Two interchangeable Socket.IO clients for the load generator.

``RawClient`` speaks Engine.IO 4 / Socket.IO 5 text frames directly over an aiohttp
websocket. It exists because python-socketio's client spawns an asyncio task per
incoming packet, which on a 2-core box makes the load generator, not the server, the
bottleneck. ``SioClient`` wraps python-socketio's ``AsyncClient`` and is kept to
cross-check that the raw client measures the same thing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

NAMESPACE = "/realtime"
WANTED_EVENT = "chat:new-message"
WANTED_PREFIX = f'["{WANTED_EVENT}"'
EventHandler = Callable[[str, Any], None]
AckCallback = Callable[[Any], None]


class ClientError(RuntimeError):
    """Connecting or joining failed; the message says what the server answered."""


class RawClient:
    """Minimal websocket-only Socket.IO client: connect, emit (with ack), call, and
    ``chat:new-message`` events (the only event the bench measures)."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str,
        on_event: EventHandler | None,
    ) -> None:
        self._session = session
        self._url = base_url.replace("http://", "ws://", 1).rstrip("/")
        self._token = token
        self._on_event = on_event
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._acks: dict[int, AckCallback] = {}
        self._next_id = 0
        self._event_prefix = f"42{NAMESPACE},"
        self._ack_prefix = f"43{NAMESPACE},"
        self.closed_reason: str | None = None

    async def connect(self, timeout: float) -> None:
        url = f"{self._url}/socket.io/?EIO=4&transport=websocket"
        self._ws = await self._session.ws_connect(
            url, autoping=True, heartbeat=None, compress=0, max_msg_size=0,
            # No receive timeout on the connection: an idle socket hears only the server's
            # ping every 25 s. The handshake below has its own timeouts.
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
        )
        opening = await self._ws.receive_str(timeout=timeout)
        if not opening.startswith("0"):
            raise ClientError(f"unexpected engine.io open packet: {opening[:200]!r}")
        await self._ws.send_str(f"40{NAMESPACE},{json.dumps({'token': self._token})}")
        async with asyncio.timeout(timeout):
            while True:
                frame = await self._ws.receive_str()
                if frame == "2":
                    await self._ws.send_str("3")
                elif frame.startswith(f"40{NAMESPACE},"):
                    break
                elif frame.startswith(f"44{NAMESPACE},"):
                    raise ClientError(f"namespace connect refused: {frame[4 + len(NAMESPACE):]}")
        self._reader = asyncio.create_task(self._read())

    async def emit(self, event: str, data: Any, callback: AckCallback | None = None) -> None:
        assert self._ws is not None
        body = json.dumps([event, data], separators=(",", ":"))
        if callback is None:
            await self._ws.send_str(self._event_prefix + body)
            return
        self._next_id += 1
        self._acks[self._next_id] = callback
        await self._ws.send_str(f"{self._event_prefix}{self._next_id}{body}")

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(resp: Any) -> None:
            if not fut.done():
                fut.set_result(resp)

        await self.emit(event, data, done)
        return await asyncio.wait_for(fut, timeout)

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            try:
                await self._ws.send_str(f"41{NAMESPACE},")
            except (ConnectionError, RuntimeError):
                pass
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        assert self._ws is not None
        ws, ev_prefix, ack_prefix = self._ws, self._event_prefix, self._ack_prefix
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame: str = msg.data
            if frame.startswith(ev_prefix):
                # Senders pass no handler: skipping json.loads for their own echoes keeps the
                # load generator's CPU for the frames that are actually measured.
                # The app also pushes business-wide events to staff sockets; only
                # chat:new-message is worth decoding.
                if self._on_event is not None:
                    body = frame[len(ev_prefix):].lstrip("0123456789")
                    if body.startswith(WANTED_PREFIX):
                        args = json.loads(body)
                        self._on_event(args[0], args[1] if len(args) > 1 else None)
            elif frame.startswith(ack_prefix):
                rest = frame[len(ack_prefix):]
                cut = rest.index("[")
                callback = self._acks.pop(int(rest[:cut]), None)
                if callback is not None:
                    args = json.loads(rest[cut:])
                    callback(args[0] if args else None)
            elif frame == "2":
                await ws.send_str("3")
            elif frame == "1" or frame.startswith(f"41{NAMESPACE}"):
                self.closed_reason = "server closed the connection"
                break
        if self.closed_reason is None:
            self.closed_reason = f"websocket closed ({ws.close_code})"


class SioClient:
    """python-socketio ``AsyncClient`` behind the same interface as ``RawClient``."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str,
        on_event: EventHandler | None,
    ) -> None:
        import socketio  # only needed with --client sio

        del session  # AsyncClient manages its own aiohttp session
        self._url = base_url
        self._token = token
        self._sio = socketio.AsyncClient(reconnection=False)
        self.closed_reason: str | None = None
        if on_event is not None:
            self._sio.on(
                WANTED_EVENT, lambda data=None: on_event(WANTED_EVENT, data),
                namespace=NAMESPACE,
            )

    async def connect(self, timeout: float) -> None:
        try:
            await self._sio.connect(
                self._url, namespaces=[NAMESPACE], transports=["websocket"],
                auth={"token": self._token}, wait_timeout=timeout,
            )
        except Exception as exc:  # socketio raises its own ConnectionError subclasses
            raise ClientError(f"connect failed: {exc}") from exc

    async def emit(self, event: str, data: Any, callback: AckCallback | None = None) -> None:
        wrapped = None if callback is None else (lambda *a: callback(a[0] if a else None))
        await self._sio.emit(event, data, namespace=NAMESPACE, callback=wrapped)

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        return await self._sio.call(event, data, namespace=NAMESPACE, timeout=timeout)

    async def close(self) -> None:
        await self._sio.disconnect()


CLIENTS: dict[str, type[RawClient] | type[SioClient]] = {"raw": RawClient, "sio": SioClient}
