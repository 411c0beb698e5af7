"""Messages over REST: gap-free seqs, retries by client_msg_id, events after send, history."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests import factories
from tests.helpers.chat import (
    drain,
    error_code,
    get_room,
    history,
    join,
    make_shop,
    message_count,
    open_room,
    payloads,
    post_message,
    send,
    send_many,
    seqs,
    set_room_status,
    stored,
)


@pytest.fixture
def room(client, shop, customer) -> dict:
    return open_room(client, customer, shop.id)


def test_a_message_has_every_contract_field(client, room, customer):
    message = send(client, customer, room["id"], "  Can I book for Friday?  ",
                   client_msg_id="c-1")

    assert message["room_id"] == room["id"]
    assert message["seq"] == 1
    assert message["sender_id"] == customer.id
    assert message["sender_type"] == "customer"
    assert message["kind"] == "text"
    assert message["content"] == "Can I book for Friday?"  # trimmed
    assert message["attachments"] == []
    assert message["client_msg_id"] == "c-1"
    assert isinstance(message["id"], int)
    assert datetime.fromisoformat(message["created_at"]).tzinfo is not None


def test_seqs_count_from_one_without_gaps(app, client, shop, room, customer):
    sent = []
    for i in range(12):
        sender = customer if i % 3 else shop.staff
        sent.append(send(client, sender, room["id"], f"message {i}"))

    assert seqs(sent) == list(range(1, 13))
    assert [row[1] for row in stored(app, room["id"])] == list(range(1, 13))
    assert get_room(client, customer, room["id"])["last_seq"] == 12
    assert {m["sender_type"] for m in sent} == {"customer", "staff"}


def test_seqs_are_counted_per_room(client, shop, customer):
    first = open_room(client, customer, shop.id)
    second = open_room(client, factories.register(client), shop.id)
    send_many(client, customer, first["id"], 3)
    assert send(client, shop.staff, second["id"])["seq"] == 1
    assert send(client, customer, first["id"])["seq"] == 4


def test_a_repeated_client_msg_id_returns_the_stored_message(app, client, connect, shop, room,
                                                             customer):
    listener = connect(shop.staff)
    join(listener, room["id"])
    first = post_message(client, customer, room["id"], {"content": "hi", "client_msg_id": "x-1"})
    assert first.status_code == 201
    assert len(payloads(listener, "chat:new-message")) == 1

    retry = post_message(client, customer, room["id"],
                         {"content": "hi (edited by a confused client)", "client_msg_id": "x-1"})

    assert retry.status_code == 200
    assert retry.get_json()["message"] == first.get_json()["message"]
    assert message_count(app) == 1
    assert payloads(listener, "chat:new-message") == []  # the retry emits nothing
    # The retry took no seq: the next message follows without a gap.
    assert send(client, customer, room["id"], "next")["seq"] == 2


def test_client_msg_id_is_scoped_to_its_sender(app, client, shop, room, customer):
    mine = send(client, customer, room["id"], "from customer", client_msg_id="same")
    theirs = send(client, shop.staff, room["id"], "from staff", client_msg_id="same")
    assert (mine["seq"], theirs["seq"]) == (1, 2)
    assert message_count(app) == 2


def test_client_msg_id_reused_in_another_room_is_a_conflict(app, client, shop, room, customer):
    other = open_room(client, customer, make_shop(app, client, "Other").id)
    send(client, customer, room["id"], "first", client_msg_id="k")

    response = post_message(client, customer, other["id"], {"content": "x", "client_msg_id": "k"})

    assert response.status_code == 409
    assert error_code(response) == "client_msg_id_reused"
    assert message_count(app) == 1
    assert get_room(client, customer, other["id"])["last_seq"] == 0


def test_rest_send_is_emitted_to_the_room_after_it_is_stored(app, client, connect, shop, room,
                                                             customer):
    in_room = [connect(shop.staff), connect(customer)]
    for sock in in_room:
        join(sock, room["id"])
    not_joined = connect(shop.owner)
    drain(not_joined)

    message = send(client, customer, room["id"], "ping")

    for sock in in_room:
        assert payloads(sock, "chat:new-message") == [{"message": message}]
    assert payloads(not_joined, "chat:new-message") == []
    assert stored(app, room["id"]) == [(room["id"], 1, customer.id, "customer", "ping")]


def test_sending_into_a_closed_room_is_refused(app, client, room, customer):
    set_room_status(app, room["id"], "closed")
    response = post_message(client, customer, room["id"], {"content": "anyone?"})
    assert response.status_code == 409
    assert error_code(response) == "room_closed"
    assert message_count(app) == 0


def test_bot_replies_take_seqs_and_reach_the_room(app, client, connect):
    chatty = make_shop(app, client, "Chatty", quiet=False)
    customer = factories.register(client)
    room = open_room(client, customer, chatty.id)
    sock = connect(customer)
    join(sock, room["id"])

    mine = send(client, customer, room["id"], "hello there")
    following = send(client, customer, room["id"], "and another thing")

    rows = stored(app, room["id"])
    assert any(row[3] == "bot" for row in rows), "the seeded welcome reply should be posted"
    assert [row[1] for row in rows] == list(range(1, len(rows) + 1))
    assert [row[1] for row in rows if row[3] == "customer"] == [mine["seq"], following["seq"]]
    assert mine["seq"] == 1
    # Every stored message, bot ones included, reached the room once as chat:new-message.
    events = payloads(sock, "chat:new-message")
    assert sorted(seqs([e["message"] for e in events])) == [row[1] for row in rows]


# --- history -------------------------------------------------------------------------------------


# (query, seqs expected, has_more expected) over a room holding seqs 1..7.
HISTORY_CASES = [
    ({}, [1, 2, 3, 4, 5, 6, 7], False),
    ({"limit": 3}, [5, 6, 7], True),
    ({"limit": 7}, [1, 2, 3, 4, 5, 6, 7], False),
    ({"before_seq": 5, "limit": 3}, [2, 3, 4], True),
    ({"before_seq": 4, "limit": 3}, [1, 2, 3], False),
    ({"before_seq": 1}, [], False),
    ({"before_seq": 100}, [1, 2, 3, 4, 5, 6, 7], False),
    ({"after_seq": 0, "limit": 3}, [1, 2, 3], True),
    ({"after_seq": 2, "limit": 3}, [3, 4, 5], True),
    ({"after_seq": 4, "limit": 3}, [5, 6, 7], False),
    ({"after_seq": 7}, [], False),
    ({"after_seq": 99}, [], False),
    ({"after_seq": 1, "before_seq": 7, "limit": 2}, [2, 3], True),
    ({"after_seq": 1, "before_seq": 4, "limit": 2}, [2, 3], False),
]


def test_history_pages(client, shop, room, customer):
    send_many(client, customer, room["id"], 7)
    for params, expected, has_more in HISTORY_CASES:
        for reader in (customer, shop.staff):
            page = history(client, reader, room["id"], **params)
            assert (seqs(page["messages"]), page["has_more"]) == (expected, has_more), params


def test_history_default_limit_is_50_and_at_most_200_may_be_asked(client, room, customer):
    send_many(client, customer, room["id"], 205)

    default = history(client, customer, room["id"])
    assert seqs(default["messages"]) == list(range(156, 206))
    assert default["has_more"] is True

    biggest = history(client, customer, room["id"], limit=200)
    assert seqs(biggest["messages"]) == list(range(6, 206))
    assert biggest["has_more"] is True

    catch_up = history(client, customer, room["id"], after_seq=0, limit=200)
    assert seqs(catch_up["messages"]) == list(range(1, 201))
    assert catch_up["has_more"] is True


def test_paging_either_way_visits_every_message_once(client, shop, room, customer):
    sent = [send(client, shop.staff if i % 2 else customer, room["id"], f"m{i}")
            for i in range(23)]

    forward, after = [], 0
    while True:
        page = history(client, customer, room["id"], after_seq=after, limit=5)
        forward += page["messages"]
        if not page["has_more"]:
            break
        after = page["messages"][-1]["seq"]

    backward, before = [], None
    while True:
        params = {"limit": 5} if before is None else {"limit": 5, "before_seq": before}
        page = history(client, shop.staff, room["id"], **params)
        backward = page["messages"] + backward
        if not page["has_more"]:
            break
        before = page["messages"][0]["seq"]

    assert forward == sent
    assert backward == sent
