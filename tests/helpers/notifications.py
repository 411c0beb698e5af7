"""Small helpers shared by the notification tests."""
from __future__ import annotations

from tests.factories import Account


def post_event(client, who: Account, type_: str, data: dict | None = None,
               key: str | None = None, expect: int = 202) -> dict:
    body: dict = {"type": type_, "data": data if data is not None else {}}
    if key is not None:
        body["idempotency_key"] = key
    response = client.post("/api/events", json=body, headers=who.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def notifications(client, who: Account, **params) -> dict:
    response = client.get("/api/notifications", query_string=params, headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def read(client, who: Account, notification_id: int, expect: int = 200) -> dict:
    response = client.put(f"/api/notifications/{notification_id}/read", headers=who.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def read_all(client, who: Account) -> dict:
    response = client.put("/api/notifications/read-all", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def set_rule(client, who: Account, type_: str, expect: int = 200, **changes) -> dict:
    response = client.put(f"/api/notification-rules/{type_}", json=changes, headers=who.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def counts(app) -> dict:
    from models import AuditLog, Notification, db

    with app.app_context():
        return {
            "audit_logs": db.session.query(AuditLog).count(),
            "notifications": db.session.query(Notification).count(),
        }
