"""The notification center: listing, unread state per staff member, pagination, visibility."""
from __future__ import annotations

from tests import factories
from tests.helpers.notifications import notifications, post_event, read, read_all, set_rule


def _make(client, shop, n: int, type_: str = "booking.created") -> list[int]:
    for i in range(n):
        post_event(client, shop.staff, type_, {"customer_name": f"C{i}"})
    return [x["id"] for x in notifications(client, shop.owner, limit=200)["notifications"]]


def test_colleague_reading_does_not_clear_mine(client, shop):
    newest, older = _make(client, shop, 2)
    body = read(client, shop.colleague, newest)
    assert body["notification"]["id"] == newest and body["notification"]["read_at"]
    assert body["unread_count"] == 1

    mine = notifications(client, shop.staff)
    assert mine["unread_count"] == 2
    assert all(n["read_at"] is None for n in mine["notifications"])
    theirs = notifications(client, shop.colleague)
    assert theirs["unread_count"] == 1
    assert {n["id"]: n["read_at"] is not None for n in theirs["notifications"]} == {
        newest: True, older: False}


def test_marking_read_twice_keeps_the_first_read_at(client, shop):
    (only,) = _make(client, shop, 1)
    first = read(client, shop.staff, only)["notification"]["read_at"]
    assert read(client, shop.staff, only)["notification"]["read_at"] == first


def test_read_all_then_a_new_one_is_unread(client, shop):
    _make(client, shop, 3)
    body = read_all(client, shop.staff)
    assert body["unread_count"] == 0 and body["read_at"]
    listed = notifications(client, shop.staff)
    assert listed["unread_count"] == 0
    assert all(n["read_at"] == body["read_at"] for n in listed["notifications"])
    # The colleague's state is untouched.
    assert notifications(client, shop.colleague)["unread_count"] == 3

    post_event(client, shop.staff, "payment.failed", {})
    after = notifications(client, shop.staff)
    assert after["unread_count"] == 1
    assert after["notifications"][0]["type"] == "payment.failed"
    assert after["notifications"][0]["read_at"] is None
    unread = notifications(client, shop.staff, unread="true")
    assert [n["type"] for n in unread["notifications"]] == ["payment.failed"]


def test_read_all_keeps_earlier_single_read_times(client, shop):
    newest, older = _make(client, shop, 2)
    single = read(client, shop.staff, older)["notification"]["read_at"]
    read_all(client, shop.staff)
    by_id = {n["id"]: n["read_at"] for n in notifications(client, shop.staff)["notifications"]}
    assert by_id[older] == single


def test_unread_filter_and_count(client, shop):
    ids = _make(client, shop, 4)
    read(client, shop.staff, ids[0])
    read(client, shop.staff, ids[2])
    unread = notifications(client, shop.staff, unread="true")
    assert [n["id"] for n in unread["notifications"]] == [ids[1], ids[3]]
    assert unread["unread_count"] == 2
    everything = notifications(client, shop.staff)
    assert len(everything["notifications"]) == 4 and everything["unread_count"] == 2


def test_cursor_pagination_newest_first(client, shop):
    ids = _make(client, shop, 5)
    assert ids == sorted(ids, reverse=True)
    page1 = notifications(client, shop.staff, limit=2)
    assert [n["id"] for n in page1["notifications"]] == ids[:2]
    assert page1["next_before_id"] == ids[1]
    assert page1["unread_count"] == 5  # the whole count, not the page's
    page2 = notifications(client, shop.staff, limit=2, before_id=page1["next_before_id"])
    assert [n["id"] for n in page2["notifications"]] == ids[2:4]
    page3 = notifications(client, shop.staff, limit=2, before_id=page2["next_before_id"])
    assert [n["id"] for n in page3["notifications"]] == ids[4:]
    assert page3["next_before_id"] is None


def test_unread_pagination(client, shop):
    ids = _make(client, shop, 5)
    read(client, shop.staff, ids[1])
    page1 = notifications(client, shop.staff, unread="true", limit=2)
    assert [n["id"] for n in page1["notifications"]] == [ids[0], ids[2]]
    page2 = notifications(client, shop.staff, unread="true", limit=2,
                          before_id=page1["next_before_id"])
    assert [n["id"] for n in page2["notifications"]] == [ids[3], ids[4]]
    assert page2["next_before_id"] is None


def test_bad_paging_parameters(client, shop):
    for params in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"before_id": 0},
                   {"unread": "maybe"}):
        response = client.get("/api/notifications", query_string=params,
                              headers=shop.staff.headers)
        assert response.status_code == 400, params
        assert response.get_json()["error"]["code"] == "invalid_input"


def test_owners_only_audience(client, shop):
    post_event(client, shop.staff, "payment.refunded", {"amount": 20})  # owners by default
    set_rule(client, shop.owner, "payment.failed", audience="owners")
    post_event(client, shop.staff, "payment.failed", {})
    post_event(client, shop.staff, "booking.created", {})
    owner = notifications(client, shop.owner)
    assert {n["type"] for n in owner["notifications"]} == {
        "payment.refunded", "payment.failed", "booking.created"}
    assert owner["unread_count"] == 3
    staff = notifications(client, shop.staff)
    assert [n["type"] for n in staff["notifications"]] == ["booking.created"]
    assert staff["unread_count"] == 1
    hidden = next(n["id"] for n in owner["notifications"] if n["type"] == "payment.failed")
    assert read(client, shop.staff, hidden, expect=404)["error"]["code"] == "not_found"


def test_another_business_notification_is_404(client, shop, other_shop):
    (theirs,) = _make(client, other_shop, 1)
    body = read(client, shop.staff, theirs, expect=404)
    assert body["error"]["code"] == "not_found"
    assert notifications(client, shop.staff)["notifications"] == []
    # Their read state is untouched.
    assert notifications(client, other_shop.staff)["unread_count"] == 1
    assert read(client, shop.owner, 999_999, expect=404)["error"]["code"] == "not_found"


def test_customers_cannot_see_notifications(client, shop):
    customer = factories.register(client)
    assert client.get("/api/notifications", headers=customer.headers).status_code == 403
    assert client.put("/api/notifications/read-all", headers=customer.headers).status_code == 403
    assert client.get("/api/notifications").status_code == 401


def test_new_staff_member_has_own_state(client, shop):
    _make(client, shop, 2)
    read_all(client, shop.staff)
    newcomer = factories.staff(client, shop.owner)
    assert notifications(client, newcomer)["unread_count"] == 2
