"""The database out of reach for a while, with real processes: sends fail clearly
("unavailable"), nothing is half-written, and work (sends and automation) resumes by itself.

PostgreSQL is reached through a proxy the test cuts (every connection dropped, new ones
refused) and restores, so this test uses PostgreSQL in the SQLite pass as well (SQLite has
no server to lose)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.factories import ALWAYS_OPEN
from tests.helpers import NAMESPACE
from tests.helpers.cluster import wait_until
from tests.helpers.databases import PG_SERVER, create_pg_database, drop_pg_database
from tests.helpers.live import LiveStack, connect_socket, stack_env, start_web, start_worker
from tests.processes import BIN, Api, free_port, run_command, stop_process, wait_for_url
from tests.tcp_proxy import TcpProxy

REDIS_DB = 5


@pytest.fixture(scope="module")
def pg_stack(redis_server: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[LiveStack, TcpProxy]]:
    try:
        name, direct_url = create_pg_database()
    except Exception as exc:  # noqa: BLE001 - the reason is reported
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}: {exc}")
    pg_port = int(PG_SERVER.rsplit(":", 1)[1])
    proxy = TcpProxy(pg_port)
    proxied_url = direct_url.replace(f":{pg_port}/", f":{proxy.port}/")
    redis_url = f"{redis_server.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    instance = tmp_path_factory.mktemp("db-outage-instance")
    port = free_port()
    env = stack_env(proxied_url, redis_url, instance, port)
    stack = LiveStack(base_url=f"http://127.0.0.1:{port}", env=env)
    try:
        run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)
        stack.processes.append(start_web(env, instance))
        stack.processes.append(start_worker(env, instance))
        wait_for_url(f"{stack.base_url}/healthz", stack.processes)
        yield stack, proxy
    finally:
        proxy.restore()
        for process in stack.processes:
            stop_process(process)
        proxy.close()
        drop_pg_database(name)


def test_sends_fail_clearly_while_the_database_is_away_and_resume_after(pg_stack):
    stack, proxy = pg_stack
    api = Api(stack.base_url)
    business, owner = api.business(name=f"Outage Salon {uuid.uuid4().hex[:6]}",
                                   business_hours=ALWAYS_OPEN)
    question = api.call("GET", "/api/chat/faqs", token=owner, expect=200)["faqs"][0]["question"]
    customer = api.register(name="Outage Customer")["access_token"]
    room_id = api.call("POST", "/api/chat/rooms/create", token=customer, expect=201,
                       json={"business_id": business["id"]})["room"]["id"]
    client, _ = connect_socket(stack.base_url, customer, [])
    try:
        assert client.call("chat:join-room", {"room_id": room_id}, namespace=NAMESPACE,
                           timeout=10)["ok"] is True

        def send(content: str, client_msg_id: str) -> dict:
            return client.call("chat:send-message",
                               {"room_id": room_id, "content": content,
                                "client_msg_id": client_msg_id},
                               namespace=NAMESPACE, timeout=15)

        assert send("before", "db-1")["ok"] is True

        proxy.cut()
        try:
            refused = send("during", "db-2")
            assert refused["ok"] is False, refused
            assert refused["error"]["code"] == "unavailable", refused
            response = api.http.post(f"{stack.base_url}/api/chat/rooms/{room_id}/messages",
                                     json={"content": "during rest"}, timeout=15,
                                     headers={"Authorization": f"Bearer {customer}"})
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable"
        finally:
            proxy.restore()

        # The client retries the same send: stored once; the FAQ question is answered.
        wait_until(lambda: send("during", "db-2")["ok"] is True, 30, "sends to resume")
        assert send(question, "db-3")["ok"] is True

        def messages() -> list[dict]:
            return api.call("GET", f"/api/chat/rooms/{room_id}/messages?limit=100",
                            token=customer, expect=200)["messages"]

        wait_until(lambda: any(m["kind"] == "faq" for m in messages()), 30, "the FAQ answer")
        history = messages()
        customer_lines = [m["content"] for m in history if m["sender_type"] == "customer"]
        assert customer_lines == ["before", "during", question]
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    finally:
        client.disconnect()
