"""Item 5: logout ends the session (the refresh token of that login too); "everywhere"."""
from __future__ import annotations

from tests.factories import Account, login, register
from tests.helpers import assert_error


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def refresh(client, account: Account):
    return client.post("/api/auth/refresh", headers=bearer(account.refresh_token))


def test_after_logout_the_refresh_token_is_refused(client):
    account = register(client)
    assert refresh(client, account).status_code == 200
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 204
    assert_error(refresh(client, account), 401, "unauthorized")
    assert_error(client.get("/api/auth/me", headers=account.headers), 401)


def test_logout_with_a_refreshed_access_token_ends_the_whole_login(client):
    account = register(client)
    refreshed = refresh(client, account).get_json()["access_token"]
    assert client.post("/api/auth/logout", headers=bearer(refreshed)).status_code == 204
    # The first access token of that login and its refresh token go with it.
    assert_error(client.get("/api/auth/me", headers=account.headers), 401)
    assert_error(refresh(client, account), 401)


def test_logout_with_the_refresh_token_ends_the_login(client):
    account = register(client)
    assert client.post("/api/auth/logout",
                       headers=bearer(account.refresh_token)).status_code == 204
    assert_error(refresh(client, account), 401)
    assert_error(client.get("/api/auth/me", headers=account.headers), 401)


def test_logout_leaves_other_logins_of_the_user_alone(client):
    account = register(client)
    other = login(client, account.email)
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 204
    assert client.get("/api/auth/me", headers=other.headers).status_code == 200
    assert refresh(client, other).status_code == 200


def test_logout_everywhere_ends_every_login_of_the_user(client):
    account = register(client)
    other = login(client, account.email)
    bystander = register(client)
    response = client.post("/api/auth/logout", json={"everywhere": True},
                           headers=account.headers)
    assert response.status_code == 204
    for session in (account, other):
        assert_error(client.get("/api/auth/me", headers=session.headers), 401)
        assert_error(refresh(client, session), 401)
    assert client.get("/api/auth/me", headers=bystander.headers).status_code == 200
    # Signing in again works.
    assert client.get("/api/auth/me", headers=login(client, account.email).headers).status_code \
        == 200


def test_logout_body_is_validated(client):
    account = register(client)
    response = client.post("/api/auth/logout", json={"everywhere": "yes"},
                           headers=account.headers)
    assert_error(response, 400, "invalid_input")


def test_logout_everywhere_is_documented(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/api/auth/logout"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert "everywhere" in schema["properties"]
