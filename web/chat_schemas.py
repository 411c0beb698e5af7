"""Schemas of the chat REST routes and socket events."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from marshmallow import EXCLUDE, RAISE, ValidationError, validates_schema

from web.schemas import NOT_BLANK, Out, StrictBool, WholeNumber

Id = lambda **kw: WholeNumber(validate=Range(1, 2**53), **kw)  # noqa: E731
Seq = lambda **kw: WholeNumber(validate=Range(0, 2**31), **kw)  # noqa: E731


class RoomCreateIn(Schema):
    class Meta:
        unknown = RAISE

    business_id = Id(metadata={"description": "Customer: the business to talk to "
                               "(required unless type is staff)."})
    type = String(validate=OneOf(["customer", "staff"]), metadata={
        "description": "customer (the default) or staff."})
    participant_ids = List(Id(), validate=Length(1, 100), metadata={
        "description": "Staff room: the other members, staff or owners of the caller's "
        "business (required for type staff; the caller is always a member). Ids that are not "
        "colleagues, or no one but the caller, are refused with 422 invalid_participants."})
    name = String(validate=Length(1, 120), metadata={
        "description": "Staff room name; blank means none."})

    @validates_schema
    def check_shape(self, data: dict, **_kwargs: object) -> None:
        if data.get("type") == "staff":
            if "participant_ids" not in data:
                raise ValidationError("participant_ids is required for a staff room.",
                                      "participant_ids")
        elif "business_id" not in data:
            raise ValidationError("business_id is required.", "business_id")


class SendIn(Schema):
    # Unknown keys such as a spoofed sender_id are dropped: the sender is the token's user.
    class Meta:
        unknown = EXCLUDE

    room_id = Id(metadata={"description": "Optional; must equal the room of the URL."})
    # Length(max=...) is only a cheap bound here; the limit (MAX_MESSAGE_CHARS, default 4000,
    # after trimming) is the action's, and the OpenAPI document states it (web/openapi.py).
    content = String(required=True, validate=Length(max=100_000), metadata={
        "minLength": 1, "pattern": NOT_BLANK,
        "description": "1 to MAX_MESSAGE_CHARS characters after trimming."})
    client_msg_id = String(validate=Length(1, 64), allow_none=True, metadata={
        "description": "The client's id for this send: a repeat returns the stored message."})
    attachment_ids = List(Id(), validate=Length(max=10), metadata={
        "description": "Uploads of the caller not sent yet; others are refused with 422 "
        "invalid_attachment."})

    @staticmethod
    def quick(payload: dict) -> dict | None:
        """The common send, checked without the schema machinery (a fifth of the send
        path's own time); None for anything else, which then goes through load()."""
        room_id = payload.get("room_id")
        content = payload.get("content")
        client_msg_id = payload.get("client_msg_id")
        if (type(room_id) is not int or not 1 <= room_id <= 2**53
                or type(content) is not str or len(content) > 100_000
                or "attachment_ids" in payload):
            return None
        if client_msg_id is not None and (type(client_msg_id) is not str
                                          or not 1 <= len(client_msg_id) <= 64):
            return None
        return {"room_id": room_id, "content": content, "client_msg_id": client_msg_id}


class JoinIn(Schema):
    class Meta:
        unknown = EXCLUDE

    room_id = Id(required=True)
    after_seq = Seq(allow_none=True)


class RoomIdIn(Schema):
    class Meta:
        unknown = EXCLUDE

    room_id = Id(required=True)


class PickIn(RoomIdIn):
    message_id = Id(required=True)
    faq_id = Id(required=True)


class FeedbackIn(RoomIdIn):
    message_id = Id(required=True)
    helpful = StrictBool(required=True)


class TypingIn(RoomIdIn):
    is_typing = StrictBool(required=True)


class ReadIn(Schema):
    class Meta:
        unknown = EXCLUDE

    room_id = Id()
    up_to_seq = Seq(required=True)


class HistoryQuery(Schema):
    class Meta:
        unknown = RAISE

    after_seq = Integer(validate=Range(0, 2**31))
    before_seq = Integer(validate=Range(1, 2**31))
    limit = Integer(load_default=50, validate=Range(1, 200))


class RoomOut(Out):
    id = Integer()
    business_id = Integer()
    type = String()
    name = String(allow_none=True)
    customer_id = Integer(allow_none=True)
    participants = List(Dict())
    last_message = Dict(allow_none=True)
    last_seq = Integer()
    unread_count = Integer()
    status = String(metadata={"description": "open, waiting_for_staff or closed."})
    waiting_since = String(allow_none=True, metadata={
        "description": "When the room last started waiting for staff (ISO 8601), else null."})
    last_activity_at = String()
    created_at = String()


class RoomEnvelope(Out):
    room = Nested(RoomOut)


class RoomsOut(Out):
    rooms = List(Nested(RoomOut))


MESSAGE_DOC = ("{id, room_id, seq, sender_id, sender_type, kind, content, attachments, "
               "client_msg_id, created_at}; an FAQ answer (kind faq) also carries faq_id, "
               "confidence (0 to 1), reply_to_id (the customer message it answers), picked "
               "(true when the customer picked it from chat:faq-suggestions) and feedback "
               "(null, helpful or not_helpful: the customer's chat:answer-feedback).")


class MessageEnvelope(Out):
    message = Dict(metadata={"description": MESSAGE_DOC})


class MessagesOut(Out):
    messages = List(Dict(), metadata={"description": "Messages, each " + MESSAGE_DOC})
    has_more = Boolean()


class ReadOut(Out):
    room_id = Integer()
    up_to_seq = Integer()
