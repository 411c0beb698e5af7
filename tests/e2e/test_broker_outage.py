"""A send is acked once it is stored, whatever the broker does; the automation waits for the
broker and then runs once per message.

The web process and a worker run for real; the Socket.IO message queue uses Redis
directly, while the Celery broker (CELERY_BROKER_URL, the same Redis database) is reached
through a proxy that the test pauses (every byte held: a broker that answers late) or cuts
(connections dropped and refused: a broker that is down)."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import socketio

from tests.factories import ALWAYS_OPEN
from tests.helpers import NAMESPACE
from tests.helpers.cluster import settle, wait_until
from tests.helpers.live import (
    EventRecorder,
    LiveStack,
    connect_socket,
    stack_env,
    start_web,
    start_worker,
)
from tests.processes import (
    BIN,
    Api,
    free_port,
    run_command,
    stop_process,
    wait_for_url,
)
from tests.tcp_proxy import TcpProxy

REDIS_DB = 3
# Longer than the broker's socket timeout (celeryconfig: 5 s), so a publish that the pause
# holds times out and is sent again: the rerun must not answer twice.
PAUSE_SECONDS = 6.5
ACK_BOUND = 2.5


@dataclass
class BrokerStack:
    stack: LiveStack
    proxy: TcpProxy
    api: Api


@pytest.fixture(scope="module")
def broker_stack(stack_database: str, redis_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerStack]:
    redis_url = f"{redis_server.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    proxy = TcpProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    instance = tmp_path_factory.mktemp("broker-instance")
    port = free_port()
    env = stack_env(stack_database, redis_url, instance, port)
    env["CELERY_BROKER_URL"] = proxy.url(REDIS_DB)
    run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)
    stack = LiveStack(base_url=f"http://127.0.0.1:{port}", env=env)
    try:
        stack.processes.append(start_web(env, instance))
        stack.processes.append(start_worker(env, instance))
        wait_for_url(f"{stack.base_url}/healthz", stack.processes)
        yield BrokerStack(stack, proxy, Api(stack.base_url))
    finally:
        proxy.resume()
        for process in stack.processes:
            stop_process(process)
        proxy.close()


@dataclass
class Customer:
    token: str
    room_id: int
    client: socketio.Client
    events: EventRecorder


def _customers(env: BrokerStack, count: int, opened: list) -> tuple[list[Customer], list[dict]]:
    business, owner = env.api.business(name=f"Broker Salon {uuid.uuid4().hex[:6]}",
                                       business_hours=ALWAYS_OPEN)
    faqs = env.api.call("GET", "/api/chat/faqs", token=owner, expect=200)["faqs"]
    customers = []
    for _ in range(count):
        token = env.api.register(name="Broker Customer")["access_token"]
        room = env.api.call("POST", "/api/chat/rooms/create", token=token, expect=201,
                            json={"business_id": business["id"]})["room"]
        client, events = connect_socket(env.stack.base_url, token,
                                        ["chat:new-message", "chat:faq-response"])
        opened.append(client)
        joined = client.call("chat:join-room", {"room_id": room["id"]}, namespace=NAMESPACE,
                             timeout=10)
        assert joined["ok"] is True, joined
        customers.append(Customer(token, room["id"], client, events))
    return customers, faqs


def _send(customer: Customer, content: str, timeout: float = 10) -> dict:
    ack = customer.client.call("chat:send-message",
                               {"room_id": customer.room_id, "content": content,
                                "client_msg_id": uuid.uuid4().hex},
                               namespace=NAMESPACE, timeout=timeout)
    assert ack is not None and ack.get("ok") is True, ack
    return ack["message"]


def _history(env: BrokerStack, customer: Customer) -> list[dict]:
    return env.api.call("GET", f"/api/chat/rooms/{customer.room_id}/messages?limit=200",
                        token=customer.token, expect=200)["messages"]


def _faq_answers(env: BrokerStack, customer: Customer) -> list[dict]:
    return [m for m in _history(env, customer) if m["kind"] == "faq"]


@pytest.fixture
def opened() -> Iterator[list]:
    clients: list = []
    yield clients
    for client in clients:
        client.disconnect()


def _burst_while(env: BrokerStack, outage: str, opened: list) -> None:
    customers, faqs = _customers(env, 8, opened)
    questions = [faq["question"] for faq in faqs[:2]]
    assert len(questions) == 2
    # The pipeline works through the proxy before the outage.
    _send(customers[0], questions[0])
    wait_until(lambda: len(_faq_answers(env, customers[0])) == 1, 20, "first answer")
    before = {c.room_id: len(_faq_answers(env, c)) for c in customers}

    getattr(env.proxy, outage)()
    try:
        # Half the broker's socket timeout: an ack that waited on the broker cannot make it
        # (socketio raises TimeoutError), while a stored-then-acked send takes milliseconds.
        sent = [_send(customer, question, timeout=ACK_BOUND)
                for customer in customers for question in questions]
        # Every send was acked and stored while the broker could not be reached, and no
        # automation ran: the outage was real.
        assert len(sent) == 16 and all(m["id"] for m in sent)
        settle(customers[0].events, PAUSE_SECONDS)
        for customer in customers:
            history = _history(env, customer)
            assert {m["id"] for m in sent if m["room_id"] == customer.room_id} <= {
                m["id"] for m in history}
            assert len([m for m in history if m["kind"] == "faq"]) == before[customer.room_id]
    finally:
        env.proxy.resume() if outage == "pause" else env.proxy.restore()

    # After recovery each question gets its answer, once.
    for customer in customers:
        wait_until(lambda c=customer: len(_faq_answers(env, c)) == before[c.room_id] + 2, 30,
                   f"answers in room {customer.room_id}")
    settle(customers[-1].events, 2.0)
    for customer in customers:
        history = _history(env, customer)
        answers = [m for m in history if m["kind"] == "faq"]
        assert len(answers) == before[customer.room_id] + 2, answers
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
        for answer in answers:
            customer.events.wait_for("chat:faq-response",
                                     lambda d, i=answer["id"]: d["message"]["id"] == i)
        settle(customer.events, 0.1)
        emitted = Counter(data["message"]["id"] for name, data in customer.events.seen
                          if name == "chat:faq-response")
        assert sorted(emitted) == sorted(m["id"] for m in answers), emitted
        assert set(emitted.values()) == {1}


def test_sends_are_acked_while_the_broker_answers_late_and_automated_once_after(
        broker_stack: BrokerStack, opened: list):
    _burst_while(broker_stack, "pause", opened)


def test_sends_are_acked_while_the_broker_is_down_and_automated_once_after(
        broker_stack: BrokerStack, opened: list):
    _burst_while(broker_stack, "cut", opened)
