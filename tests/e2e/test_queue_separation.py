"""A notification is delivered while 1,000 automation tasks wait: the Procfile's notifier
serves its own queue, so an automation backlog never stands in front of it."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from actions.messages import AUTOMATION_TASK
from tests.helpers.live import LiveStack, stack_env
from tests.processes import (
    BIN,
    Api,
    free_port,
    run_command,
    start_process,
    stop_process,
    wait_for_url,
)

REDIS_DB = 4
BACKLOG = 1_000
ROOT = Path(__file__).resolve().parents[2]


def _procfile_command(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise AssertionError(f"the Procfile has no {kind!r} process")


@pytest.fixture(scope="module")
def notifier_stack(stack_database: str, redis_server: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The web process and the Procfile's notifier, run as a platform runs it; no
    automation worker."""
    redis_url = f"{redis_server.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    instance = tmp_path_factory.mktemp("separation-instance")
    port = free_port()
    env = stack_env(stack_database, redis_url, instance, port)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    run_command([str(BIN / "flask"), "--app", "web.app", "db", "upgrade"], env)
    notifier = _procfile_command("notifier")
    assert "-Q" in notifier and "automation" not in notifier, notifier
    # A host name of its own, so that no other test's worker is taken for this one.
    notifier = re.sub(r"--hostname=\S+", "", notifier)
    notifier += f" --hostname=notifier-{uuid.uuid4().hex[:6]}@%h --without-gossip --without-mingle"
    stack = LiveStack(base_url=f"http://127.0.0.1:{port}", env=env)
    try:
        stack.processes.append(start_process(
            "web", [str(BIN / "python"), "-m", "web.serve"], env, instance))
        stack.processes.append(start_process(
            "notifier", ["bash", "-c", f"cd {ROOT} && exec {notifier}"], env, instance))
        wait_for_url(f"{stack.base_url}/healthz", stack.processes)
        yield stack
    finally:
        for process in stack.processes:
            stop_process(process)


def _fill_automation_queue(broker_url: str) -> int:
    """BACKLOG automation tasks, routed as the web process routes them."""
    producer_app = Celery("backlog", broker=broker_url)
    producer_app.config_from_object("celeryconfig")
    with producer_app.producer_or_acquire() as producer:
        for index in range(BACKLOG):
            producer_app.send_task(AUTOMATION_TASK, args=[[10**9 + index]], producer=producer)
    return redis.Redis.from_url(broker_url).llen("automation")


def test_a_notification_arrives_while_a_thousand_automation_tasks_wait(
        notifier_stack: LiveStack, sockets):
    api = Api(notifier_stack.base_url)
    broker = notifier_stack.env["REDIS_URL"]
    _, owner = api.business(name=f"Backlog Salon {uuid.uuid4().hex[:6]}")
    _, events = sockets(notifier_stack.base_url, owner, ["notification:new"])

    assert _fill_automation_queue(broker) == BACKLOG

    body = {"type": "payment.failed", "idempotency_key": f"sep-{uuid.uuid4().hex}",
            "data": {"customer_name": "Ana", "amount": "40.00", "currency": "EUR",
                     "reason": "card declined"}}
    entry_id = api.call("POST", "/api/events", token=owner, json=body,
                        expect=202)["audit_log_id"]
    new = events.wait_for("notification:new",
                          lambda d: d["notification"]["audit_log_id"] == entry_id, timeout=20)
    assert new["notification"]["type"] == "payment.failed"
    # The backlog is still there, untouched: the notification went around it.
    assert redis.Redis.from_url(broker).llen("automation") == BACKLOG
