"""Isolation between businesses (and between customers): every id-taking route answers 404 for
another business's resources, sockets refuse foreign rooms, and events never cross over."""
from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass

import pytest

from tests import factories
from tests.factories import Account, Shop
from tests.helpers import NAMESPACE as NS
from tests.helpers.chat import (
    CHAT,
    drain,
    join,
    make_shop,
    ok,
    open_room,
    payloads,
    received,
    refused,
    send,
    staff_room,
    stored,
)

NOWHERE = 987_654_321  # an id no table holds

# Which resource each <int:...> argument names. A new route with an argument missing here
# fails test_every_id_route_hides_other_businesses until it is taught what to substitute.
ARG_KINDS = {
    "business_id": "business",
    "room_id": "room",
    "message_id": "message",
    "attachment_id": "attachment",
    "faq_id": "faq",
    "response_id": "auto_response",
    "auto_response_id": "auto_response",
    "notification_id": "notification",
    "proposal_id": "faq_proposal",
}

# Endpoints that act once on their resource: in the positive control the second call on
# the same id answers 409 (decided already), which still proves the owner got through.
ACT_ONCE = {"automation.accept_proposal", "automation.reject_proposal"}

_emails = itertools.count(1)

# A valid body per endpoint that takes one, so validation cannot answer (400) before the
# visibility check does; the positive control below proves each body is valid.
BODIES = {
    "businesses.update_business": lambda: {"name": "Taken over"},
    "businesses.add_staff": lambda: {"email": f"mole{next(_emails)}@example.com",
                                     "password": factories.PASSWORD, "name": "Mole"},
    "chat.send_message": lambda: {"content": "let me in"},
    "chat.mark_read": lambda: {"up_to_seq": 1},
    "automation.update_faq": lambda: {"answer": "Taken over"},
    "automation.update_auto_response": lambda: {"message": "Taken over"},
}

# (endpoint, method) -> why something other than 404 is the contract for every caller.
PUBLIC = {
    ("businesses.get_business", "GET"): "CONTRACT: GET /api/businesses/<id> is a public "
    "profile, readable by anyone with or without a token",
    ("pages.widget", "GET"): "CONTRACT (Pages): /widget/<business_id> is the customer widget, "
    "the same static page for any id; it reads only the public profile above",
}

# Endpoint prefix -> why a customer is answered 403 rather than 404. Managing FAQs and
# auto-responses is refused to the customer *role* before any lookup, so the answer is the
# same 403 for a foreign id and for an id that exists nowhere: nothing about B leaks.
CUSTOMER_ROLE_REFUSED = {
    "automation.": "FAQs and auto-responses are staff-only content; customers get 403 for "
    "every id (checked against a nonexistent id below)",
    "notifications.": "notifications belong to the caller's business and a customer has none; "
    "customers get 403 for every id (checked against a nonexistent id below)",
}


@dataclass
class Foreign:
    """Business B and one resource of each kind, with B's owner for the positive control."""

    shop: Shop
    ids: dict[str, list[int]]


def _rest_ids(client, who: Account, path: str, key: str) -> list[int]:
    response = client.get(path, headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()[key]]


@pytest.fixture
def foreign(app, client) -> Foreign:
    b = make_shop(app, client, "Business B")
    b_customer = factories.register(client)
    customer_room = open_room(client, b_customer, b.id)
    upload = client.post(f"{CHAT}/attachments", headers=b_customer.headers,
                         content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"B's booking notes\n"), "notes.txt",
                                        "text/plain")})
    assert upload.status_code == 201, upload.get_json()
    attachment_id = upload.get_json()["attachment"]["id"]
    message = send(client, b_customer, customer_room["id"], "B's private message",
                   attachment_ids=[attachment_id])
    b_staff_room = staff_room(client, b.owner, [b.staff.id], expect=201).get_json()["room"]
    send(client, b.staff, b_staff_room["id"], "B's staff chatter")
    event = client.post("/api/events", json={"type": "booking.created", "data": {"ref": "B-1"}},
                        headers=b.owner.headers)
    assert event.status_code == 202, event.get_json()
    notifications = _rest_ids(client, b.owner, "/api/notifications", "notifications")
    assert notifications, "booking.created should have become a notification"
    faq_ids = _rest_ids(client, b.owner, f"{CHAT}/faqs", "faqs")[:1]
    with app.app_context():
        from models import FaqProposal, db

        proposal = FaqProposal(business_id=b.id, faq_id=faq_ids[0],
                               question="B's customer asked this", source_message_id=message["id"])
        db.session.add(proposal)
        db.session.commit()
        proposal_id = proposal.id
    return Foreign(b, {
        "business": [b.id],
        "room": [customer_room["id"], b_staff_room["id"]],
        "message": [message["id"]],
        "attachment": [attachment_id],
        "faq": faq_ids,
        "faq_proposal": [proposal_id],
        "auto_response": _rest_ids(client, b.owner, f"{CHAT}/auto-responses",
                                   "auto_responses")[:1],
        "notification": notifications[:1],
    })


def id_routes(app) -> list[tuple[str, str, str, list[str]]]:
    """(rule, method, endpoint, int args) for every route with an <int:...> argument."""
    routes = []
    for rule in app.url_map.iter_rules():
        args = re.findall(r"<int:(\w+)>", rule.rule)
        if not args:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.rule, method, rule.endpoint, args))
    return routes


def fill(rule: str, values: dict[str, int]) -> str:
    return re.sub(r"<int:(\w+)>", lambda m: str(values[m.group(1)]), rule)


def substitutions(foreign: Foreign, args: list[str]) -> list[dict[str, int]]:
    unknown = [arg for arg in args if arg not in ARG_KINDS]
    assert not unknown, f"teach ARG_KINDS which resource {unknown} names"
    choices = [foreign.ids[ARG_KINDS[arg]] for arg in args]
    return [dict(zip(args, combo, strict=True)) for combo in itertools.product(*choices)]


def call(client, method: str, path: str, endpoint: str, who: Account | None):
    body = BODIES[endpoint]() if endpoint in BODIES else None
    return client.open(path, method=method, json=body,
                       headers=who.headers if who is not None else {})


def expected_status(endpoint: str, method: str, caller: str) -> int:
    if (endpoint, method) in PUBLIC:
        return 200
    if caller == "unrelated customer" and any(endpoint.startswith(p)
                                              for p in CUSTOMER_ROLE_REFUSED):
        return 403
    return 404


def test_every_id_route_hides_other_businesses(app, client, shop, foreign):
    routes = id_routes(app)
    assert {endpoint for _, _, endpoint, _ in routes} >= {
        "chat.get_room", "chat.send_message", "chat.history", "chat.mark_read",
        "attachments.download_attachment", "businesses.update_business",
        "notifications.read_notification",
    }
    callers = {"owner of A": shop.owner, "staff of A": shop.staff,
               "unrelated customer": factories.register(client)}
    messages_before = stored(app)
    checked = 0

    for rule, method, endpoint, args in routes:
        for values in substitutions(foreign, args):
            path = fill(rule, values)
            for caller, who in callers.items():
                expected = expected_status(endpoint, method, caller)
                response = call(client, method, path, endpoint, who)
                assert response.status_code == expected, (method, path, caller,
                                                          response.get_json())
                if expected != 200:
                    # Exactly the generic error: no field of B's resource rides along.
                    body = response.get_json()
                    assert list(body) == ["error"], (method, path, caller, body)
                    assert set(body["error"]) <= {"code", "message"}, body
                    # Same answer as for an id that exists nowhere: B's ids do not leak.
                    absent = call(client, method, fill(rule, dict.fromkeys(args, NOWHERE)),
                                  endpoint, who)
                    assert absent.status_code == response.status_code, (method, path, caller)
                checked += 1

    assert checked >= 3 * len(routes)
    assert stored(app) == messages_before  # no refused send stored anything

    # Positive control: B's owner gets through on every one of these calls, so the ids were
    # real and the bodies valid (deletes last, so they do not pull the rug from the others).
    for rule, method, endpoint, args in sorted(routes, key=lambda r: r[1] == "DELETE"):
        for values in substitutions(foreign, args):
            response = call(client, method, fill(rule, values), endpoint, foreign.shop.owner)
            if endpoint in ACT_ONCE and response.status_code == 409:
                continue
            assert response.status_code < 400, (method, rule, values, response.get_json())


def test_public_business_profile_carries_only_public_fields(client, shop, foreign):
    response = client.get(f"/api/businesses/{foreign.shop.id}", headers=shop.staff.headers)
    assert response.status_code == 200
    assert set(response.get_json()["business"]) <= {
        "id", "name", "timezone", "business_hours", "holidays", "is_open_now", "next_open_at",
        "faq_threshold", "suggestion_floor", "created_at"}


# --- sockets -------------------------------------------------------------------------------------


def assert_refused_everywhere(sock, room_id: int) -> None:
    assert refused(sock, "chat:join-room", {"room_id": room_id})["code"] == "not_found"
    assert refused(sock, "chat:join-room", {"room_id": room_id, "after_seq": 0})["code"] == \
        "not_found"
    assert refused(sock, "chat:send-message", {"room_id": room_id,
                                               "content": "hello?"})["code"] == "not_found"
    assert refused(sock, "chat:read-messages", {"room_id": room_id,
                                                "up_to_seq": 1})["code"] == "not_found"
    assert refused(sock, "chat:typing", {"room_id": room_id, "is_typing": True})["code"] in (
        "not_found", "not_joined")


def test_sockets_refuse_rooms_of_other_businesses_and_other_customers(app, client, connect, shop,
                                                                      other_shop, customer):
    b_customer = factories.register(client)
    b_room = open_room(client, b_customer, other_shop.id)
    b_staff_room = staff_room(client, other_shop.owner, [other_shop.staff.id],
                              expect=201).get_json()["room"]
    neighbour = factories.register(client)
    neighbours_room = open_room(client, neighbour, shop.id)
    for room in (b_room, neighbours_room):
        send(client, shop.staff if room is neighbours_room else other_shop.staff, room["id"],
             "private")
    insiders = {room["id"]: connect(who) for room, who in (
        (b_room, b_customer), (b_staff_room, other_shop.staff), (neighbours_room, neighbour))}
    for room_id, sock in insiders.items():
        join(sock, room_id)
    drain(*insiders.values())
    before = stored(app)

    for who, room in ((shop.staff, b_room), (shop.owner, b_room), (shop.staff, b_staff_room),
                      (customer, b_room), (customer, neighbours_room),
                      (customer, b_staff_room), (shop.staff, {"id": NOWHERE})):
        assert_refused_everywhere(connect(who), room["id"])

    assert stored(app) == before
    for sock in insiders.values():
        assert received(sock) == []
    # The refused reads moved nobody's pointer and the rooms stay unread for their owners.
    history = client.get(f"{CHAT}/rooms/{neighbours_room['id']}", headers=neighbour.headers)
    assert history.get_json()["room"]["unread_count"] == 1


def test_events_of_one_business_never_reach_another(app, client, connect, shop, other_shop,
                                                   customer):
    a_room = open_room(client, customer, shop.id)
    a_socks = [connect(shop.owner), connect(shop.staff), connect(customer)]
    for sock in a_socks:
        join(sock, a_room["id"])
    b_watch = connect(other_shop.owner)
    drain(*a_socks, b_watch)

    # Everything business B can make happen: a new conversation, messages both ways,
    # typing, a read receipt, presence, a notification and an audit entry.
    b_customer = factories.register(client)
    b_room = open_room(client, b_customer, other_shop.id)
    b_customer_sock = connect(b_customer)
    b_staff_sock = connect(other_shop.staff)
    for sock in (b_customer_sock, b_staff_sock):
        join(sock, b_room["id"])
    send(client, b_customer, b_room["id"], "B question")
    ok(b_staff_sock, "chat:send-message", {"room_id": b_room["id"], "content": "B answer"})
    ok(b_staff_sock, "chat:typing", {"room_id": b_room["id"], "is_typing": True})
    ok(b_customer_sock, "chat:read-messages", {"room_id": b_room["id"], "up_to_seq": 2})
    event = client.post("/api/events", json={"type": "booking.created", "data": {}},
                        headers=other_shop.owner.headers)
    assert event.status_code == 202
    b_staff_sock.disconnect(NS)
    b_customer_sock.disconnect(NS)

    # Business B heard all of it (so the events were emitted) ...
    heard = {name for name, _ in received(b_watch)}
    assert heard >= {"chat:new-conversation", "presence:update", "notification:new", "audit:log"}
    # ... and nothing at all reached business A's sockets.
    for sock in a_socks:
        assert received(sock) == []
    assert payloads(b_watch, "chat:new-message") == []  # B's owner never joined the room
