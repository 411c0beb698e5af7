"""Read receipts: REST and socket, monotonic and clamped, told to the room, reflected in unread."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.helpers.chat import (
    drain,
    get_room,
    join,
    mark_read,
    ok,
    open_room,
    payloads,
    refused,
    send,
    send_many,
)


@pytest.fixture
def room(client, shop, customer) -> dict:
    """A customer room holding five staff messages, seqs 1..5."""
    room = open_room(client, customer, shop.id)
    send_many(client, shop.staff, room["id"], 5)
    return room


def unread(client, who, room_id: int) -> int:
    return get_room(client, who, room_id)["unread_count"]


def read_events(sock) -> list[dict]:
    return payloads(sock, "chat:messages-read")


def assert_read_event(event: dict, room_id: int, user_id: int, up_to_seq: int) -> None:
    assert {k: event[k] for k in ("room_id", "user_id", "up_to_seq")} == {
        "room_id": room_id, "user_id": user_id, "up_to_seq": up_to_seq}
    assert datetime.fromisoformat(event["read_at"]).tzinfo is not None


def test_rest_read_moves_the_pointer_and_tells_the_room(client, connect, shop, room, customer):
    staff_sock = connect(shop.staff)
    join(staff_sock, room["id"])
    assert unread(client, customer, room["id"]) == 5

    body = mark_read(client, customer, room["id"], 3)

    assert body == {"room_id": room["id"], "up_to_seq": 3}
    [event] = read_events(staff_sock)
    assert_read_event(event, room["id"], customer.id, 3)
    assert unread(client, customer, room["id"]) == 2
    assert unread(client, shop.staff, room["id"]) == 0  # the staff wrote all five


def test_a_lower_up_to_seq_never_moves_the_pointer_back(client, connect, shop, room, customer):
    staff_sock = connect(shop.staff)
    join(staff_sock, room["id"])
    mark_read(client, customer, room["id"], 4)
    drain(staff_sock)

    for lower in (2, 0, 4):
        assert mark_read(client, customer, room["id"], lower)["up_to_seq"] == 4

    assert read_events(staff_sock) == []  # nothing moved, nothing to tell
    assert unread(client, customer, room["id"]) == 1


def test_up_to_seq_is_clamped_to_the_rooms_last_seq(client, connect, shop, room, customer):
    staff_sock = connect(shop.staff)
    join(staff_sock, room["id"])

    assert mark_read(client, customer, room["id"], 1_000)["up_to_seq"] == 5

    [event] = read_events(staff_sock)
    assert event["up_to_seq"] == 5
    assert unread(client, customer, room["id"]) == 0
    # The pointer sits at 5, not 1000: the next message is unread.
    send(client, shop.staff, room["id"], "one more")
    assert unread(client, customer, room["id"]) == 1
    assert mark_read(client, customer, room["id"], 1_000)["up_to_seq"] == 6


def test_socket_read_acks_and_tells_the_room_including_the_reader(client, connect, shop, room,
                                                                 customer):
    reader, staff_sock = connect(customer), connect(shop.staff)
    join(reader, room["id"])
    join(staff_sock, room["id"])

    result = ok(reader, "chat:read-messages", {"room_id": room["id"], "up_to_seq": 2})

    assert result == {"ok": True, "up_to_seq": 2}
    for sock in (reader, staff_sock):
        [event] = read_events(sock)
        assert_read_event(event, room["id"], customer.id, 2)
    assert unread(client, customer, room["id"]) == 3

    lower = ok(reader, "chat:read-messages", {"room_id": room["id"], "up_to_seq": 1})
    assert lower["up_to_seq"] == 2
    assert read_events(staff_sock) == []

    clamped = ok(reader, "chat:read-messages", {"room_id": room["id"], "up_to_seq": 99})
    assert clamped["up_to_seq"] == 5
    assert unread(client, customer, room["id"]) == 0


def test_rest_and_socket_reads_share_one_pointer(client, connect, room, customer):
    mark_read(client, customer, room["id"], 4)
    sock = connect(customer)
    assert ok(sock, "chat:read-messages", {"room_id": room["id"], "up_to_seq": 3})["up_to_seq"] == 4
    assert mark_read(client, customer, room["id"], 2)["up_to_seq"] == 4


def test_staff_read_a_customer_room_without_joining_its_participants(client, shop, room,
                                                                     customer):
    send_many(client, customer, room["id"], 3, prefix="question ")
    assert unread(client, shop.owner, room["id"]) == 8

    assert mark_read(client, shop.owner, room["id"], 8)["up_to_seq"] == 8

    assert unread(client, shop.owner, room["id"]) == 0
    assert unread(client, shop.staff, room["id"]) == 3  # the staff member's own pointer
    participants = get_room(client, customer, room["id"])["participants"]
    assert [p["user_id"] for p in participants] == [customer.id]


def test_a_malformed_up_to_seq_is_refused_and_moves_nothing(client, connect, room, customer):
    sock = connect(customer)
    for up_to_seq in (-1, "3", 2.5, None, [3], True):
        mark_read(client, customer, room["id"], up_to_seq, expect=400)
        error = refused(sock, "chat:read-messages", {"room_id": room["id"], "up_to_seq": up_to_seq})
        assert error["code"] == "invalid_input", up_to_seq
    assert refused(sock, "chat:read-messages", {"up_to_seq": 1})["code"] == "invalid_input"
    assert unread(client, customer, room["id"]) == 5
