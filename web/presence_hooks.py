"""Socket bookkeeping for the web process: actors per sid, presence, forced disconnects."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from actions import presence, presence_events
from actions.actors import Actor
from actions.events import NAMESPACE
from web.extensions import socketio

log = logging.getLogger(__name__)



@dataclass
class SocketState:
    actor: Actor
    # Rooms this socket joined: typing is relayed only there, with no database look-up.
    joined: set[int] = field(default_factory=set)
    # room id -> when "is typing" was last relayed, to throttle what one client makes a room hear.
    typing_at: dict[int, float] = field(default_factory=dict)


# The state of each socket this process holds; looked up on every event, so a dict.
_sockets: dict[str, SocketState] = {}


def state_for(sid: str) -> SocketState | None:
    return _sockets.get(sid)


def connected(sid: str, actor: Actor, token_exp: int) -> None:
    _sockets[sid] = SocketState(actor)
    sock = presence.Socket(sid, actor.id, actor.business_id if actor.is_staff else None,
                           actor.jti or "")
    if presence.store().connect(sock, token_exp):
        presence_events.announce_actor(actor, online=True)


def disconnected(sid: str) -> None:
    state = _sockets.pop(sid, None)
    actor = state.actor if state else None
    result = presence.store().disconnect(sid)
    if actor is not None and result is not None and result[1]:
        presence_events.announce_actor(actor, online=False)


def disconnect_token(jti: str) -> None:
    """Close every live socket opened with this token, on whichever process holds it."""
    for sid in presence.store().sids_for_token(jti):
        socketio.server.disconnect(sid, namespace=NAMESPACE)


def heartbeat_loop(app) -> None:
    """Keep this process marked alive and clear the sockets of processes that died."""
    while True:
        try:
            with app.app_context():
                for sock in presence.store().heartbeat():
                    presence_events.went_offline(sock.user_id)
        except Exception:
            log.exception("presence heartbeat failed")
        socketio.sleep(presence.HEARTBEAT_SECONDS)
