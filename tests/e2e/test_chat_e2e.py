"""Chat across two real web processes: what one process's socket says reaches a socket held by
the other, through the Redis message queue; the database serves catch-up on either."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import NAMESPACE
from tests.helpers.live import LiveStack
from tests.processes import BIN, Api, free_port, start_process, stop_process, wait_for_url

PASSWORD = "correct-horse-battery"
CHAT_EVENTS = ["chat:new-message", "chat:user-typing", "presence:update"]


@pytest.fixture(scope="module")
def web_b(live_stack: LiveStack) -> Iterator[str]:
    """A second `python -m web.serve` beside the stack's: same database, same Redis."""
    port = free_port()
    env = {**live_stack.env, "PORT": str(port)}
    process = start_process("web-b", [str(BIN / "python"), "-m", "web.serve"], env,
                            live_stack.process("web").log_path.parent)
    live_stack.processes.append(process)  # its log joins the report of a failing test
    try:
        wait_for_url(f"http://127.0.0.1:{port}/healthz", [process])
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


@dataclass
class Conversation:
    room_id: int
    customer: str
    staff: str
    owner: str
    staff_id: int


def _login(api: Api, email: str) -> str:
    return api.call("POST", "/api/auth/login", expect=200,
                    json={"email": email, "password": PASSWORD})["access_token"]


def _silence_bots(api: Api, owner: str) -> None:
    """Switch the seeded auto-responses and FAQs off through the API, so every seq in these
    tests is a person's and the worker posts nothing in between."""
    for path, key in (("/api/chat/auto-responses", "auto_responses"), ("/api/chat/faqs", "faqs")):
        for item in api.call("GET", path, token=owner, expect=200)[key]:
            api.call("PUT", f"{path}/{item['id']}", token=owner, expect=200,
                     json={"is_active": False})


@pytest.fixture
def conversation(api: Api) -> Conversation:
    business, owner = api.business(name=f"Two Process Salon {uuid.uuid4().hex[:6]}",
                                   business_hours={d: [["00:00", "24:00"]] for d in (
                                       "mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    _silence_bots(api, owner)
    email = f"e2e-staff-{uuid.uuid4().hex[:10]}@example.com"
    api.call("POST", f"/api/businesses/{business['id']}/staff", token=owner, expect=201,
             json={"email": email, "password": PASSWORD, "name": "Front Desk"})
    customer = api.register(name="Two Process Customer")["access_token"]
    room = api.call("POST", "/api/chat/rooms/create", token=customer, expect=201,
                    json={"business_id": business["id"]})["room"]
    staff = _login(api, email)
    staff_id = api.call("GET", "/api/auth/me", token=staff, expect=200)["user"]["id"]
    return Conversation(room["id"], customer, staff, owner, staff_id)


def call(client, event: str, payload: dict) -> dict:
    result = client.call(event, payload, namespace=NAMESPACE, timeout=15)
    assert result["ok"] is True, result
    return result


def test_a_message_sent_on_one_process_reaches_a_socket_on_the_other(
        live_stack: LiveStack, web_b: str, conversation: Conversation, sockets):
    on_a, heard_on_a = sockets(live_stack.base_url, conversation.customer, CHAT_EVENTS)
    on_b, heard_on_b = sockets(web_b, conversation.staff, CHAT_EVENTS)
    call(on_a, "chat:join-room", {"room_id": conversation.room_id})
    call(on_b, "chat:join-room", {"room_id": conversation.room_id})

    sent = call(on_a, "chat:send-message", {"room_id": conversation.room_id,
                                            "content": "Hello from process A",
                                            "client_msg_id": "e2e-a-1"})["message"]
    arrived = heard_on_b.wait_for("chat:new-message",
                                  lambda d: d["message"]["id"] == sent["id"], timeout=15)
    assert arrived == {"message": sent}
    assert sent["seq"] == 1

    reply = call(on_b, "chat:send-message", {"room_id": conversation.room_id,
                                             "content": "Hello back from process B"})["message"]
    back = heard_on_a.wait_for("chat:new-message",
                               lambda d: d["message"]["id"] == reply["id"], timeout=15)
    assert back == {"message": reply}
    assert reply["seq"] == 2


def test_typing_and_presence_cross_processes(live_stack: LiveStack, web_b: str,
                                             conversation: Conversation, sockets):
    owner_on_a, owner_heard = sockets(live_stack.base_url, conversation.owner, CHAT_EVENTS)
    call(owner_on_a, "chat:join-room", {"room_id": conversation.room_id})

    staff_on_b, _ = sockets(web_b, conversation.staff, CHAT_EVENTS)
    came = owner_heard.wait_for("presence:update",
                                lambda d: d["user_id"] == conversation.staff_id, timeout=15)
    assert came["online"] is True

    call(staff_on_b, "chat:join-room", {"room_id": conversation.room_id})
    call(staff_on_b, "chat:typing", {"room_id": conversation.room_id, "is_typing": True})
    typing = owner_heard.wait_for("chat:user-typing", timeout=15)
    assert (typing["room_id"], typing["user_id"], typing["is_typing"]) == (
        conversation.room_id, conversation.staff_id, True)

    staff_on_b.disconnect()
    gone = owner_heard.wait_for("presence:update",
                                lambda d: d["user_id"] == conversation.staff_id
                                and not d["online"], timeout=15)
    assert gone["last_seen_at"]


def test_catch_up_on_the_other_process_returns_exactly_what_was_missed(
        live_stack: LiveStack, web_b: str, conversation: Conversation, api: Api, sockets):
    customer_on_a, _ = sockets(live_stack.base_url, conversation.customer, CHAT_EVENTS)
    call(customer_on_a, "chat:join-room", {"room_id": conversation.room_id})
    seen = call(customer_on_a, "chat:send-message", {"room_id": conversation.room_id,
                                                     "content": "I'll be right back"})["message"]
    customer_on_a.disconnect()

    staff_on_b, _ = sockets(web_b, conversation.staff, CHAT_EVENTS)
    missed = [call(staff_on_b, "chat:send-message",
                   {"room_id": conversation.room_id, "content": f"while you were away {i}"}
                   )["message"] for i in range(3)]
    missed.append(api.call("POST", f"/api/chat/rooms/{conversation.room_id}/messages",
                           token=conversation.staff, expect=201,
                           json={"content": "and one over REST"})["message"])

    customer_on_b, _ = sockets(web_b, conversation.customer, CHAT_EVENTS)
    caught_up = call(customer_on_b, "chat:join-room",
                     {"room_id": conversation.room_id, "after_seq": seen["seq"]})

    assert caught_up["messages"] == missed
    assert caught_up["has_more"] is False
    assert [m["seq"] for m in [seen, *missed]] == [1, 2, 3, 4, 5]
