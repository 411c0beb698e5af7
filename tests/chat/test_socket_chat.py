"""Chat over Socket.IO: send with acks, retries, joining with and without after_seq, catch-up."""
from __future__ import annotations

import pytest

from tests.helpers import NAMESPACE as NS
from tests.helpers.chat import (
    drain,
    join,
    message_count,
    ok,
    open_room,
    payloads,
    received,
    refused,
    send,
    send_many,
    seqs,
    stored,
)


@pytest.fixture
def room(client, shop, customer) -> dict:
    return open_room(client, customer, shop.id)


def socket_send(sock, room_id: int, content: str, **extra) -> dict:
    return ok(sock, "chat:send-message", {"room_id": room_id, "content": content, **extra})


def test_socket_send_acks_the_stored_message_and_the_room_hears_it(app, connect, shop, room,
                                                                   customer):
    customer_sock, staff_sock, bystander = connect(customer), connect(shop.staff), connect(
        shop.owner)
    join(customer_sock, room["id"])
    join(staff_sock, room["id"])
    drain(bystander)

    result = socket_send(customer_sock, room["id"], "  over the socket  ", client_msg_id="s-1")

    message = result["message"]
    assert result["duplicate"] is False
    assert message["seq"] == 1
    assert message["content"] == "over the socket"
    assert message["sender_id"] == customer.id
    assert message["sender_type"] == "customer"
    assert message["client_msg_id"] == "s-1"
    assert payloads(staff_sock, "chat:new-message") == [{"message": message}]
    assert payloads(customer_sock, "chat:new-message") == [{"message": message}]
    assert payloads(bystander, "chat:new-message") == []
    assert stored(app, room["id"]) == [(room["id"], 1, customer.id, "customer",
                                        "over the socket")]


def test_socket_seqs_are_gap_free_across_both_transports(client, connect, shop, room, customer):
    staff_sock = connect(shop.staff)
    join(staff_sock, room["id"])
    sent = []
    for i in range(10):
        if i % 2:
            sent.append(socket_send(staff_sock, room["id"], f"s{i}")["message"])
        else:
            sent.append(send(client, customer, room["id"], f"r{i}"))
    assert seqs(sent) == list(range(1, 11))
    heard = [p["message"] for p in payloads(staff_sock, "chat:new-message")]
    assert heard == sent


def test_socket_retry_with_the_same_client_msg_id_is_a_duplicate(app, connect, shop, room,
                                                                 customer):
    sock, listener = connect(customer), connect(shop.staff)
    join(sock, room["id"])
    join(listener, room["id"])
    first = socket_send(sock, room["id"], "once", client_msg_id="retry-me")
    drain(sock, listener)

    again = socket_send(sock, room["id"], "once", client_msg_id="retry-me")

    assert again["duplicate"] is True
    assert again["message"] == first["message"]
    assert message_count(app) == 1
    assert received(listener) == []
    assert received(sock) == []


def test_a_rest_send_retried_over_the_socket_is_the_same_message(app, client, connect, room,
                                                                 customer):
    via_rest = send(client, customer, room["id"], "flaky network", client_msg_id="both")
    sock = connect(customer)
    result = socket_send(sock, room["id"], "flaky network", client_msg_id="both")
    assert result["duplicate"] is True
    assert result["message"] == via_rest
    assert message_count(app) == 1


def test_join_without_after_seq_returns_the_latest_50(client, connect, room, customer):
    send_many(client, customer, room["id"], 53)
    sock = connect(customer)

    result = join(sock, room["id"])

    assert seqs(result["messages"]) == list(range(4, 54))
    assert result["has_more"] is True
    assert result["room"]["id"] == room["id"]
    assert result["room"]["last_seq"] == 53


def test_join_of_a_short_room_has_no_more(client, connect, room, customer):
    send_many(client, customer, room["id"], 50)
    result = join(connect(customer), room["id"])
    assert seqs(result["messages"]) == list(range(1, 51))
    assert result["has_more"] is False


def test_join_of_an_empty_room(connect, room, customer):
    result = join(connect(customer), room["id"])
    assert result["messages"] == []
    assert result["has_more"] is False


def test_join_with_after_seq_returns_exactly_the_missed_ones(client, connect, shop, room,
                                                            customer):
    sent = send_many(client, shop.staff, room["id"], 9)
    sock = connect(customer)

    result = join(sock, room["id"], after_seq=4)
    assert result["messages"] == sent[4:]
    assert result["has_more"] is False

    assert join(sock, room["id"], after_seq=9)["messages"] == []
    assert join(sock, room["id"], after_seq=0)["messages"] == sent


def test_join_with_after_seq_gives_up_to_200_then_has_more(client, connect, room, customer):
    send_many(client, customer, room["id"], 203)
    sock = connect(customer)

    first = join(sock, room["id"], after_seq=0)
    assert seqs(first["messages"]) == list(range(1, 201))
    assert first["has_more"] is True

    rest = join(sock, room["id"], after_seq=200)
    assert seqs(rest["messages"]) == [201, 202, 203]
    assert rest["has_more"] is False


def test_a_client_that_was_away_catches_up_without_dups_or_holes(client, connect, shop, room,
                                                                 customer):
    sock = connect(customer)
    seen = join(sock, room["id"])["messages"]
    staff_sock = connect(shop.staff)
    join(staff_sock, room["id"])
    socket_send(staff_sock, room["id"], "before you left")
    seen += [p["message"] for p in payloads(sock, "chat:new-message")]
    sock.disconnect(NS)

    missed = [socket_send(staff_sock, room["id"], f"while away {i}")["message"]
              for i in range(4)]
    missed.append(send(client, shop.owner, room["id"], "and one over REST"))

    back = connect(customer)
    result = join(back, room["id"], after_seq=seen[-1]["seq"])
    assert result["messages"] == missed
    assert result["has_more"] is False
    seen += result["messages"]

    # Live again: the next message arrives as an event, exactly once.
    latest = socket_send(staff_sock, room["id"], "welcome back")["message"]
    seen += [p["message"] for p in payloads(back, "chat:new-message")]

    assert seqs(seen) == list(range(1, 7 + 1))
    assert seen[-1] == latest


def test_after_leaving_a_room_its_messages_stop_arriving(client, connect, room, customer):
    sock = connect(customer)
    join(sock, room["id"])
    assert ok(sock, "chat:leave-room", {"room_id": room["id"]}) == {"ok": True}

    send(client, customer, room["id"], "quiet now")

    assert payloads(sock, "chat:new-message") == []


def test_joining_an_unknown_room_is_refused(connect, customer):
    error = refused(connect(customer), "chat:join-room", {"room_id": 987_654})
    assert error["code"] == "not_found"


def test_sending_to_an_unknown_room_over_the_socket_is_refused(app, connect, customer):
    error = refused(connect(customer), "chat:send-message", {"room_id": 987_654,
                                                              "content": "hi"})
    assert error["code"] == "not_found"
    assert message_count(app) == 0
