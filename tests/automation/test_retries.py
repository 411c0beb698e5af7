"""Automation after an outage: attempts count workers' attempts, not sweeps; a message that
really fails backs off, becomes failed, is retried by the sweep, and an operator sees and
requeues it (issue 12, item 2)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from actions import automation
from infra import pending_work
from models import Message, db
from tests import factories
from workers import task_names

POLICY = automation.WORK.policy
QUESTION = "how can i cancel my appointment"  # one of the default FAQs answers it
PROCESS = (task_names.PROCESS_CUSTOMER_MESSAGES, task_names.PROCESS_CUSTOMER_MESSAGE)


def _task(app, name: str):
    return app.extensions["celery"].tasks[name]


def _sweep(app) -> dict:
    return _task(app, task_names.SWEEP_PENDING_AUTOMATION).apply().result


def _send(client, business: dict, text: str) -> tuple[int, int]:
    customer = factories.register(client)
    room = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                       headers=customer.headers).get_json()["room"]
    response = client.post(f"/api/chat/rooms/{room['id']}/messages", json={"content": text},
                           headers=customer.headers)
    assert response.status_code == 201, response.get_json()
    return room["id"], response.get_json()["message"]["id"]


def _state(app, message_id: int) -> tuple[str, int]:
    with app.app_context():
        row = db.session.get(Message, message_id)
        return row.automation_state, row.automation_attempts


def _bot_kinds(app, room_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Message.kind).where(
            Message.room_id == room_id, Message.sender_type == "bot")))


@pytest.fixture
def business(client) -> dict:
    business, _owner = factories.business(client, "Open Studio", hours=factories.ALWAYS_OPEN)
    return business


@pytest.fixture
def clock():
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def no_worker(app, monkeypatch) -> list:
    """Automation tasks go to a broker that no worker reads: collected, not run."""
    queued: list[tuple[str, tuple]] = []
    for name in PROCESS:
        monkeypatch.setattr(_task(app, name), "apply_async",
                            lambda args=None, _name=name, **_kw: queued.append((_name, args)))
    return queued


@pytest.fixture
def crashing(monkeypatch) -> list:
    """The automation fails every time it starts (a bug, a scorer that crashes)."""
    calls: list[list[int]] = []

    def crash(message_ids, now=None):
        calls.append(list(message_ids))
        raise RuntimeError("the scorer crashed")

    monkeypatch.setattr(automation, "process_customer_messages", crash)
    return calls


def test_sweeps_while_no_worker_runs_cost_no_attempts(app, client, business, clock, no_worker):
    sent = [_send(client, business, text) for text in ("hello", QUESTION, QUESTION)]
    queued_by_sends = len(no_worker)
    for _ in range(24):  # twelve minutes of beat, every 30 s, with no worker running
        clock.shift(timedelta(seconds=30))
        _sweep(app)
    for _ in range(6):  # then the sweeps beat queued meanwhile run back to back
        _sweep(app)
    assert {_state(app, message_id) for _room, message_id in sent} == {("pending", 0)}
    assert len(no_worker) >= queued_by_sends + 2 * len(sent)  # enqueued again, repeatedly

    for name, args in list(no_worker):  # a worker starts and works off the whole backlog
        _task(app, name).apply(args=args)

    assert {_state(app, message_id) for _room, message_id in sent} == {("done", 1)}
    for (room_id, _message_id), text in zip(sent, ("hello", QUESTION, QUESTION), strict=True):
        kinds = _bot_kinds(app, room_id)
        assert kinds.count("welcome") == 1 and kinds.count("offline") <= 1
        assert kinds.count("faq") == (1 if text == QUESTION else 0)


def test_real_failures_back_off_then_fail_and_the_sweep_retries_later(
        app, client, business, clock, crashing, monkeypatch):
    room_id, message_id = _send(client, business, QUESTION)  # attempt 1, at once: it fails
    assert _state(app, message_id) == ("pending", 1)
    for attempt in range(2, POLICY.max_attempts + 1):
        assert _sweep(app)["requeued"] == 0  # backing off
        clock.shift(POLICY.backoff(attempt - 1))
        assert _sweep(app)["requeued"] == 1
        assert len(crashing) == attempt
    assert _state(app, message_id) == ("failed", POLICY.max_attempts)

    monkeypatch.undo()  # the bug is fixed
    assert _sweep(app) == {"requeued": 0, "retried": 0, "failed": 0}  # its backoff is not over
    clock.shift(POLICY.backoff(POLICY.max_attempts))
    assert _sweep(app) == {"requeued": 0, "retried": 1, "failed": 0}
    assert _state(app, message_id) == ("done", POLICY.max_attempts + 1)
    assert _bot_kinds(app, room_id).count("faq") == 1


def test_failed_messages_are_retried_with_capped_backoff_until_max_age(
        app, client, business, clock, crashing):
    _room_id, message_id = _send(client, business, QUESTION)
    for _ in range(int(POLICY.max_age / POLICY.backoff_cap) + 10):
        clock.shift(POLICY.backoff_cap)
        _sweep(app)
    attempts = len(crashing)
    # Hourly once the backoff reached its cap, and none past a day: about 5 + 24.
    assert POLICY.max_attempts < attempts <= POLICY.max_attempts + 24
    with app.app_context():
        row = db.session.get(Message, message_id)
        assert (row.automation_state, row.automation_next_attempt_at) == ("failed", None)
    clock.shift(timedelta(days=30))
    assert _sweep(app) == {"requeued": 0, "retried": 0, "failed": 0}
    assert len(crashing) == attempts


def test_database_errors_are_retried_in_the_task_within_the_same_budget(
        app, client, business, monkeypatch):
    calls = []

    def locked(message_ids, now=None):
        calls.append(list(message_ids))
        raise OperationalError("UPDATE rooms", {}, Exception("database is locked"))

    monkeypatch.setattr(automation, "process_customer_messages", locked)
    _room_id, message_id = _send(client, business, QUESTION)
    assert len(calls) == POLICY.max_attempts
    assert _state(app, message_id) == ("failed", POLICY.max_attempts)


def test_a_poison_message_fails_alone_not_its_batch(app, client, business, no_worker,
                                                    monkeypatch):
    (poison_room, poison), (room_id, innocent) = (_send(client, business, QUESTION)
                                                  for _ in range(2))
    real = automation.process_customer_messages

    def poisoned(message_ids, now=None):
        if poison in message_ids:
            raise RuntimeError("this message crashes the scorer")
        return real(message_ids, now)

    monkeypatch.setattr(automation, "process_customer_messages", poisoned)
    monkeypatch.setattr(_task(app, task_names.PROCESS_CUSTOMER_MESSAGE), "apply_async",
                        _task(app, task_names.PROCESS_CUSTOMER_MESSAGE).apply)  # a worker runs
    _task(app, task_names.PROCESS_CUSTOMER_MESSAGES).apply(args=[[poison, innocent]])
    assert _state(app, innocent) == ("done", 2)  # the batch's attempt, then its own
    assert _bot_kinds(app, room_id).count("faq") == 1
    assert _state(app, poison) == ("pending", 2)  # backing off, on its own
    assert _bot_kinds(app, poison_room) == []


def test_a_message_whose_worker_dies_on_every_attempt_ends_failed(
        app, client, business, clock, no_worker):
    _room_id, message_id = _send(client, business, QUESTION)
    with app.app_context():
        for _ in range(POLICY.max_attempts):  # each worker claimed it, then was killed
            assert pending_work.claim(automation.WORK, [message_id]) == [message_id]
    clock.shift(POLICY.lease)
    assert _sweep(app) == {"requeued": 0, "retried": 0, "failed": 1}
    assert _state(app, message_id) == ("failed", POLICY.max_attempts)


def test_operator_lists_and_requeues_failed_messages(app, client, business, crashing,
                                                     monkeypatch):
    sent = [_send(client, business, QUESTION) for _ in range(2)]
    for _ in range(POLICY.max_attempts - 1):  # the rest of their budget, at once
        for _room_id, message_id in sent:
            _task(app, task_names.PROCESS_CUSTOMER_MESSAGE).apply(args=[message_id])
    assert {_state(app, message_id) for _room, message_id in sent} == {
        ("failed", POLICY.max_attempts)}
    (first_room, first), (second_room, second) = sent
    cli = app.test_cli_runner()

    listing = cli.invoke(args=["automation", "failed"])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[-1] == "2 failed"
    assert lines[0].startswith(f"id={first}  attempts={POLICY.max_attempts}  "
                               f"room_id={first_room}  created_at=")
    assert "retry_at=" in lines[0]
    assert cli.invoke(args=["automation", "failed", "--limit", "1"]).output.endswith(
        "2 failed (1 shown)\n")

    monkeypatch.undo()  # fixed: requeue one by id, then the rest
    requeued = cli.invoke(args=["automation", "requeue", str(first), "999999"])
    assert requeued.output.splitlines() == ["1 requeued", "not failed, left alone: 999999"]
    assert _state(app, first) == ("done", 1)  # a fresh budget; run at once (embedded mode)
    assert _bot_kinds(app, first_room).count("faq") == 1
    assert cli.invoke(args=["automation", "requeue", "--all"]).output == "1 requeued\n"
    assert _state(app, second) == ("done", 1)
    assert _bot_kinds(app, second_room).count("faq") == 1
    assert cli.invoke(args=["automation", "failed"]).output == "0 failed\n"
    assert cli.invoke(args=["automation", "requeue"]).exit_code == 2  # neither ids nor --all


def test_a_task_takes_the_backlog_with_it_and_later_tasks_find_it_done(
        app, client, business, no_worker):
    """A backlog drains in large batches: the first task to run also takes up to
    WORK.gather other unclaimed messages, oldest first; their own tasks then do nothing."""
    sent = [_send(client, business, QUESTION) for _ in range(4)]
    tasks = list(no_worker)
    assert len(tasks) == 4
    runs: list[list[int]] = []
    real = automation.process_customer_messages

    def recorded(message_ids, now=None):
        runs.append(sorted(message_ids))
        return real(message_ids, now)

    automation_task = _task(app, task_names.PROCESS_CUSTOMER_MESSAGES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(automation, "process_customer_messages", recorded)
        _name, args = tasks[-1]  # the newest message's task runs first
        assert automation_task.apply(args=args).result == 4
        for _name, args in tasks[:-1]:
            assert automation_task.apply(args=args).result == 0
    assert runs == [sorted(message_id for _room, message_id in sent)]  # one batch, no more
    assert {_state(app, message_id) for _room, message_id in sent} == {("done", 1)}
    for room_id, _message_id in sent:
        assert _bot_kinds(app, room_id).count("faq") == 1


def test_gathering_leaves_alone_what_another_worker_claimed_and_stops_at_its_limit(
        app, client, business, no_worker):
    sent = [message_id for _room, message_id in
            (_send(client, business, QUESTION) for _ in range(5))]
    with app.app_context():
        assert pending_work.claim(automation.WORK, [sent[0]]) == [sent[0]]  # another worker's
        claimed = pending_work.claim(automation.WORK, [sent[4]], gather=2)
    assert claimed == sorted([sent[1], sent[2], sent[4]])  # the two oldest unclaimed, and its own
    assert _state(app, sent[3]) == ("pending", 0)


def test_a_failed_batch_backs_off_every_message_it_gathered(
        app, client, business, no_worker, crashing):
    sent = [message_id for _room, message_id in
            (_send(client, business, QUESTION) for _ in range(3))]
    name, args = no_worker[0]
    _task(app, name).apply(args=args)  # takes all three, and fails
    assert crashing[0] == sorted(sent)
    for message_id in sent:
        state, attempts = _state(app, message_id)
        assert state == "pending" and attempts >= 1
        with app.app_context():
            assert db.session.get(Message, message_id).automation_next_attempt_at is not None
