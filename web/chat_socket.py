"""Chat events on /realtime: join, leave, send, typing, read, pick a suggestion, feedback."""
from __future__ import annotations

import time

from flask import current_app, request
from flask_socketio import join_room, leave_room

from actions import events, faq_feedback, messages, rooms
from actions.errors import Conflict, InvalidInput, NotFound
from web.chat_schemas import FeedbackIn, JoinIn, PickIn, ReadIn, RoomIdIn, SendIn, TypingIn
from web.presence_hooks import SocketState
from web.realtime import socket_event

TYPING_MIN_INTERVAL = 1.0


@socket_event("chat:join-room", JoinIn())
def join(sock: SocketState, data: dict) -> dict:
    actor = sock.actor
    cap = current_app.config["SETTINGS"].max_rooms_per_socket
    if data["room_id"] not in sock.joined and len(sock.joined) >= cap:
        raise Conflict(f"A socket may be in {cap} rooms at once; leave one first.",
                       code="too_many_rooms")
    room = rooms.visible_room(actor, data["room_id"])
    # Join before reading, so a message sent meanwhile arrives as an event (the client
    # drops a seq it already has) rather than falling between the page and the event.
    join_room(events.room_channel(room.id))
    sock.join(room.id)
    after_seq = data.get("after_seq")
    limit = messages.MAX_PAGE if after_seq is not None else 50
    items, has_more = messages.page(room.id, after_seq, None, limit)
    return {"room": rooms.room_dict(room, actor.id), "messages": items, "has_more": has_more}


@socket_event("chat:leave-room", RoomIdIn())
def leave(sock: SocketState, data: dict) -> dict:
    leave_room(events.room_channel(data["room_id"]))
    sock.leave(data["room_id"])
    return {}


# Limited by RATE_LIMIT_MESSAGES inside the send, for both transports.
@socket_event("chat:send-message", SendIn(), quick=SendIn.quick, limited=False)
def send(sock: SocketState, data: dict) -> dict:
    if "room_id" not in data:
        raise InvalidInput("room_id is required.")
    message, created = messages.send(sock.actor, data["room_id"], data["content"],
                                     data.get("client_msg_id"), data.get("attachment_ids"))
    return {"message": message, "duplicate": not created}


@socket_event("chat:typing", TypingIn())
def typing(sock: SocketState, data: dict) -> dict:
    room_id, is_typing = data["room_id"], data["is_typing"]
    if room_id not in sock.joined:
        raise NotFound("Join the room before typing in it.", code="not_joined")
    now = time.monotonic()
    # monotonic() counts from an arbitrary point, so "never relayed" must not be read as 0.0.
    last = sock.last_typed(room_id)
    if is_typing and last is not None and now - last < TYPING_MIN_INTERVAL:
        return {"throttled": True}
    sock.typed(room_id, now if is_typing else None)
    expiry = current_app.config["SETTINGS"].typing_expiry_ms
    events.typing(room_id, {"room_id": room_id, "user_id": sock.actor.id, "name": sock.actor.name,
                            "is_typing": is_typing, "expires_in_ms": expiry},
                  skip_sid=request.sid)
    return {"throttled": False}


@socket_event("chat:read-messages", ReadIn())
def read(sock: SocketState, data: dict) -> dict:
    if "room_id" not in data:
        raise InvalidInput("room_id is required.")
    return {"up_to_seq": messages.mark_read(sock.actor, data["room_id"], data["up_to_seq"])}


@socket_event("chat:pick-suggestion", PickIn())
def pick_suggestion(sock: SocketState, data: dict) -> dict:
    """The customer picks one of the FAQs suggested for their message; its answer is posted."""
    return {"message": faq_feedback.pick_suggestion(sock.actor, data["room_id"],
                                                    data["message_id"], data["faq_id"])}


@socket_event("chat:answer-feedback", FeedbackIn())
def answer_feedback(sock: SocketState, data: dict) -> dict:
    """"Did this answer your question?" on an FAQ answer; no escalates at once."""
    return faq_feedback.answer_feedback(sock.actor, data["room_id"], data["message_id"],
                                        data["helpful"])
