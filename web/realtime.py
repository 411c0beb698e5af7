"""Socket.IO namespace /realtime: the connect handshake and the ack error mapping."""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, join_room
from marshmallow import Schema, ValidationError

from actions import events
from actions.actors import Actor
from actions.errors import DomainError, InvalidInput, Unauthorized, outage
from actions.events import NAMESPACE
from infra import rate_limits, tx
from web import presence_hooks
from web.extensions import socketio
from web.schemas import refuse_nul
from web.tokens import access_claims, session_of

log = logging.getLogger("realtime")


def _token_from_handshake(auth: object) -> object:
    if isinstance(auth, dict) and auth.get("token"):
        return auth["token"]
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth: object = None) -> None:
    try:
        claims = access_claims(_token_from_handshake(auth))
        actor = Actor.from_claims(claims)
        join_room(events.user_channel(actor.id))
        if actor.is_staff and actor.business_id is not None:
            join_room(events.business_channel(actor.business_id))
            if actor.is_owner:
                join_room(events.owners_channel(actor.business_id))
        presence_hooks.connected(request.sid, actor, session_of(claims), claims["exp"],
                                 _session_exp())
    except Unauthorized:
        raise ConnectionRefusedError("unauthorized") from None
    except Exception as exc:
        tx.rollback()
        if outage(exc) is None:
            raise
        # Refused at once, so the client retries with its backoff; an unanswered connect
        # would leave it waiting for its own timeout (a reconnect storm against a Redis
        # or database that is briefly away).
        log.warning("socket connect refused: %s unavailable (%s)", type(exc).__module__, exc)
        presence_hooks.forget(request.sid)
        raise ConnectionRefusedError("unavailable") from None
    log.info("socket connected user=%s role=%s", actor.id, actor.role,
             extra={"event": "socket.connect", "sid": request.sid, "user_id": actor.id,
                    "role": actor.role, "business_id": actor.business_id})


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(*_args: object) -> None:
    presence_hooks.disconnected(request.sid)
    log.info("socket disconnected", extra={"event": "socket.disconnect", "sid": request.sid})


def _session_exp() -> int:
    """How long the presence index keeps a socket findable by its session: as long as the
    sign-in's refresh token lives, since auth:refresh can keep the socket up that long."""
    lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    seconds = lifetime.total_seconds() if isinstance(lifetime, timedelta) else lifetime
    return int(time.time() + seconds)


def error_ack(error: DomainError) -> dict:
    return {"ok": False, "error": error.to_dict()}


def socket_event(
    name: str, schema: Schema | None = None, quick: Callable[[dict], dict | None] | None = None,
    limited: bool = True,
) -> Callable:
    """Register a handler that gets (socket state, payload) and answers with an ack dict.

    ``quick`` may accept the common payload faster than the schema (None: let the
    schema decide). Bad payloads and domain errors become {ok: false, error};
    nothing escapes to crash the socket. Each event counts against the user's
    RATE_LIMIT_SOCKET_EVENTS before any other work, unless ``limited`` is False
    (an event with a limit of its own, such as a send).
    """

    def decorate(handler: Callable[[presence_hooks.SocketState, dict], dict]) -> Callable:
        @functools.wraps(handler)
        def wrapper(payload: object = None, *_extra: object) -> dict:
            state = presence_hooks.state_for(request.sid)
            try:
                if state is None:
                    raise Unauthorized()
                if presence_hooks.expired(state):
                    # The expiry timer will close it; nothing more is done on this token.
                    socketio.server.disconnect(request.sid, namespace=NAMESPACE)
                    raise Unauthorized("The access token has expired; reconnect with a new one.",
                                       code="unauthorized")
                if limited:
                    rate_limits.hit(current_app.config["SETTINGS"].rate_limit_socket_events,
                                    "socket", state.actor.id)
                if not isinstance(payload, dict):
                    raise InvalidInput("The payload must be an object.")
                refuse_nul(payload)
                data = quick(payload) if quick is not None else None
                if data is None:
                    data = schema.load(payload) if schema is not None else payload
                return {"ok": True, **handler(state, data)}
            except ValidationError as exc:
                tx.rollback()
                return error_ack(InvalidInput(_first_error(exc.messages), details=exc.messages))
            except DomainError as exc:
                tx.rollback()
                return error_ack(exc)
            except Exception as exc:
                tx.rollback()
                if (unavailable := outage(exc)) is not None:
                    log.warning("socket handler %s: %s unavailable (%s)", name,
                                type(exc).__module__, exc)
                    return error_ack(unavailable)
                log.exception("socket handler %s failed", name)
                return {"ok": False, "error": {"code": "internal_error",
                                               "message": "Something went wrong on our side."}}

        socketio.on_event(name, wrapper, namespace=NAMESPACE)
        return wrapper

    return decorate


def _first_error(messages: object) -> str:
    if isinstance(messages, dict):
        for field, value in messages.items():
            inner = value[0] if isinstance(value, list) and value else value
            return f"Invalid input. {field}: {inner}"
    return "Invalid input."


@socket_event("auth:refresh")
def refresh_token(sock: presence_hooks.SocketState, data: dict) -> dict:
    """Hand a live socket the client's next access token, so it outlives the first one."""
    try:
        claims = access_claims(data.get("token"))
    except Unauthorized:
        raise Unauthorized("The token is not a valid access token.") from None
    actor = Actor.from_claims(claims)
    if (actor.id, actor.role, actor.business_id) != (
            sock.actor.id, sock.actor.role, sock.actor.business_id):
        # Another user, or a new role whose rooms this socket did not join: reconnect instead.
        raise Unauthorized("The token belongs to another account or role; reconnect with it.")
    presence_hooks.token_refreshed(request.sid, actor, session_of(claims), claims["exp"],
                                   _session_exp())
    return {"expires_at": claims["exp"]}
