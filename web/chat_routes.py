"""Chat REST routes (prefix /api/chat): rooms, messages, read receipts."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required

from actions import messages, rooms
from actions.errors import Unprocessable
from web.chat_schemas import (
    HistoryQuery,
    MessageEnvelope,
    MessagesOut,
    ReadIn,
    ReadOut,
    RoomCreateIn,
    RoomEnvelope,
    RoomsOut,
    SendIn,
)
from web.tokens import current_actor

bp = APIBlueprint("chat", __name__, url_prefix="/api/chat", tag="Chat")
AUTH = {"security": "BearerAuth"}


def _also_200(schema: str, description: str) -> dict:
    """A 200 beside the decorated 201, with the same body (APIFlask documents one status)."""
    return {"description": description, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


@bp.post("/rooms/create")
@jwt_required()
@bp.input(RoomCreateIn, arg_name="body")
@bp.output(RoomEnvelope, status_code=201)
@bp.doc(summary="Open the customer's room with a business, or create a staff room",
        description="Customer: {business_id} → the open room with that business (201 created, "
        "200 existing). Staff: {type: 'staff', participant_ids, name?}.",
        responses={200: _also_200("RoomEnvelope", "The room exists already (the customer's open "
                                                  "room, or the same direct staff room)"),
                   400: "Invalid input", 401: "Authentication error", 403: "Forbidden",
                   404: "Not found", 422: "The participants cannot make a staff room"},
        **AUTH)
def create_room(body: dict):
    actor = current_actor()
    if body.get("type") == "staff":
        room, created = rooms.create_staff_room(actor, body["participant_ids"], body.get("name"))
    else:
        room, created = rooms.get_or_create_customer_room(actor, body["business_id"])
    return {"room": rooms.room_dict(room, actor.id)}, 201 if created else 200


@bp.get("/rooms")
@jwt_required()
@bp.output(RoomsOut)
@bp.doc(summary="Rooms the caller may see, newest activity first", responses=[401], **AUTH)
def list_rooms():
    return {"rooms": rooms.list_rooms(current_actor())}


@bp.get("/rooms/<int:room_id>")
@jwt_required()
@bp.output(RoomEnvelope)
@bp.doc(summary="One room", responses=[401, 404], **AUTH)
def get_room(room_id: int):
    actor = current_actor()
    return {"room": rooms.room_dict(rooms.visible_room(actor, room_id), actor.id)}


@bp.post("/rooms/<int:room_id>/messages")
@jwt_required()
@bp.input(SendIn, arg_name="body")
@bp.output(MessageEnvelope, status_code=201)
@bp.doc(summary="Send a message",
        description="A repeated client_msg_id returns the stored message with 200.",
        responses={200: _also_200("MessageEnvelope", "The stored message of a repeated "
                                  "client_msg_id"),
                   400: "Invalid input", 401: "Authentication error", 404: "Not found",
                   409: "Conflict",
                   422: "An attachment cannot be sent, or room_id differs from the URL's",
                   429: "Too many messages"}, **AUTH)
def send_message(room_id: int, body: dict):
    if body.get("room_id") not in (None, room_id):
        # Each fits the document; together they name two rooms (422, not 400).
        raise Unprocessable("room_id in the body does not match the URL.", code="room_mismatch")
    message, created = messages.send(current_actor(), room_id, body["content"],
                                     body.get("client_msg_id"), body.get("attachment_ids"))
    return {"message": message}, 201 if created else 200


@bp.get("/rooms/<int:room_id>/messages")
@jwt_required()
@bp.input(HistoryQuery, location="query", arg_name="query")
@bp.output(MessagesOut)
@bp.doc(summary="History and catch-up, ascending by seq",
        description="after_seq: the oldest page above it; before_seq or neither: the newest page.",
        responses=[400, 401, 404], **AUTH)
def history(room_id: int, query: dict):
    _room, items, has_more = messages.history(current_actor(), room_id, query.get("after_seq"),
                                              query.get("before_seq"), query["limit"])
    return {"messages": items, "has_more": has_more}


@bp.put("/rooms/<int:room_id>/messages/read")
@jwt_required()
@bp.input(ReadIn, arg_name="body")
@bp.output(ReadOut)
@bp.doc(summary="Mark messages read up to a seq (never moves back)",
        responses=[400, 401, 404], **AUTH)
def mark_read(room_id: int, body: dict):
    up_to = messages.mark_read(current_actor(), room_id, body["up_to_seq"])
    return {"room_id": room_id, "up_to_seq": up_to}
