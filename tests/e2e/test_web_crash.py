"""A web process killed (SIGKILL) in the middle of a burst of sends loses nothing that was
acked: after a restart, a client that retries its unacked sends with their client_msg_id and
rejoins with after_seq ends with every message exactly once, in a gap-free order."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import socketio

from tests.helpers import NAMESPACE
from tests.helpers.live import LiveStack, connect_socket, stack_env, start_web
from tests.processes import BIN, Api, free_port, run_command, stop_process, wait_for_url

REDIS_DB = 6
BURST = 60


@pytest.fixture(scope="module")
def web_stack(stack_database: str, redis_server: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveStack, Path]]:
    redis_url = f"{redis_server.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    instance = tmp_path_factory.mktemp("crash-instance")
    port = free_port()
    env = stack_env(stack_database, redis_url, instance, port)
    run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)
    stack = LiveStack(base_url=f"http://127.0.0.1:{port}", env=env)
    try:
        stack.processes.append(start_web(env, instance))
        wait_for_url(f"{stack.base_url}/healthz", stack.processes)
        yield stack, instance
    finally:
        for process in stack.processes:
            stop_process(process)


def test_a_killed_web_process_loses_no_acked_message(web_stack: tuple[LiveStack, Path]):
    stack, instance = web_stack
    api = Api(stack.base_url)
    business, owner = api.business(name=f"Crash Salon {uuid.uuid4().hex[:6]}")
    customer = api.register(name="Crash Customer")["access_token"]
    room_id = api.call("POST", "/api/chat/rooms/create", token=customer, expect=201,
                       json={"business_id": business["id"]})["room"]["id"]
    client, _ = connect_socket(stack.base_url, customer, [])
    assert client.call("chat:join-room", {"room_id": room_id}, namespace=NAMESPACE,
                       timeout=10)["ok"] is True

    ids = [f"crash-{i}" for i in range(BURST)]
    acked: dict[str, dict] = {}
    enough = threading.Event()

    def burst() -> None:
        for index, client_msg_id in enumerate(ids):
            try:
                ack = client.call("chat:send-message",
                                  {"room_id": room_id, "content": f"line {index}",
                                   "client_msg_id": client_msg_id},
                                  namespace=NAMESPACE, timeout=3)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.DisconnectedError):
                return
            if ack and ack.get("ok"):
                acked[client_msg_id] = ack["message"]
            if len(acked) >= BURST // 3:
                enough.set()

    sender = threading.Thread(target=burst)
    sender.start()
    assert enough.wait(30), "the burst did not start"
    web = stack.process("web")
    web.popen.kill()  # SIGKILL: no shutdown, no flush
    web.popen.wait(10)
    sender.join(30)
    client.disconnect()
    assert 0 < len(acked) < BURST

    stack.processes.remove(web)
    stack.processes.append(start_web(stack.env, instance))
    wait_for_url(f"{stack.base_url}/healthz", stack.processes)

    # The client comes back: rejoin after the last seq it saw, then retry what was not acked.
    last_seen = max(message["seq"] for message in acked.values())
    again, _ = connect_socket(stack.base_url, customer, [])
    try:
        joined = again.call("chat:join-room", {"room_id": room_id, "after_seq": last_seen},
                            namespace=NAMESPACE, timeout=10)
        assert joined["ok"] is True, joined
        caught_up = {m["client_msg_id"] for m in joined["messages"]}
        for index, client_msg_id in enumerate(ids):
            if client_msg_id in acked:
                continue
            ack = again.call("chat:send-message",
                             {"room_id": room_id, "content": f"line {index}",
                              "client_msg_id": client_msg_id},
                             namespace=NAMESPACE, timeout=10)
            assert ack["ok"] is True, ack
            # A send stored just before the kill comes back as the stored message.
            assert ack["duplicate"] is (client_msg_id in caught_up), (client_msg_id, ack)
    finally:
        again.disconnect()

    history = api.call("GET", f"/api/chat/rooms/{room_id}/messages?limit=200",
                       token=customer, expect=200)["messages"]
    mine = [m for m in history if m["sender_type"] == "customer"]
    assert [m["client_msg_id"] for m in mine] == ids, "every message once, in order"
    for client_msg_id, message in acked.items():
        assert next(m for m in mine if m["client_msg_id"] == client_msg_id)["id"] == message["id"]
    assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
