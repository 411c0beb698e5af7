"""Server-to-client events: one function per event, each with its fixed payload.

Events go out after the commit of the change they describe (``infra.tx.after_commit``);
those that describe no stored change (typing, presence) go out at once, by ``emit_now``. The
web process emits through its own Socket.IO server; a worker through a
write-only client of the Redis message queue. Which one is set at start-up by
:func:`configure`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from infra.tx import after_commit

log = logging.getLogger(__name__)
NAMESPACE = "/realtime"

Emitter = Callable[[str, dict, str, "str | None"], None]
_emitter: Emitter | None = None


def configure(emitter: Emitter | None) -> None:
    global _emitter
    _emitter = emitter


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


def business_channel(business_id: int) -> str:
    return f"business:{business_id}"


def owners_channel(business_id: int) -> str:
    return f"business:{business_id}:owners"


def emit_now(event: str, payload: dict, to: str, skip_sid: str | None = None) -> None:
    """Emit at once; for events that describe no stored change (typing)."""
    if _emitter is None:
        log.debug("no emitter configured; dropped %s", event)
        return
    _emitter(event, payload, to, skip_sid)


def publish(event: str, payload: dict, to: str) -> None:
    """Emit once the current transaction has committed; never if it rolls back."""
    after_commit(lambda: emit_now(event, payload, to))


def new_message(message: dict) -> None:
    publish("chat:new-message", {"message": message}, room_channel(message["room_id"]))


def bot_message(message: dict) -> None:
    """A bot message goes out under its own event and as chat:new-message."""
    event = "chat:faq-response" if message["kind"] == "faq" else "chat:auto-response"
    publish(event, {"message": message}, room_channel(message["room_id"]))
    new_message(message)


def faq_suggestions(room_id: int, message_id: int, suggestions: list[dict]) -> None:
    """FAQs offered for a customer's message that no FAQ answered confidently enough."""
    payload = {"room_id": room_id, "message_id": message_id, "suggestions": suggestions}
    publish("chat:faq-suggestions", payload, room_channel(room_id))


def messages_read(room_id: int, user_id: int, up_to_seq: int, read_at: str) -> None:
    payload = {"room_id": room_id, "user_id": user_id, "up_to_seq": up_to_seq, "read_at": read_at}
    publish("chat:messages-read", payload, room_channel(room_id))


def new_conversation(business_id: int, room: dict) -> None:
    """A customer room: the whole business hears of it."""
    publish("chat:new-conversation", {"room": room}, business_channel(business_id))


def new_staff_room(member_ids: list[int], room: dict) -> None:
    """A staff room: only its members hear of it."""
    for user_id in member_ids:
        publish("chat:new-conversation", {"room": room}, user_channel(user_id))


def room_updated(business_id: int, room_id: int, status: str, waiting_since: str | None
                 ) -> None:
    room = {"id": room_id, "status": status, "waiting_since": waiting_since}
    publish("chat:room-updated", {"room": room}, business_channel(business_id))


def notification_new(business_id: int, notification: dict, owners_only: bool = False) -> None:
    channel = owners_channel(business_id) if owners_only else business_channel(business_id)
    publish("notification:new", {"notification": notification}, channel)


def audit_log(business_id: int, entry: dict) -> None:
    publish("audit:log", {"audit_log": entry}, business_channel(business_id))


def presence_update(
    channels: list[str], user_id: int, online: bool, last_seen_at: str | None
) -> None:
    payload = {"user_id": user_id, "online": online, "last_seen_at": last_seen_at}
    for channel in channels:
        emit_now("presence:update", payload, channel)


def typing(room_id: int, payload: dict, skip_sid: str | None) -> None:
    emit_now("chat:user-typing", payload, room_channel(room_id), skip_sid)
