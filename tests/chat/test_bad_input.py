"""Limits and bad input on both transports: each refusal is an error and changes nothing."""
from __future__ import annotations

import pytest

from tests import factories
from tests.helpers import NAMESPACE as NS
from tests.helpers.chat import (
    CHAT,
    error_code,
    get_room,
    history,
    join,
    ok,
    open_room,
    post_message,
    refused,
    send,
    stored,
)


@pytest.fixture
def room(client, shop, customer) -> dict:
    """A room that already holds one message (seq 1), so 'nothing changed' is visible."""
    room = open_room(client, customer, shop.id)
    send(client, customer, room["id"], "already here")
    return room


@pytest.fixture
def unchanged(app, client, customer, room):
    """Asserts, after the test body, that no message was stored and last_seq did not move."""
    before = stored(app)
    yield
    assert stored(app) == before
    assert get_room(client, customer, room["id"])["last_seq"] == 1


@pytest.fixture
def short_messages(app, monkeypatch) -> int:
    monkeypatch.setattr(app.config["SETTINGS"], "max_message_chars", 10)
    return 10


# (body, expected error code) for a send that must be refused with 400 / an error ack.
BAD_SENDS = [
    ({"content": ""}, "empty_content"),
    ({"content": "   \n\t  "}, "empty_content"),
    ({"content": 5}, "invalid_input"),
    ({"content": None}, "invalid_input"),
    ({"content": ["hi"]}, "invalid_input"),
    ({}, "invalid_input"),
    ({"content": "hi", "room_id": "x"}, "invalid_input"),
    ({"content": "hi", "client_msg_id": ""}, "invalid_input"),
    ({"content": "hi", "client_msg_id": "x" * 65}, "invalid_input"),
    ({"content": "hi", "client_msg_id": 12}, "invalid_input"),
    ({"content": "hi", "attachment_ids": "1"}, "invalid_input"),
    # PostgreSQL cannot store NUL in text: refused up front on both databases.
    ({"content": "a\x00b"}, "invalid_input"),
    ({"content": "hi", "client_msg_id": "id\x00"}, "invalid_input"),
]


def test_a_bad_rest_send_is_400_and_stores_nothing(client, customer, room, unchanged):
    for body, code in BAD_SENDS:
        response = post_message(client, customer, room["id"], body)
        assert (response.status_code, error_code(response)) == (400, code), body


def test_a_bad_socket_send_is_refused_and_stores_nothing(connect, customer, room, unchanged):
    sock = connect(customer)
    for body, code in BAD_SENDS:
        payload = {"room_id": room["id"], **body}
        assert refused(sock, "chat:send-message", payload)["code"] == code, payload
    for payload in ({"content": "hi"}, {"room_id": None, "content": "hi"},
                    {"room_id": 1.5, "content": "hi"}, {"room_id": True, "content": "hi"}):
        assert refused(sock, "chat:send-message", payload)["code"] == "invalid_input", payload


def test_a_socket_payload_that_is_not_an_object_is_refused(connect, customer, room, unchanged):
    sock = connect(customer)
    for payload in ("hello", ["room", 1], 42, None):
        for event in ("chat:send-message", "chat:join-room", "chat:read-messages",
                      "chat:typing", "chat:leave-room"):
            assert refused(sock, event, payload)["code"] == "invalid_input", (event, payload)
    assert sock.is_connected(NS)  # a bad payload does not cost the connection


def test_content_longer_than_the_limit_is_refused(client, connect, customer, room, unchanged,
                                                  short_messages):
    response = post_message(client, customer, room["id"], {"content": "x" * 11})
    assert response.status_code == 400
    assert error_code(response) == "content_too_long"
    error = refused(connect(customer), "chat:send-message",
                    {"room_id": room["id"], "content": "x" * 11})
    assert error["code"] == "content_too_long"


def test_content_at_the_limit_is_fine_and_the_limit_counts_after_trimming(client, connect,
                                                                          customer, room,
                                                                          short_messages):
    assert send(client, customer, room["id"], "x" * 10)["content"] == "x" * 10
    padded = ok(connect(customer), "chat:send-message",
                {"room_id": room["id"], "content": "   " + "y" * 10 + "\n"})
    assert padded["message"]["content"] == "y" * 10


def test_unknown_and_foreign_rooms_are_404(app, client, connect, customer, other_shop, room,
                                           unchanged):
    foreign = open_room(client, factories.register(client), other_shop.id)
    before_foreign = get_room(client, other_shop.owner, foreign["id"])["last_seq"]
    sock = connect(customer)
    for room_id in (987_654, 2**40, foreign["id"]):  # 2**40: past a 32-bit id column
        response = post_message(client, customer, room_id, {"content": "hi"})
        assert response.status_code == 404
        assert error_code(response) == "not_found"
        assert refused(sock, "chat:send-message", {"room_id": room_id,
                                                   "content": "hi"})["code"] == "not_found"
    assert get_room(client, other_shop.owner, foreign["id"])["last_seq"] == before_foreign
    # A room id that is not a number does not even name a route.
    assert post_message(client, customer, "x", {"content": "hi"}).status_code == 404


def test_a_body_room_id_that_contradicts_the_url_is_refused(client, customer, room, unchanged):
    response = post_message(client, customer, room["id"], {"content": "hi",
                                                           "room_id": room["id"] + 1})
    # Each id fits the document; together they name two rooms: 422 (issue 12, item 9).
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "room_mismatch"


def test_a_spoofed_sender_is_ignored(app, client, connect, shop, customer, room):
    spoof = {"sender_id": shop.owner.id, "sender_type": "bot", "kind": "faq", "seq": 99,
             "id": 1, "created_at": "2000-01-01T00:00:00+00:00"}

    via_rest = send(client, customer, room["id"], "it's me", **spoof)
    via_socket = ok(connect(customer), "chat:send-message",
                    {"room_id": room["id"], "content": "me too", **spoof})["message"]

    for message, seq in ((via_rest, 2), (via_socket, 3)):
        assert (message["sender_id"], message["sender_type"], message["kind"],
                message["seq"]) == (customer.id, "customer", "text", seq)
        assert message["created_at"] != spoof["created_at"]
    assert stored(app, room["id"])[1:] == [
        (room["id"], 2, customer.id, "customer", "it's me"),
        (room["id"], 3, customer.id, "customer", "me too"),
    ]


def test_bad_history_queries_are_400(client, customer, room):
    for params in ({"after_seq": "abc"}, {"after_seq": "1.5"}, {"after_seq": -1},
                   {"before_seq": "x"}, {"before_seq": 0}, {"limit": 0}, {"limit": 201},
                   {"limit": 1_000_000}, {"limit": "many"}):
        body = history(client, customer, room["id"], expect=400, **params)
        assert body["error"]["code"] == "invalid_input", params


def test_a_bad_after_seq_on_join_is_refused_and_joins_nothing(client, connect, customer, room):
    sock = connect(customer)
    for after_seq in ("abc", "3", -1, 1.5, [1]):
        error = refused(sock, "chat:join-room", {"room_id": room["id"], "after_seq": after_seq})
        assert error["code"] == "invalid_input", after_seq
    send(client, customer, room["id"], "not for you")
    assert sock.get_received(NS) == []


def test_staff_room_create_with_bad_shapes_is_400(app, client, shop):
    for body in ({"type": "staff"}, {"type": "staff", "participant_ids": "1"},
                 {"type": "staff", "participant_ids": ["x"]},
                 {"type": "staff", "participant_ids": [shop.owner.id], "name": ""},
                 {"type": "group", "participant_ids": [shop.owner.id]},
                 {"business_id": "1"}, {}, {"business_id": 1, "colour": "red"}):
        response = client.post(f"{CHAT}/rooms/create", json=body, headers=shop.staff.headers)
        assert response.status_code == 400, body


# --- rate limits ---------------------------------------------------------------------------------


@pytest.fixture
def three_per_minute(app, monkeypatch) -> None:
    monkeypatch.setattr(app.config["SETTINGS"], "rate_limit_messages", "3/minute")


def test_rest_sends_over_the_limit_are_429_with_retry_after(app, client, shop, customer,
                                                            three_per_minute):
    room = open_room(client, customer, shop.id)
    for i in range(3):
        send(client, customer, room["id"], f"ok {i}")

    response = post_message(client, customer, room["id"], {"content": "one too many"})

    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert len(stored(app, room["id"])) == 3
    # The limit is per user: the staff member still gets through.
    assert send(client, shop.staff, room["id"], "staff reply")["seq"] == 4


def test_socket_sends_over_the_limit_are_refused_with_retry_after(app, client, connect, shop,
                                                                  customer, three_per_minute):
    room = open_room(client, customer, shop.id)
    sock = connect(customer)
    join(sock, room["id"])
    send(client, customer, room["id"], "rest 1")  # REST and socket share one budget
    for i in range(2):
        ok(sock, "chat:send-message", {"room_id": room["id"], "content": f"socket {i}"})
    sock.get_received(NS)

    error = refused(sock, "chat:send-message", {"room_id": room["id"], "content": "too many"})

    assert error["code"] == "rate_limited"
    assert isinstance(error["retry_after"], int) and 1 <= error["retry_after"] <= 60
    assert len(stored(app, room["id"])) == 3
    assert sock.get_received(NS) == []  # nothing was emitted for the refused send
    assert post_message(client, customer, room["id"], {"content": "rest 2"}).status_code == 429
