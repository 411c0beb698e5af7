"""Item 4: a socket lives no longer than its token and its session; `auth:refresh` extends it."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.factories import Account, login, register
from tests.helpers import NAMESPACE as NS
from tests.helpers.chat import ack


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def short_tokens(app, monkeypatch):
    """Access tokens that live 2 seconds."""
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=2))


def wait_until(condition, timeout: float = 6.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_socket_is_disconnected_when_its_token_expires(client, connect, short_tokens):
    account = register(client)
    sock = connect(account)
    assert sock.is_connected(NS)
    assert wait_until(lambda: not sock.is_connected(NS)), "the socket outlived its token"


def test_auth_refresh_keeps_the_socket(app, client, connect, short_tokens, presence_store):
    account = register(client)
    sock = connect(account)
    # A token's exp is in whole seconds, so a 2-second token may live only just over one:
    # refreshed every half second, the socket outlives its first token twice over.
    for _ in range(8):
        time.sleep(0.5)
        fresh = client.post("/api/auth/refresh", headers=bearer(account.refresh_token))
        result = ack(sock, "auth:refresh", {"token": fresh.get_json()["access_token"]})
        assert result["ok"] is True, result
        assert result["expires_at"] > time.time()
    assert sock.is_connected(NS)
    time.sleep(0.5)
    assert ack(sock, "chat:leave-room", {"room_id": 1})["ok"] is True
    # Still found by its sign-in: logging out closes it.
    assert client.post("/api/auth/logout",
                       headers=bearer(account.refresh_token)).status_code == 204
    assert not sock.is_connected(NS)
    assert presence_store.count() == 0


@pytest.mark.parametrize("kind", ["garbage", "refresh", "another-user"])
def test_auth_refresh_with_a_wrong_token_is_refused(client, connect, kind: str):
    account = register(client)
    other = register(client)
    token = {"garbage": "not-a-jwt", "refresh": account.refresh_token,
             "another-user": other.access_token}[kind]
    sock = connect(account)
    result = ack(sock, "auth:refresh", {"token": token})
    assert result["ok"] is False and result["error"]["code"] == "unauthorized", result
    assert sock.is_connected(NS)


def test_events_of_an_expired_socket_are_refused(app, client, connect, short_tokens,
                                                 monkeypatch):
    from web import presence_hooks

    account = register(client)
    sock = connect(account)
    # The expiry timer has not run yet: the event itself must check.
    monkeypatch.setattr(presence_hooks, "expiry_due", lambda: [])
    time.sleep(2.5)
    result = ack(sock, "chat:leave-room", {"room_id": 1})
    assert result == {"ok": False, "error": {"code": "unauthorized",
                                             "message": result["error"]["message"]}}


def test_logout_with_a_refreshed_token_disconnects_the_sockets_of_that_login(client, connect,
                                                                          presence_store):
    account = register(client)
    other_login = login(client, account.email)
    first = connect(account)
    kept = connect(other_login)
    refreshed = client.post("/api/auth/refresh", headers=bearer(account.refresh_token))
    access2 = refreshed.get_json()["access_token"]
    second = connect(Account(**{**account.__dict__, "access_token": access2}))

    assert client.post("/api/auth/logout", headers=bearer(access2)).status_code == 204

    assert not first.is_connected(NS)
    assert not second.is_connected(NS)
    assert kept.is_connected(NS)
    assert presence_store.count() == 1


def test_logout_with_the_refresh_token_disconnects_the_sockets(client, connect):
    account = register(client)
    sock = connect(account)
    assert client.post("/api/auth/logout",
                       headers=bearer(account.refresh_token)).status_code == 204
    assert not sock.is_connected(NS)


def test_logout_everywhere_disconnects_every_socket_of_the_user(client, connect):
    account = register(client)
    other_login = login(client, account.email)
    bystander = register(client)
    socks = [connect(account), connect(other_login)]
    theirs = connect(bystander)
    response = client.post("/api/auth/logout", json={"everywhere": True},
                           headers=account.headers)
    assert response.status_code == 204
    assert not any(sock.is_connected(NS) for sock in socks)
    assert theirs.is_connected(NS)
