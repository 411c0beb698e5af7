"""Socket bookkeeping for the web process: actors per sid, presence, forced disconnects."""
from __future__ import annotations

import heapq
import logging
import threading
import time
from dataclasses import dataclass

from actions import presence_events
from actions.actors import Actor
from actions.events import NAMESPACE
from infra import presence
from web.extensions import socketio

log = logging.getLogger(__name__)


_NONE: frozenset[int] = frozenset()


@dataclass(slots=True)
class SocketState:
    """What this process knows of one of its sockets. Most sockets sit idle, and a process
    holds ten thousand of them, so the room set and the typing times are made on first use."""

    actor: Actor
    # The sign-in its token belongs to (what logout ends), and when that token expires.
    session: str = ""
    expires_at: float = float("inf")
    # Rooms this socket joined: typing is relayed only there, with no database look-up.
    joined: frozenset[int] | set[int] = _NONE
    # room id -> when "is typing" was last relayed, to throttle what one client makes a room hear.
    typing_at: dict[int, float] | None = None

    def join(self, room_id: int) -> None:
        if not self.joined:
            self.joined = set()
        self.joined.add(room_id)

    def leave(self, room_id: int) -> None:
        if room_id in self.joined:
            self.joined.discard(room_id)

    def typed(self, room_id: int, at: float | None) -> None:
        """Record when "is typing" was last relayed in the room (None: stopped typing)."""
        if at is not None:
            if self.typing_at is None:
                self.typing_at = {}
            self.typing_at[room_id] = at
        elif self.typing_at:
            self.typing_at.pop(room_id, None)

    def last_typed(self, room_id: int) -> float | None:
        return self.typing_at.get(room_id) if self.typing_at else None


# The state of each socket this process holds; looked up on every event, so a dict.
_sockets: dict[str, SocketState] = {}


def state_for(sid: str) -> SocketState | None:
    return _sockets.get(sid)


def _presence_record(sid: str, actor: Actor, session: str) -> presence.Socket:
    # Filed under the session, so logout finds the sockets of every token of that sign-in.
    return presence.Socket(sid, actor.id, actor.business_id if actor.is_staff else None, session)


def connected(sid: str, actor: Actor, session: str, token_exp: int, session_exp: int) -> None:
    # Filed in the presence store first: if that fails the connect is refused, and a socket
    # that never connected gets no disconnect to remove its state here.
    first = presence.store().connect(_presence_record(sid, actor, session), session_exp)
    _sockets[sid] = SocketState(actor, session, float(token_exp))
    expire_at(sid, token_exp)
    if first:
        presence_events.announce_actor(actor, online=True)


def token_refreshed(sid: str, actor: Actor, session: str, token_exp: int,
                    session_exp: int) -> None:
    """A live socket now runs on a newer token of the same user: move its expiry."""
    state = _sockets.get(sid)
    if state is None:
        return
    if session != state.session:
        # Re-filed under the new sign-in; the user stays online throughout, so no announcement.
        store = presence.store()
        store.disconnect(sid)
        store.connect(_presence_record(sid, actor, session), session_exp)
    state.actor, state.session, state.expires_at = actor, session, float(token_exp)
    expire_at(sid, token_exp)


def disconnected(sid: str) -> None:
    state = _sockets.pop(sid, None)
    actor = state.actor if state else None
    result = presence.store().disconnect(sid)
    if actor is not None and result is not None and result[1]:
        presence_events.announce_actor(actor, online=False)


def forget(sid: str) -> None:
    """Undo what a refused connect may have filed; the presence record only if the store
    answers (a record of a process that lives on is otherwise left until logout or expiry)."""
    _sockets.pop(sid, None)
    try:
        presence.store().disconnect(sid)
    except Exception as exc:  # noqa: BLE001 - the store is what failed the connect
        log.warning("presence record of refused socket %s not removed (%s)", sid, exc)


def disconnect_session(session: str) -> None:
    """Close every live socket of this sign-in, on whichever process holds it."""
    for sid in presence.store().sids_for_token(session):
        socketio.server.disconnect(sid, namespace=NAMESPACE)


def disconnect_user(user_id: int) -> None:
    """Close this process's sockets of the user (log out everywhere); the other processes'
    are found by session through disconnect_session."""
    for sid in [sid for sid, state in _sockets.items() if state.actor.id == user_id]:
        socketio.server.disconnect(sid, namespace=NAMESPACE)


# --- token expiry: one timer for all the sockets of this process ---------------------------

_expiries: list[tuple[float, str]] = []  # a heap of (token expiry, sid); stale entries skipped
_expiry_lock = threading.Lock()
_expiry_loop_started = False
EXPIRY_CHECK_SECONDS = 1.0


def expire_at(sid: str, token_exp: float) -> None:
    global _expiry_loop_started
    with _expiry_lock:
        heapq.heappush(_expiries, (float(token_exp), sid))
        start = not _expiry_loop_started
        _expiry_loop_started = True
    if start:
        socketio.start_background_task(_expiry_loop)


def expired(state: SocketState, now: float | None = None) -> bool:
    return state.expires_at <= (time.time() if now is None else now)


def expiry_due() -> list[str]:
    """The sockets whose token has expired (and was not replaced by auth:refresh)."""
    now = time.time()
    due = []
    with _expiry_lock:
        while _expiries and _expiries[0][0] <= now:
            _, sid = heapq.heappop(_expiries)
            state = _sockets.get(sid)
            if state is not None and expired(state, now):
                due.append(sid)
    return due


def _expiry_loop() -> None:
    while True:
        try:
            for sid in expiry_due():
                log.info("socket token expired", extra={"event": "socket.expired", "sid": sid})
                socketio.server.disconnect(sid, namespace=NAMESPACE)
        except Exception:
            log.exception("socket expiry check failed")
        socketio.sleep(EXPIRY_CHECK_SECONDS)


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
