"""Item 8: every input path answers a JSON 4xx, never a 500 (REST and socket events)."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD, register
from tests.helpers import assert_error
from tests.helpers.chat import CHAT, ack, open_room, refused

SURROGATE = "a\\ud800b"  # JSON text: a lone surrogate once decoded


def raw_json(client, method: str, url: str, text: str, headers: dict | None = None):
    return client.open(url, method=method, data=text, content_type="application/json",
                       headers=headers or {})


@pytest.mark.parametrize("body", [
    f'{{"email": "{SURROGATE}@example.com", "password": "{PASSWORD}", "name": "A"}}',
    f'{{"email": "new@example.com", "password": "{SURROGATE}cdefgh", "name": "A"}}',
    f'{{"email": "new@example.com", "password": "{PASSWORD}", "name": "{SURROGATE}"}}',
], ids=["email", "password", "name"])
def test_register_with_a_lone_surrogate_is_400(client, body: str):
    assert_error(raw_json(client, "POST", "/api/auth/register", body), 400, "invalid_input")


@pytest.mark.parametrize("field", ["email", "password"])
def test_login_with_a_lone_surrogate_is_400(client, field: str):
    email = SURROGATE if field == "email" else "someone@example.com"
    password = SURROGATE if field == "password" else PASSWORD
    text = f'{{"email": "{email}", "password": "{password}"}}'
    assert_error(raw_json(client, "POST", "/api/auth/login", text), 400, "invalid_input")


def test_a_message_with_a_lone_surrogate_is_400(client, shop, customer):
    room = open_room(client, customer, shop.id)
    response = raw_json(client, "POST", f"{CHAT}/rooms/{room['id']}/messages",
                        f'{{"content": "{SURROGATE}"}}', customer.headers)
    assert_error(response, 400, "invalid_input")


@pytest.mark.parametrize("text", ["[" * 10_000 + "]" * 10_000,
                                  '{"a":' * 10_000 + "1" + "}" * 10_000],
                         ids=["arrays", "objects"])
@pytest.mark.parametrize("url", ["/api/auth/login", "/api/auth/register"])
def test_json_nested_ten_thousand_deep_is_400(client, url: str, text: str):
    assert_error(raw_json(client, "POST", url, text), 400, "invalid_input")


def test_json_nested_deep_with_a_token_is_400(client, customer):
    text = '{"business_id":' + "[" * 10_000 + "]" * 10_000 + "}"
    response = raw_json(client, "POST", f"{CHAT}/rooms/create", text, customer.headers)
    assert_error(response, 400, "invalid_input")


@pytest.mark.parametrize("digits", ["9" * 25, "1" + "0" * 19, "9" * 5000],
                         ids=["int64+", "2^63+", "5000-digits"])
def test_path_ids_too_large_for_the_database_are_404(client, customer, digits: str):
    for url in (f"{CHAT}/rooms/{digits}", f"{CHAT}/rooms/{digits}/messages"):
        assert_error(client.get(url, headers=customer.headers), 404)


@pytest.mark.parametrize("number", ["9" * 25, "9" * 5000], ids=["int64+", "5000-digits"])
def test_body_ids_too_large_are_400(client, customer, number: str):
    response = raw_json(client, "POST", f"{CHAT}/rooms/create",
                        f'{{"business_id": {number}}}', customer.headers)
    assert_error(response, 400, "invalid_input")


def test_a_100_kb_authorization_header_is_401(client):
    response = client.get("/api/auth/me", headers={"Authorization": "Bearer " + "a" * 100_000})
    assert_error(response, 401, "unauthorized")


def test_a_100_kb_authorization_header_is_json_from_the_real_server(app, web_processes):
    """eventlet's own server answered an empty `400 Header Line Too Long` before."""
    import requests

    web = web_processes()
    response = requests.get(f"{web.url}/api/auth/me", timeout=10,
                            headers={"Authorization": "Bearer " + "a" * 100_000})
    assert response.status_code == 401, (response.status_code, response.text[:200])
    assert response.json()["error"]["code"] == "unauthorized"
    # Past what the app is shown, the server's own refusal is JSON too.
    response = requests.get(f"{web.url}/api/auth/me", timeout=10,
                            headers={"Authorization": "Bearer " + "a" * 200_000})
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()["error"]) == {"code", "message"}


# --------------------------------------------------------------------------- socket events


def test_socket_events_with_a_lone_surrogate_are_refused(client, connect, shop, customer):
    room = open_room(client, customer, shop.id)
    sock = connect(customer)
    error = refused(sock, "chat:send-message", {"room_id": room["id"], "content": "a\ud800b"})
    assert error["code"] == "invalid_input"
    error = refused(sock, "chat:join-room", {"room_id": room["id"], "x\udfff": 1})
    assert error["code"] == "invalid_input"


def test_socket_events_nested_deep_are_refused(client, connect, customer):
    """Deeper packets than this are dropped by python-socketio's decoder (RecursionError),
    and integers past 100 digits by engine.io's; what it lets through must be answered."""
    sock = connect(customer)
    deep: object = []
    for _ in range(300):  # as deep as the encoder of the test client can go
        deep = [deep]
    result = ack(sock, "chat:join-room", {"room_id": deep})
    assert result["ok"] is False and result["error"]["code"] == "invalid_input", result


@pytest.mark.parametrize("room_id", [10**25, 10**19, 10**99],
                         ids=["int64+", "2^63+", "100-digits"])
def test_socket_ids_too_large_are_refused(client, connect, customer, room_id: int):
    sock = connect(customer)
    for event in ("chat:join-room", "chat:read-messages", "chat:send-message"):
        payload = {"room_id": room_id, "up_to_seq": 1, "content": "hi"}
        error = refused(sock, event, payload)
        assert error["code"] in ("invalid_input", "not_found"), (event, error)


def test_a_new_customer_still_works_afterwards(client):
    register(client)
