"""Concurrent senders against real web processes (`python -m web.serve`): the room's seqs stay
exactly 1..N and every message is stored once, whichever process took it.

PostgreSQL: two processes sharing the database and Redis. SQLite: one process in embedded
mode (its customer messages run the automation in-process, so bot messages interleave too);
concurrent writers must wait for SQLite's lock, not fail.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import select

from tests import factories
from tests.factories import Account
from tests.helpers.chat import (
    CHAT,
    get_room,
    isolated_redis,
    make_shop,
    open_room,
    remote_room,
    room_count,
)
from tests.processes import Api

SENDERS = 8
PER_SENDER = 25


@dataclass
class Sent:
    sender_id: int
    client_msg_id: str
    status: int
    seq: int | None


Post = Callable[[Account, int, str, dict], tuple[int, dict]]


def send_concurrently(post: Post, targets: int, room_id: int,
                      senders: list[Account]) -> list[Sent]:
    """SENDERS threads x PER_SENDER messages, all threads starting together; thread i sends as
    senders[i % len(senders)] and alternates between the targets (processes) message by
    message. A thread stops at its first refused send, so a broken server fails fast."""
    start = threading.Barrier(SENDERS)
    path = f"{CHAT}/rooms/{room_id}/messages"

    def worker(i: int) -> list[Sent]:
        who = senders[i % len(senders)]
        start.wait()
        results = []
        for j in range(PER_SENDER):
            client_msg_id = f"t{i}-m{j}"
            status, body = post(who, (i + j) % targets, path,
                                {"content": f"thread {i} message {j}",
                                 "client_msg_id": client_msg_id})
            seq = body["message"]["seq"] if status == 201 else None
            results.append(Sent(who.id, client_msg_id, status, seq))
            if status != 201:
                break
        return results

    with ThreadPoolExecutor(SENDERS) as pool:
        return [sent for batch in pool.map(worker, range(SENDERS)) for sent in batch]


def over_http(urls: list[str]) -> Post:
    local = threading.local()

    def post(who: Account, target: int, path: str, body: dict) -> tuple[int, dict]:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        try:
            response = local.http.post(urls[target] + path, json=body, timeout=90,
                                       headers={"Authorization": f"Bearer {who.access_token}"})
        except requests.RequestException as exc:
            return 599, {"error": repr(exc)}
        return response.status_code, response.json()

    return post


def assert_gap_free_and_complete(app, room_id: int, sent: list[Sent]) -> None:
    from models import Message, Room, db

    statuses = Counter(s.status for s in sent)
    assert len(sent) == SENDERS * PER_SENDER, f"sends refused: {statuses}"
    with app.app_context():
        rows = db.session.execute(
            select(Message.seq, Message.sender_id, Message.sender_type, Message.client_msg_id)
            .where(Message.room_id == room_id).order_by(Message.seq)).all()
        last_seq = db.session.scalar(select(Room.last_seq).where(Room.id == room_id))

    n = len(rows)
    assert [row.seq for row in rows] == list(range(1, n + 1))
    assert last_seq == n
    people = Counter((row.sender_id, row.client_msg_id) for row in rows
                     if row.sender_type != "bot")
    assert set(people) == {(s.sender_id, s.client_msg_id) for s in sent}
    assert set(people.values()) == {1}, "a message was stored twice"
    # Each ack names the seq its message was stored under.
    by_key = {(row.sender_id, row.client_msg_id): row.seq for row in rows}
    assert all(by_key[(s.sender_id, s.client_msg_id)] == s.seq for s in sent)


def test_two_postgres_processes_keep_seqs_gap_free(app, is_postgres, redis_server,
                                                   web_processes):
    if not is_postgres:
        pytest.skip("two web processes on one database need PostgreSQL; "
                    "run with TEST_DATABASE=postgres")
    redis_url = isolated_redis(redis_server)
    first = web_processes(redis_url, name="web-a")
    second = web_processes(redis_url, name="web-b")
    room_id, customer, staff = remote_room(Api(first.url))

    sent = send_concurrently(over_http([first.url, second.url]), 2, room_id, [customer, staff])

    assert_gap_free_and_complete(app, room_id, sent)


def test_one_sqlite_process_makes_concurrent_writers_wait(app, is_postgres, web_processes):
    if is_postgres:
        pytest.skip("the SQLite variant; this session runs on PostgreSQL")
    web = web_processes(name="web-embedded")
    room_id, customer, staff = remote_room(Api(web.url))

    sent = send_concurrently(over_http([web.url]), 1, room_id, [customer, staff])

    assert_gap_free_and_complete(app, room_id, sent)


def test_threads_in_one_app_keep_seqs_gap_free(app, client):
    """The same race inside the test app (real threads, either database), bots switched on."""
    shop = make_shop(app, client, "Threaded", quiet=False)
    customer = factories.register(client)
    room = open_room(client, customer, shop.id)

    def post(who: Account, _target: int, path: str, body: dict) -> tuple[int, dict]:
        response = app.test_client().post(path, json=body, headers=who.headers)
        return response.status_code, response.get_json()

    sent = send_concurrently(post, 1, room["id"], [customer, shop.staff])

    assert_gap_free_and_complete(app, room["id"], sent)


def race(count: int, action: Callable[[int], object]) -> list:
    """Run action(0..count-1) on count threads released together; their results in order."""
    start = threading.Barrier(count)

    def run(i: int) -> object:
        start.wait()
        return action(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_racing_tabs_open_one_room(app, client):
    """Eight tabs of one customer open the conversation at once: one room, created once."""
    shop = make_shop(app, client, "Racing")
    customer = factories.register(client)

    def open_it(_i: int) -> tuple[int, int]:
        response = app.test_client().post(f"{CHAT}/rooms/create", headers=customer.headers,
                                          json={"business_id": shop.id})
        return response.status_code, response.get_json()["room"]["id"]

    results = race(8, open_it)

    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert len({room_id for _, room_id in results}) == 1
    assert room_count(app) == 1


def test_racing_read_receipts_end_at_the_highest(app, client):
    shop = make_shop(app, client, "Reading")
    customer = factories.register(client)
    room = open_room(client, customer, shop.id)
    for i in range(12):
        client.post(f"{CHAT}/rooms/{room['id']}/messages", json={"content": f"m{i}"},
                    headers=shop.staff.headers)
    wanted = [5, 12, 3, 9, 1, 11, 7, 2]

    def read(i: int) -> int:
        response = app.test_client().put(f"{CHAT}/rooms/{room['id']}/messages/read",
                                         json={"up_to_seq": wanted[i]},
                                         headers=customer.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["up_to_seq"]

    answers = race(len(wanted), read)

    assert all(answer >= asked for answer, asked in zip(answers, wanted, strict=True))
    again = client.put(f"{CHAT}/rooms/{room['id']}/messages/read", json={"up_to_seq": 0},
                       headers=customer.headers)
    assert again.get_json()["up_to_seq"] == 12
    assert get_room(client, customer, room["id"])["unread_count"] == 0


def test_racing_first_reads_by_one_staff_member_all_succeed(app, client):
    """Staff read a customer room without a participant row until their first read; two tabs
    making that first read at once must both succeed."""
    shop = make_shop(app, client, "First reads")
    customer = factories.register(client)
    room = open_room(client, customer, shop.id)
    for i in range(5):
        client.post(f"{CHAT}/rooms/{room['id']}/messages", json={"content": f"m{i}"},
                    headers=customer.headers)

    def read(i: int) -> int:
        response = app.test_client().put(f"{CHAT}/rooms/{room['id']}/messages/read",
                                         json={"up_to_seq": 1 + i % 5},
                                         headers=shop.staff.headers)
        return response.status_code

    assert race(8, read) == [200] * 8
    assert get_room(client, shop.staff, room["id"])["unread_count"] == 0
