"""Socket.IO namespace /realtime: the connect handshake and the ack error mapping."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import request
from flask_socketio import ConnectionRefusedError, join_room
from marshmallow import Schema, ValidationError

from actions import events, tx
from actions.actors import Actor
from actions.errors import DomainError, InvalidInput, Unauthorized
from actions.events import NAMESPACE
from web import presence_hooks
from web.extensions import socketio
from web.schemas import refuse_nul
from web.tokens import access_claims

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
    except Unauthorized:
        raise ConnectionRefusedError("unauthorized") from None
    actor = Actor.from_claims(claims)
    join_room(events.user_channel(actor.id))
    if actor.is_staff and actor.business_id is not None:
        join_room(events.business_channel(actor.business_id))
        if actor.is_owner:
            join_room(events.owners_channel(actor.business_id))
    presence_hooks.connected(request.sid, actor, claims["exp"])
    log.info("socket connected user=%s role=%s", actor.id, actor.role,
             extra={"event": "socket.connect", "sid": request.sid, "user_id": actor.id,
                    "role": actor.role, "business_id": actor.business_id})


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(*_args: object) -> None:
    presence_hooks.disconnected(request.sid)
    log.info("socket disconnected", extra={"event": "socket.disconnect", "sid": request.sid})


def error_ack(error: DomainError) -> dict:
    return {"ok": False, "error": error.to_dict()}


def socket_event(
    name: str, schema: Schema | None = None, quick: Callable[[dict], dict | None] | None = None
) -> Callable:
    """Register a handler that gets (socket state, payload) and answers with an ack dict.

    ``quick`` may accept the common payload faster than the schema (None: let the
    schema decide). Bad payloads and domain errors become {ok: false, error};
    nothing escapes to crash the socket.
    """

    def decorate(handler: Callable[[presence_hooks.SocketState, dict], dict]) -> Callable:
        @functools.wraps(handler)
        def wrapper(payload: object = None, *_extra: object) -> dict:
            state = presence_hooks.state_for(request.sid)
            try:
                if state is None:
                    raise Unauthorized()
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
            except Exception:
                tx.rollback()
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
