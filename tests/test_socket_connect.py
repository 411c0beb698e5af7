"""The Socket.IO handshake on /realtime: who is let in, which rooms they join, logout."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from actions import events
from infra import presence
from tests.factories import Account, business, register, staff
from tests.helpers import NAMESPACE as NS
from tests.test_auth import BAD_TOKEN_KINDS, bad_access_token, bearer
from web.extensions import socketio

Connect = Callable[..., object]


@pytest.fixture
def connect(app) -> Iterator[Connect]:
    """Open test sockets to /realtime; whatever is still connected is closed afterwards."""
    opened = []

    def open_socket(token: str | None = None, headers: dict | None = None, auth: object = ...):
        if auth is ...:
            auth = {"token": token} if token is not None else None
        sock = socketio.test_client(app, namespace=NS, auth=auth, headers=headers)
        opened.append(sock)
        return sock

    yield open_socket
    for sock in opened:
        if sock.is_connected(NS):
            sock.disconnect(NS)


def _rooms(sock) -> set[str]:
    sid = socketio.server.manager.sid_from_eio_sid(sock.eio_sid, NS)
    assert sid is not None
    return set(socketio.server.rooms(sid, namespace=NS))


def _received(sock, event: str) -> list:
    return [item["args"][0] for item in sock.get_received(NS) if item["name"] == event]


def _assert_nothing_present(store) -> None:
    assert store.count() == 0
    assert store.online_user_ids() == []


# --------------------------------------------------------------------------- refused


def test_refused_without_a_token(connect, presence_store):
    sock = connect()
    assert not sock.is_connected(NS)
    _assert_nothing_present(presence_store)


@pytest.mark.parametrize(
    "auth",
    [{}, {"token": ""}, {"token": None}, {"token": 12345}, {"token": ["a", "b"]},
     {"token": "x" * 10_000}, "just-a-string"],
    ids=["empty-auth", "empty-token", "null-token", "number", "list", "huge", "string-auth"],
)
def test_refused_with_a_malformed_handshake(connect, auth: object):
    sock = connect(auth=auth)
    assert not sock.is_connected(NS)
    _assert_nothing_present(presence.store())


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_refused_with_a_bad_token(app, client, connect, presence_store, kind: str):
    account = register(client)
    token = bad_access_token(kind, app, client, account)
    by_auth = connect(token)
    assert not by_auth.is_connected(NS)
    by_header = connect(headers=bearer(token))
    assert not by_header.is_connected(NS)
    _assert_nothing_present(presence_store)


# --------------------------------------------------------------------------- accepted


def test_accepted_with_a_valid_token_in_auth(client, connect, presence_store):
    account = register(client)
    sock = connect(account.access_token)
    assert sock.is_connected(NS)
    assert presence_store.is_online(account.id)
    assert presence_store.count() == 1


def test_accepted_with_a_bearer_header(client, connect):
    account = register(client)
    sock = connect(headers=account.headers)
    assert sock.is_connected(NS)
    assert events.user_channel(account.id) in _rooms(sock)


def test_customer_socket_joins_only_its_user_room(client, connect):
    customer = register(client)
    created, _ = business(client)
    sock = connect(customer.access_token)
    rooms = _rooms(sock)
    assert f"user:{customer.id}" in rooms
    assert not any(room.startswith("business:") for room in rooms)

    events.emit_now("test:ping", {"n": 1}, to=f"user:{customer.id}")
    events.emit_now("test:ping", {"n": 2}, to=f"business:{created['id']}")
    assert _received(sock, "test:ping") == [{"n": 1}]


@pytest.mark.parametrize("role", ["owner", "staff"])
def test_staff_and_owner_sockets_join_the_business_room(client, connect, role: str):
    created, owner = business(client)
    member: Account = owner if role == "owner" else staff(client, owner)
    _, other_owner = business(client, name="Elsewhere")
    sock = connect(member.access_token)
    rooms = _rooms(sock)
    assert f"user:{member.id}" in rooms
    assert f"business:{created['id']}" in rooms
    assert f"business:{other_owner.business_id}" not in rooms
    sock.get_received(NS)  # drop presence events of the connect itself

    events.emit_now("test:ping", {"to": "business"}, to=f"business:{created['id']}")
    events.emit_now("test:ping", {"to": "user"}, to=f"user:{member.id}")
    events.emit_now("test:ping", {"to": "other"}, to=f"business:{other_owner.business_id}")
    assert _received(sock, "test:ping") == [{"to": "business"}, {"to": "user"}]


# --------------------------------------------------------------------------- logout


def test_logout_disconnects_the_sockets_of_that_token(client, connect, presence_store):
    account = register(client)
    second_login = client.post("/api/auth/login",
                               json={"email": account.email, "password": "correct-horse-battery"})
    other_token = second_login.get_json()["access_token"]
    first = connect(account.access_token)
    same_token_by_header = connect(headers=account.headers)
    other = connect(other_token)
    assert first.is_connected(NS) and same_token_by_header.is_connected(NS)
    assert other.is_connected(NS)

    assert client.post("/api/auth/logout", headers=account.headers).status_code == 204

    assert not first.is_connected(NS)
    assert not same_token_by_header.is_connected(NS)
    assert other.is_connected(NS)
    assert presence_store.count() == 1
    # The revoked token cannot come back.
    assert not connect(account.access_token).is_connected(NS)
