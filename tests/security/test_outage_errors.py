"""Item 6: with Redis out of reach a send answers a clear "unavailable" (503), saves nothing,
and works again once Redis is back; the same for REST."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.chat import ack, history, join, open_room, post_message
from tests.processes import free_port


@pytest.fixture
def redis_away(app) -> Iterator[None]:
    """Rate limits (touched by every send and login) pointed at a closed port."""
    from infra import rate_limits

    rate_limits.configure(f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield
    finally:
        rate_limits.configure(None)


def test_a_socket_send_with_redis_away_is_refused_as_unavailable_and_saves_nothing(
        app, client, connect, shop, customer):
    room = open_room(client, customer, shop.id)
    sock = connect(customer)
    join(sock, room["id"])
    from infra import rate_limits

    rate_limits.configure(f"redis://127.0.0.1:{free_port()}/0")
    try:
        result = ack(sock, "chat:send-message", {"room_id": room["id"], "content": "hello?",
                                                 "client_msg_id": "outage-1"})
    finally:
        rate_limits.configure(None)
    assert result["ok"] is False
    assert result["error"]["code"] == "unavailable"
    assert result["error"]["retry_after"] > 0
    assert history(client, customer, room["id"])["messages"] == []

    # Back: the retried send goes through, once.
    again = ack(sock, "chat:send-message", {"room_id": room["id"], "content": "hello?",
                                            "client_msg_id": "outage-1"})
    assert again["ok"] is True, again
    assert [m["content"] for m in history(client, customer, room["id"])["messages"]] == [
        "hello?"]


def test_rest_calls_with_redis_away_answer_503_with_retry_after(
        app, client, shop, customer, redis_away):
    response = client.post("/api/auth/login",
                           json={"email": customer.email, "password": "whatever-password"})
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_a_rest_send_with_redis_away_saves_nothing(app, client, shop, customer):
    room = open_room(client, customer, shop.id)
    from infra import rate_limits

    rate_limits.configure(f"redis://127.0.0.1:{free_port()}/0")
    try:
        response = post_message(client, customer, room["id"], {"content": "still there?"})
    finally:
        rate_limits.configure(None)
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "unavailable"
    assert history(client, customer, room["id"])["messages"] == []


def test_a_bug_is_still_a_500_not_an_outage(app) -> None:
    from actions.errors import outage

    assert outage(ValueError("bug")) is None
    assert outage(KeyError("x")) is None
