"""notification:new and audit:log reach the business's staff sockets, and only theirs."""
from __future__ import annotations

import pytest

from tests.helpers import NAMESPACE as NS
from tests.helpers.notifications import post_event, set_rule


@pytest.fixture
def connect(app):
    from web.extensions import socketio

    clients = []

    def open_socket(account):
        sock = socketio.test_client(app, namespace=NS, auth={"token": account.access_token})
        assert sock.is_connected(NS)
        sock.get_received(NS)  # drop presence updates from connecting
        clients.append(sock)
        return sock

    yield open_socket
    for sock in clients:
        if sock.is_connected(NS):
            sock.disconnect(namespace=NS)


def _events(sock, *names) -> list[tuple[str, dict]]:
    return [(e["name"], e["args"][0]) for e in sock.get_received(NS) if e["name"] in names]


def test_events_reach_this_business_and_not_another(client, shop, other_shop, connect):
    mine = connect(shop.staff)
    owner = connect(shop.owner)
    theirs = connect(other_shop.staff)

    entry_id = post_event(client, shop.staff, "payment.failed",
                          {"customer_name": "Ana", "amount": "12.50", "currency": "EUR"}
                          )["audit_log_id"]

    received = _events(mine, "audit:log", "notification:new")
    assert [name for name, _ in received] == ["audit:log", "notification:new"]
    audit_log = received[0][1]["audit_log"]
    assert (audit_log["id"], audit_log["type"]) == (entry_id, "payment.failed")
    assert set(audit_log) >= {"id", "type", "actor_id", "data", "created_at"}
    notification = received[1][1]["notification"]
    assert notification["type"] == "payment.failed" and notification["severity"] == "critical"
    assert notification["message"] == "A payment of 12.50 EUR from Ana failed: no reason given."
    assert notification["read_at"] is None
    assert set(notification) >= {"id", "type", "title", "message", "data", "severity",
                                 "read_at", "created_at"}
    assert [n for n, _ in _events(owner, "audit:log", "notification:new")] == [
        "audit:log", "notification:new"]
    assert _events(theirs, "audit:log", "notification:new") == []


def test_non_critical_event_only_emits_audit_log(client, shop, connect):
    sock = connect(shop.staff)
    post_event(client, shop.staff, "booking.viewed")
    assert [n for n, _ in _events(sock, "audit:log", "notification:new")] == ["audit:log"]


def test_repeated_key_emits_nothing_new(client, shop, connect):
    sock = connect(shop.staff)
    post_event(client, shop.staff, "booking.created", key="once")
    assert len(_events(sock, "notification:new")) == 1
    post_event(client, shop.staff, "booking.created", key="once")
    assert _events(sock, "audit:log", "notification:new") == []


def test_owners_only_notification_goes_to_owners_socket_only(client, shop, connect):
    staff = connect(shop.staff)
    owner = connect(shop.owner)
    set_rule(client, shop.owner, "booking.cancelled", audience="owners")
    post_event(client, shop.staff, "booking.cancelled")
    assert [n for n, _ in _events(staff, "audit:log", "notification:new")] == ["audit:log"]
    received = _events(owner, "notification:new")
    assert len(received) == 1 and received[0][1]["notification"]["audience"] == "owners"


def test_customer_socket_hears_nothing(client, shop, connect):
    from tests import factories

    customer = connect(factories.register(client))
    post_event(client, shop.staff, "booking.created")
    assert _events(customer, "audit:log", "notification:new") == []


def test_recorded_event_publishes_after_commit_only(app, shop, connect):
    from actions import audit
    from infra import tx

    sock = connect(shop.staff)
    with app.app_context():
        audit.record_event(shop.id, "chat.escalated", {"room_id": 1}, commit=False)
        tx.rollback()
    assert _events(sock, "audit:log", "notification:new") == []
    with app.app_context():
        audit.record_event(shop.id, "chat.escalated", {"room_id": 1})
    assert [name for name, _ in _events(sock, "audit:log", "notification:new")] == [
        "audit:log", "notification:new"]
