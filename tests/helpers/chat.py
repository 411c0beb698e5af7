"""Chat helpers: quiet businesses (no bot replies), REST and socket shortcuts, the database
as the record, and real web processes on the session database for the concurrency tests;
with the fixtures that tests/chat and tests/security share (their conftest files take them
from here)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests import factories
from tests.factories import Account, Shop
from tests.helpers import NAMESPACE
from tests.processes import BIN, Api, Process, free_port, start_process, stop_process, wait_for_url

CHAT = "/api/chat"
JWT_SECRET = "test-secret-key-that-is-long-enough-for-hs256"


# --- businesses -----------------------------------------------------------------------------


def silence_bots(app, business_id: int) -> None:
    """Deactivate the business's auto-responses and FAQs, so no bot message takes a seq."""
    from infra import faq_index
    from models import AutoResponse, Business, Faq, db

    with app.app_context():
        db.session.execute(update(AutoResponse).where(AutoResponse.business_id == business_id)
                           .values(is_active=False))
        db.session.execute(update(Faq).where(Faq.business_id == business_id)
                           .values(is_active=False))
        db.session.execute(update(Business).where(Business.id == business_id)
                           .values(faq_version=Business.faq_version + 1))
        db.session.commit()
    # The index cache is keyed by business id, and ids restart when tables are emptied.
    faq_index.clear()


def make_shop(app, client, name: str = "Studio", quiet: bool = True) -> Shop:
    """A business that is always open; ``quiet``: its bots say nothing."""
    shop = factories.shop(client, name, hours=factories.ALWAYS_OPEN)
    if quiet:
        silence_bots(app, shop.id)
    return shop


@pytest.fixture
def shop(app, client) -> Shop:
    """A business that is always open and whose bots say nothing."""
    return make_shop(app, client, "Salon")


@pytest.fixture
def other_shop(app, client) -> Shop:
    return make_shop(app, client, "Clinic")


@pytest.fixture
def customer(client) -> Account:
    return factories.register(client, name="Carla Customer")


# --- REST shortcuts -------------------------------------------------------------------------


def open_room(client, who: Account, business_id: int, expect: int | None = None) -> dict:
    response = client.post(f"{CHAT}/rooms/create", json={"business_id": business_id},
                           headers=who.headers)
    assert response.status_code in ((expect,) if expect else (200, 201)), response.get_json()
    return response.get_json()["room"]


def staff_room(client, who: Account, participant_ids: list[int], name: str | None = None,
               expect: int | None = None):
    body: dict = {"type": "staff", "participant_ids": participant_ids}
    if name is not None:
        body["name"] = name
    response = client.post(f"{CHAT}/rooms/create", json=body, headers=who.headers)
    if expect is not None:
        assert response.status_code == expect, response.get_json()
    return response


def post_message(client, who: Account, room_id: int, body: object):
    return client.post(f"{CHAT}/rooms/{room_id}/messages", json=body, headers=who.headers)


def send(client, who: Account, room_id: int, content: str = "hello", **extra) -> dict:
    response = post_message(client, who, room_id, {"content": content, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["message"]


def send_many(client, who: Account, room_id: int, count: int, prefix: str = "m") -> list[dict]:
    return [send(client, who, room_id, f"{prefix}{i}") for i in range(count)]


def history(client, who: Account, room_id: int, expect: int = 200, **params) -> dict:
    response = client.get(f"{CHAT}/rooms/{room_id}/messages", query_string=params,
                          headers=who.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def mark_read(client, who: Account, room_id: int, up_to_seq: object, expect: int = 200) -> dict:
    response = client.put(f"{CHAT}/rooms/{room_id}/messages/read", json={"up_to_seq": up_to_seq},
                          headers=who.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def room_list(client, who: Account) -> list[dict]:
    response = client.get(f"{CHAT}/rooms", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rooms"]


def get_room(client, who: Account, room_id: int) -> dict:
    response = client.get(f"{CHAT}/rooms/{room_id}", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["room"]


def seqs(messages: list[dict]) -> list[int]:
    return [m["seq"] for m in messages]


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# --- the database as the record ---------------------------------------------------------------


def stored(app, room_id: int | None = None) -> list[tuple]:
    """(room_id, seq, sender_id, sender_type, content) of every stored message, by room and seq."""
    from models import Message, db

    with app.app_context():
        query = select(Message.room_id, Message.seq, Message.sender_id, Message.sender_type,
                       Message.content)
        if room_id is not None:
            query = query.where(Message.room_id == room_id)
        return [tuple(row) for row in db.session.execute(
            query.order_by(Message.room_id, Message.seq))]


def message_count(app) -> int:
    from models import Message, db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message))


def room_count(app) -> int:
    from models import Room, db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Room))


def set_room_status(app, room_id: int, status: str) -> None:
    from models import Room, db

    with app.app_context():
        db.session.execute(update(Room).where(Room.id == room_id).values(status=status))
        db.session.commit()


# --- sockets --------------------------------------------------------------------------------


@pytest.fixture
def connect(app) -> Iterator:
    """connect(account) -> a connected Socket.IO test client on /realtime; all closed after."""
    from web.extensions import socketio

    opened = []

    def _connect(account: Account):
        sock = socketio.test_client(app, namespace=NAMESPACE, auth={"token": account.access_token})
        assert sock.is_connected(NAMESPACE), "the socket was refused"
        opened.append(sock)
        return sock

    yield _connect
    for sock in opened:
        if sock.is_connected(NAMESPACE):
            sock.disconnect(NAMESPACE)


def ack(sock, event: str, payload: object) -> dict:
    result = sock.emit(event, payload, namespace=NAMESPACE, callback=True)
    assert isinstance(result, dict), f"{event} answered {result!r}"
    return result


def ok(sock, event: str, payload: object) -> dict:
    result = ack(sock, event, payload)
    assert result["ok"] is True, result
    return result


def refused(sock, event: str, payload: object) -> dict:
    """The ack of a refused event; returns its error."""
    result = ack(sock, event, payload)
    assert result["ok"] is False, result
    assert set(result["error"]) >= {"code", "message"}, result
    return result["error"]


def join(sock, room_id: int, **extra) -> dict:
    return ok(sock, "chat:join-room", {"room_id": room_id, **extra})


def received(sock) -> list[tuple[str, dict]]:
    """Every (event, payload) the socket got since the last call."""
    return [(pkt["name"], pkt["args"][0] if pkt["args"] else None)
            for pkt in sock.get_received(NAMESPACE)]


def payloads(sock, event: str) -> list[dict]:
    return [payload for name, payload in received(sock) if name == event]


def drain(*socks) -> None:
    for sock in socks:
        sock.get_received(NAMESPACE)


# --- real web processes -------------------------------------------------------------------------
# The process primitives are the live stack's (tests/processes.py); these processes differ
# in running on the session database, which the `app` fixture has migrated and emptied.


@dataclass
class WebProcess:
    url: str
    process: Process


def web_env(database_url: str, instance: Path, port: int, redis_url: str | None) -> dict:
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": database_url,
        "JWT_SECRET_KEY": JWT_SECRET,
        "INSTANCE_PATH": str(instance),
        "UPLOAD_DIR": str(instance / "uploads"),
        "RATE_LIMIT_MESSAGES": "100000/minute",
        "RATE_LIMIT_AUTH": "100000/minute",
        "LOG_LEVEL": "WARNING",
        "ASYNC_MODE": "eventlet",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AUTO_MIGRATE", None)
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@pytest.fixture
def web_processes(app, tmp_path) -> Iterator:
    """start(redis_url=None, name=...) -> a running `python -m web.serve` on the session
    database (a free port, waited for on /healthz); all stopped after the test."""
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]

    def start(redis_url: str | None = None, name: str | None = None) -> WebProcess:
        name = name or f"web{len(start.started)}"
        instance = tmp_path / name
        instance.mkdir()
        port = free_port()
        process = start_process(name, [str(BIN / "python"), "-m", "web.serve"],
                                web_env(database_url, instance, port, redis_url), tmp_path)
        start.started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_for_url(f"{url}/healthz", [process])
        return WebProcess(url, process)

    start.started = []
    yield start
    for process in start.started:
        stop_process(process)



def isolated_redis(redis_url: str, db_index: int = 7) -> str:
    """The same redis-server, another database: these processes' keys stay apart and start empty."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + f"/{db_index}"
    redis.Redis.from_url(url).flushdb()
    return url


def as_account(body: dict, token: str | None = None) -> Account:
    user = body["user"]
    return Account(user["id"], user["email"], user["name"], user["role"], user["business_id"],
                   token or body["access_token"], body.get("refresh_token", ""))


def remote_room(api: Api) -> tuple[int, Account, Account]:
    """Over HTTP: an always-open business with a staff member, and a customer's room in it.
    Returns (room id, customer, staff)."""
    business, owner_token = api.business(name="Remote Salon",
                                         business_hours=factories.ALWAYS_OPEN)
    email = f"remote-staff-{business['id']}@example.com"
    api.call("POST", f"/api/businesses/{business['id']}/staff", token=owner_token, expect=201,
             json={"email": email, "password": factories.PASSWORD, "name": "Remote Staff"})
    staff = as_account(api.call("POST", "/api/auth/login", expect=200,
                                json={"email": email, "password": factories.PASSWORD}))
    customer = as_account(api.register(name="Remote Customer"))
    room = api.call("POST", f"{CHAT}/rooms/create", token=customer.access_token, expect=201,
                    json={"business_id": business["id"]})["room"]
    return room["id"], customer, staff
