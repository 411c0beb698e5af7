"""GET /api/businesses/<id>/staff: the colleagues a staff member can start a staff room with,
and who of them is online (the dashboard's list and presence dots)."""
from __future__ import annotations


def staff_list(client, who, business_id: int, expect: int = 200) -> dict:
    response = client.get(f"/api/businesses/{business_id}/staff", headers=who.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_staff_see_their_colleagues_and_who_is_online(client, shop, connect):  # noqa: F811
    users = staff_list(client, shop.staff, shop.id)["users"]
    assert {u["id"] for u in users} == {shop.owner.id, shop.staff.id}
    assert {u["role"] for u in users} == {"owner", "staff"}
    assert all(u["online"] is False for u in users)
    assert "password_hash" not in users[0]

    connect(shop.owner)
    online = {u["id"]: u["online"] for u in staff_list(client, shop.staff, shop.id)["users"]}
    assert online == {shop.owner.id: True, shop.staff.id: False}


def test_customers_and_other_businesses_get_404(client, shop, other_shop, customer):
    assert staff_list(client, customer, shop.id, 404)["error"]["code"] == "not_found"
    assert staff_list(client, other_shop.owner, shop.id, 404)["error"]["code"] == "not_found"
    response = client.get(f"/api/businesses/{shop.id}/staff")
    assert response.status_code == 401
