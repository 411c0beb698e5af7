"""Rooms: the customer's room with a business, staff rooms, the room list and who sees what."""
from __future__ import annotations

from datetime import datetime

from tests import factories
from tests.helpers import NAMESPACE as NS
from tests.helpers.chat import (
    CHAT,
    error_code,
    get_room,
    mark_read,
    open_room,
    payloads,
    room_count,
    room_list,
    send,
    set_room_status,
    staff_room,
)


def ids(rooms: list[dict]) -> list[int]:
    return [room["id"] for room in rooms]


def member_ids(room: dict) -> set[int]:
    return {p["user_id"] for p in room["participants"]}


# --- the customer's room -------------------------------------------------------------------------


def test_customer_gets_one_open_room_per_business(app, client, shop, customer):
    first = client.post(f"{CHAT}/rooms/create", json={"business_id": shop.id},
                        headers=customer.headers)
    again = client.post(f"{CHAT}/rooms/create", json={"business_id": shop.id},
                        headers=customer.headers)

    assert first.status_code == 201
    assert again.status_code == 200
    room = first.get_json()["room"]
    assert again.get_json()["room"]["id"] == room["id"]
    assert room_count(app) == 1
    assert room["business_id"] == shop.id
    assert room["type"] == "customer"
    assert room["status"] == "open"
    assert room["last_seq"] == 0
    assert room["last_message"] is None
    assert room["unread_count"] == 0
    assert room["participants"] == [{"user_id": customer.id, "name": customer.name,
                                     "role": "customer"}]
    assert datetime.fromisoformat(room["created_at"]).tzinfo is not None


def test_each_customer_and_each_business_make_a_separate_room(app, client, shop, other_shop,
                                                               customer):
    other_customer = factories.register(client)
    rooms = {
        open_room(client, customer, shop.id, expect=201)["id"],
        open_room(client, customer, other_shop.id, expect=201)["id"],
        open_room(client, other_customer, shop.id, expect=201)["id"],
    }
    assert len(rooms) == 3


def test_a_closed_room_makes_way_for_a_new_one(app, client, shop, customer):
    closed = open_room(client, customer, shop.id)
    set_room_status(app, closed["id"], "closed")

    fresh = open_room(client, customer, shop.id, expect=201)

    assert fresh["id"] != closed["id"]
    assert open_room(client, customer, shop.id, expect=200)["id"] == fresh["id"]


def test_staff_hear_of_a_new_conversation_once(client, connect, shop, other_shop, customer):
    staff_sock, owner_sock = connect(shop.staff), connect(shop.owner)
    outsider_sock = connect(other_shop.staff)
    for sock in (staff_sock, owner_sock, outsider_sock):
        sock.get_received(NS)

    room = open_room(client, customer, shop.id, expect=201)
    open_room(client, customer, shop.id, expect=200)

    for sock in (staff_sock, owner_sock):
        events = payloads(sock, "chat:new-conversation")
        assert len(events) == 1
        assert events[0]["room"]["id"] == room["id"]
        assert events[0]["room"]["business_id"] == shop.id
        assert events[0]["room"]["type"] == "customer"
    assert payloads(outsider_sock, "chat:new-conversation") == []


def test_unknown_business_is_404(app, client, customer):
    response = client.post(f"{CHAT}/rooms/create", json={"business_id": 999_999},
                           headers=customer.headers)
    assert response.status_code == 404
    assert room_count(app) == 0


def test_staff_cannot_open_a_customer_room(app, client, shop, other_shop):
    response = client.post(f"{CHAT}/rooms/create", json={"business_id": other_shop.id},
                           headers=shop.staff.headers)
    assert response.status_code == 403
    assert room_count(app) == 0


def test_customer_cannot_create_a_staff_room(app, client, shop, customer):
    response = staff_room(client, customer, [shop.staff.id, shop.owner.id])
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
    assert room_count(app) == 0


# --- staff rooms ---------------------------------------------------------------------------------


def test_direct_staff_room_is_reused_from_either_side(app, client, shop):
    created = staff_room(client, shop.staff, [shop.owner.id], expect=201).get_json()["room"]
    again = staff_room(client, shop.staff, [shop.owner.id], expect=200).get_json()["room"]
    other_side = staff_room(client, shop.owner, [shop.staff.id], expect=200).get_json()["room"]

    assert created["id"] == again["id"] == other_side["id"]
    assert created["type"] == "staff"
    assert created["name"] is None
    assert created["business_id"] == shop.id
    assert member_ids(created) == {shop.staff.id, shop.owner.id}
    assert room_count(app) == 1


def test_direct_room_is_not_reused_for_a_group_with_more_people(client, shop):
    colleague = factories.staff(client, shop.owner)
    direct = staff_room(client, shop.staff, [shop.owner.id], expect=201).get_json()["room"]
    trio = staff_room(client, shop.staff, [shop.owner.id, colleague.id],
                      expect=201).get_json()["room"]
    assert trio["id"] != direct["id"]
    assert member_ids(trio) == {shop.staff.id, shop.owner.id, colleague.id}
    # ...and the direct room is still the one the pair gets back.
    assert staff_room(client, shop.owner, [shop.staff.id],
                      expect=200).get_json()["room"]["id"] == direct["id"]


def test_named_group_is_a_new_room_with_its_creator_in_it(client, shop):
    colleague = factories.staff(client, shop.owner)
    direct = staff_room(client, shop.staff, [colleague.id], expect=201).get_json()["room"]

    group = staff_room(client, shop.staff, [colleague.id], name="Front desk",
                       expect=201).get_json()["room"]

    assert group["id"] != direct["id"]
    assert group["name"] == "Front desk"
    assert group["type"] == "staff"
    # The creator left themself out of participant_ids and is a participant all the same.
    assert member_ids(group) == {shop.staff.id, colleague.id}
    assert {p["role"] for p in group["participants"]} == {"staff"}


def test_staff_room_participants_must_be_staff_of_the_same_business(app, client, shop,
                                                                     other_shop, customer):
    for outsiders in ([other_shop.staff.id], [other_shop.owner.id], [customer.id],
                      [shop.owner.id, other_shop.staff.id], [999_999]):
        response = staff_room(client, shop.staff, outsiders)
        assert response.status_code == 422, outsiders  # well-formed ids, not colleagues
        assert error_code(response) == "invalid_participants"
    lonely = staff_room(client, shop.staff, [shop.staff.id])
    assert lonely.status_code == 422
    assert room_count(app) == 0


# --- the room list -------------------------------------------------------------------------------


def test_room_list_is_newest_activity_first_with_last_message_and_seq(client, shop, customer):
    second_customer = factories.register(client)
    third_customer = factories.register(client)
    first = open_room(client, customer, shop.id)
    second = open_room(client, second_customer, shop.id)
    third = open_room(client, third_customer, shop.id)
    send(client, customer, first["id"], "one")
    send(client, third_customer, third["id"], "three")
    send(client, shop.staff, first["id"], "reply to one")

    rooms = room_list(client, shop.staff)

    # first had the latest message, then third; second was only opened (its creation counts).
    assert ids(rooms) == [first["id"], third["id"], second["id"]]
    by_id = {room["id"]: room for room in rooms}
    assert by_id[first["id"]]["last_seq"] == 2
    assert by_id[first["id"]]["last_message"]["content"] == "reply to one"
    assert by_id[first["id"]]["last_message"]["seq"] == 2
    assert by_id[third["id"]]["last_message"]["content"] == "three"
    assert by_id[second["id"]]["last_message"] is None
    assert by_id[second["id"]]["last_seq"] == 0

    send(client, second_customer, second["id"], "now me")
    assert ids(room_list(client, shop.staff)) == [second["id"], first["id"], third["id"]]


def test_unread_count_is_per_user_and_ignores_own_messages(client, shop, customer):
    colleague = factories.staff(client, shop.owner)
    room = open_room(client, customer, shop.id)
    for text in ("a", "b", "c"):
        send(client, customer, room["id"], text)
    send(client, shop.staff, room["id"], "staff answer")

    def unread(who):
        [listed] = [r for r in room_list(client, who) if r["id"] == room["id"]]
        assert get_room(client, who, room["id"])["unread_count"] == listed["unread_count"]
        return listed["unread_count"]

    assert unread(customer) == 1  # the staff answer; their own three do not count
    assert unread(shop.staff) == 3  # the customer's three; their own answer does not count
    assert unread(colleague) == 4

    mark_read(client, shop.staff, room["id"], 2)
    assert unread(shop.staff) == 1
    assert unread(colleague) == 4  # one person's reading is nobody else's


def test_room_list_shows_each_status(app, client, shop, customer):
    waiting_customer = factories.register(client)
    closed_customer = factories.register(client)
    open_one = open_room(client, customer, shop.id)
    waiting = open_room(client, waiting_customer, shop.id)
    closed = open_room(client, closed_customer, shop.id)
    set_room_status(app, waiting["id"], "waiting_for_staff")
    set_room_status(app, closed["id"], "closed")

    statuses = {room["id"]: room["status"] for room in room_list(client, shop.owner)}

    assert statuses == {open_one["id"]: "open", waiting["id"]: "waiting_for_staff",
                        closed["id"]: "closed"}
    assert [r["status"] for r in room_list(client, closed_customer)] == ["closed"]


def test_a_staff_reply_reopens_a_waiting_room(app, client, shop, customer):
    room = open_room(client, customer, shop.id)
    set_room_status(app, room["id"], "waiting_for_staff")

    send(client, shop.staff, room["id"], "I'm here")

    assert get_room(client, customer, room["id"])["status"] == "open"


def test_who_sees_which_rooms(app, client, shop, other_shop, customer):
    colleague = factories.staff(client, shop.owner)
    outsider = factories.staff(client, other_shop.owner)
    mine = open_room(client, customer, shop.id)
    someone_elses = open_room(client, factories.register(client), shop.id)
    elsewhere = open_room(client, customer, other_shop.id)
    pair = staff_room(client, shop.staff, [shop.owner.id], expect=201).get_json()["room"]
    foreign_staff_room = staff_room(client, other_shop.staff, [outsider.id],
                                    expect=201).get_json()["room"]

    assert set(ids(room_list(client, shop.staff))) == {mine["id"], someone_elses["id"], pair["id"]}
    assert set(ids(room_list(client, shop.owner))) == {mine["id"], someone_elses["id"], pair["id"]}
    # Every customer room of the business, but only the staff rooms one belongs to.
    assert set(ids(room_list(client, colleague))) == {mine["id"], someone_elses["id"]}
    assert set(ids(room_list(client, customer))) == {mine["id"], elsewhere["id"]}
    assert set(ids(room_list(client, other_shop.staff))) == {elsewhere["id"],
                                                             foreign_staff_room["id"]}

    for who, room in ((colleague, pair), (customer, someone_elses), (customer, pair),
                      (shop.staff, elsewhere), (shop.staff, foreign_staff_room)):
        response = client.get(f"{CHAT}/rooms/{room['id']}", headers=who.headers)
        assert response.status_code == 404, (who.name, room["id"])


def test_room_list_of_a_new_account_is_empty(client, shop):
    assert room_list(client, factories.register(client)) == []
    assert room_list(client, shop.staff) == []



def test_a_blank_name_is_no_name_and_reuses_the_direct_room(app, client, shop):
    direct = staff_room(client, shop.staff, [shop.owner.id], expect=201).get_json()["room"]

    blank = staff_room(client, shop.owner, [shop.staff.id], name="   ", expect=200)

    assert blank.get_json()["room"]["id"] == direct["id"]
    assert room_count(app) == 1


def test_rest_rooms_carry_waiting_since(app, client, shop, customer):
    from actions.rooms import set_status
    from models import Room, db

    room = open_room(client, customer, shop.id)
    assert get_room(client, shop.staff, room["id"])["waiting_since"] is None
    with app.app_context():
        set_status(db.session.get(Room, room["id"]), "waiting_for_staff")
        db.session.commit()

    listed = {r["id"]: r for r in room_list(client, shop.staff)}[room["id"]]
    assert listed["status"] == "waiting_for_staff"
    assert listed["waiting_since"].startswith("20")
    assert get_room(client, customer, room["id"])["waiting_since"] == listed["waiting_since"]

    send(client, shop.staff, room["id"], "I'm here")
    assert get_room(client, shop.staff, room["id"])["waiting_since"] is None
