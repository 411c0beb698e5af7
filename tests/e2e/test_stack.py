"""The whole pipeline with real processes: web persists and enqueues, the worker answers
through the Redis message queue."""
from __future__ import annotations

import time

import pytest
import socketio

from tests.factories import ALWAYS_OPEN
from tests.helpers import NAMESPACE
from tests.helpers.live import LiveStack
from tests.processes import Api


def test_stack_is_ready(live_stack: LiveStack, api: Api):
    body = api.call("GET", "/readyz", expect=200)
    assert body["checks"] == {"database": "ok", "redis": "ok"}


def test_customer_message_gets_the_welcome_reply_from_the_worker(live_stack: LiveStack,
                                                                  api: Api, sockets):
    created, _owner_token = api.business(name="Always Open Studio", business_hours=ALWAYS_OPEN)
    assert created["is_open_now"] is True
    customer = api.register(name="Walk-in Customer")
    token = customer["access_token"]

    client, events = sockets(live_stack.base_url, token,
                             ["chat:auto-response", "chat:new-message"])
    assert client.connected

    room = api.call("POST", "/api/chat/rooms/create", token=token, expect=(200, 201),
                    json={"business_id": created["id"]})["room"]
    joined = client.call("chat:join-room", {"room_id": room["id"]}, namespace=NAMESPACE,
                         timeout=10)
    assert joined["ok"] is True, joined
    assert joined["room"]["id"] == room["id"]
    assert joined["messages"] == []

    ack = client.call("chat:send-message",
                      {"room_id": room["id"], "content": "Hello, is anyone there?",
                       "client_msg_id": "e2e-first"},
                      namespace=NAMESPACE, timeout=10)
    assert ack["ok"] is True, ack
    sent = ack["message"]
    assert sent["seq"] == 1
    assert sent["sender_type"] == "customer"

    reply = events.wait_for("chat:auto-response",
                            lambda data: data["message"]["kind"] == "welcome", timeout=10)
    welcome = reply["message"]
    assert welcome["room_id"] == room["id"]
    assert welcome["sender_type"] == "bot"
    assert welcome["seq"] > sent["seq"]
    assert welcome["content"].strip()
    # A bot message also goes out as chat:new-message, and it was stored before the emit.
    events.wait_for("chat:new-message", lambda data: data["message"]["id"] == welcome["id"])
    history = api.call("GET", f"/api/chat/rooms/{room['id']}/messages", token=token, expect=200)
    assert welcome["id"] in [m["id"] for m in history["messages"]]


@pytest.mark.parametrize("token", [None, "not-a-jwt"], ids=["no-token", "garbage-token"])
def test_socket_without_a_valid_token_is_refused_unauthorized(live_stack: LiveStack,
                                                              token: str | None):
    client = socketio.Client(reconnection=False)
    refusals: list[object] = []
    client.on("connect_error", refusals.append, namespace=NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_stack.base_url, namespaces=[NAMESPACE], transports=["websocket"],
                       auth={"token": token} if token else None, wait_timeout=10)
    assert not client.connected
    # The refusal reason reaches the client as the connect_error payload.
    assert refusals == [{"message": "unauthorized"}]


def test_logout_closes_the_live_socket(live_stack: LiveStack, api: Api, sockets):
    customer = api.register()
    client, _ = sockets(live_stack.base_url, customer["access_token"])
    assert client.connected
    api.call("POST", "/api/auth/logout", token=customer["access_token"], expect=204)
    deadline = time.monotonic() + 10
    while client.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not client.connected
