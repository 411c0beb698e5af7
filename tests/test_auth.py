"""Identity over REST (CONTRACT "Identity"): accounts, tokens, revocation, every 401."""
from __future__ import annotations

import warnings
from datetime import timedelta

import jwt
import pytest

from tests.factories import PASSWORD, Account, business, login, register
from tests.test_errors import assert_error, user_count

SECRET = "test-secret-key-that-is-long-enough-for-hs256"
USER_FIELDS = {"id", "email", "name", "role", "business_id"}


# --------------------------------------------------------------------------- token helpers
# Shared with tests/test_socket_connect.py: the socket handshake refuses the same tokens.


def claims_of(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"])


def resign(token: str, key: str | None = SECRET, algorithm: str = "HS256", **changes) -> str:
    """The claims of ``token`` (with ``changes``) signed with another key or algorithm."""
    claims = {**claims_of(token), **changes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyjwt warns about short HS512 keys
        return jwt.encode(claims, key, algorithm=algorithm)


def expired_access_token(app, account: Account) -> str:
    from flask_jwt_extended import create_access_token

    with app.app_context():
        return create_access_token(
            identity=str(account.id),
            additional_claims={"role": account.role, "business_id": account.business_id},
            expires_delta=-timedelta(seconds=1),
        )


# Every kind of token that must not pass where an access token is required.
BAD_TOKEN_KINDS = ["garbage", "expired", "wrong-key", "refresh", "hs512", "alg-none",
                   "no-signature", "revoked"]


def bad_access_token(kind: str, app, client, account: Account) -> str:
    token = account.access_token
    if kind == "garbage":
        return "not-a-jwt"
    if kind == "expired":
        return expired_access_token(app, account)
    if kind == "wrong-key":
        return resign(token, key="another-secret-key-that-is-long-enough-for-hs256")
    if kind == "refresh":
        return account.refresh_token
    if kind == "hs512":
        return resign(token, algorithm="HS512")
    if kind == "alg-none":
        return resign(token, key=None, algorithm="none")
    if kind == "no-signature":
        return token.rsplit(".", 1)[0] + "."
    if kind == "revoked":
        fresh = login(client, account.email)
        assert client.post("/api/auth/logout", headers=fresh.headers).status_code == 204
        return fresh.access_token
    raise AssertionError(kind)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- register / login


def test_register_returns_customer_and_tokens(client):
    response = client.post("/api/auth/register", json={
        "email": "Ann@Example.COM", "password": PASSWORD, "name": " Ann "})
    assert response.status_code == 201
    body = response.get_json()
    assert {"user", "access_token", "refresh_token"} <= set(body)
    user = body["user"]
    assert USER_FIELDS <= set(user)
    assert "password_hash" not in user and "password" not in user
    assert user["email"] == "ann@example.com"
    assert user["name"] == "Ann"
    assert user["role"] == "customer"
    assert user["business_id"] is None
    assert isinstance(user["id"], int)


def test_access_token_claims(client):
    account = register(client)
    claims = claims_of(account.access_token)
    assert claims["sub"] == str(account.id)
    assert claims["type"] == "access"
    assert claims["role"] == "customer"
    assert "business_id" in claims and claims["business_id"] is None
    assert jwt.get_unverified_header(account.access_token)["alg"] == "HS256"
    refresh = claims_of(account.refresh_token)
    assert refresh["sub"] == str(account.id)
    assert refresh["type"] == "refresh"


@pytest.mark.parametrize("spelling", ["same", "upper"])
def test_duplicate_email_is_409(app, client, spelling: str):
    account = register(client)
    email = account.email if spelling == "same" else account.email.upper()
    before = user_count(app)
    response = client.post("/api/auth/register",
                           json={"email": email, "password": PASSWORD, "name": "Again"})
    assert_error(response, 409)
    assert user_count(app) == before


def test_login(client):
    account = register(client)
    response = client.post("/api/auth/login",
                           json={"email": account.email.upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["id"] == account.id
    assert USER_FIELDS <= set(body["user"])
    assert claims_of(body["access_token"])["sub"] == str(account.id)
    assert claims_of(body["refresh_token"])["type"] == "refresh"


def test_login_wrong_password_is_401(client):
    account = register(client)
    response = client.post("/api/auth/login",
                           json={"email": account.email, "password": PASSWORD + "x"})
    assert_error(response, 401)
    assert "access_token" not in response.get_json()


def test_login_unknown_email_is_401_like_a_wrong_password(client):
    account = register(client)
    unknown = client.post("/api/auth/login",
                          json={"email": "nobody@example.com", "password": PASSWORD})
    wrong = client.post("/api/auth/login", json={"email": account.email, "password": "nope-nope"})
    # The same answer either way, so the response does not reveal which emails exist.
    assert assert_error(unknown, 401) == assert_error(wrong, 401)


# --------------------------------------------------------------------------- me / refresh


def test_me(client):
    account = register(client, name="Mia")
    response = client.get("/api/auth/me", headers=account.headers)
    assert response.status_code == 200
    user = response.get_json()["user"]
    assert user["id"] == account.id
    assert user["email"] == account.email
    assert user["name"] == "Mia"
    assert user["role"] == "customer"
    assert user["business_id"] is None


def test_refresh_gives_a_working_access_token(client):
    account = register(client)
    response = client.post("/api/auth/refresh", headers=bearer(account.refresh_token))
    assert response.status_code == 200
    token = response.get_json()["access_token"]
    claims = claims_of(token)
    assert claims["type"] == "access"
    assert claims["sub"] == str(account.id)
    assert claims["jti"] != claims_of(account.access_token)["jti"]
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200 and me.get_json()["user"]["id"] == account.id


def test_refresh_carries_the_current_role(client):
    business_data, owner = business(client)
    # The refresh token was issued while the owner was still a customer.
    founder_refresh = owner.refresh_token
    token = client.post("/api/auth/refresh", headers=bearer(founder_refresh)).get_json()[
        "access_token"]
    claims = claims_of(token)
    assert claims["role"] == "owner"
    assert claims["business_id"] == business_data["id"]


def test_refresh_with_an_access_token_is_401(client):
    account = register(client)
    assert_error(client.post("/api/auth/refresh", headers=account.headers), 401, "unauthorized")


@pytest.mark.parametrize("kind", ["missing", "garbage", "wrong-key", "revoked"])
def test_refresh_refuses_bad_refresh_tokens(client, kind: str):
    account = register(client)
    headers: dict = {}
    if kind == "garbage":
        headers = bearer("not-a-jwt")
    elif kind == "wrong-key":
        headers = bearer(resign(account.refresh_token, key="x" * 48))
    elif kind == "revoked":
        assert client.post("/api/auth/logout",
                           headers=bearer(account.refresh_token)).status_code == 204
        headers = bearer(account.refresh_token)
    assert_error(client.post("/api/auth/refresh", headers=headers), 401, "unauthorized")


# --------------------------------------------------------------------------- logout


def test_logout_ends_only_the_sign_in_of_the_presented_token(client):
    account = register(client)
    other = login(client, account.email)
    response = client.post("/api/auth/logout", headers=account.headers)
    assert response.status_code == 204
    assert_error(client.get("/api/auth/me", headers=account.headers), 401, "unauthorized")
    assert client.get("/api/auth/me", headers=other.headers).status_code == 200
    # The refresh token of that sign-in ends with it (issue 12, item 5).
    assert_error(client.post("/api/auth/refresh", headers=bearer(account.refresh_token)), 401)


def test_logout_twice_is_401(client):
    account = register(client)
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 204
    assert_error(client.post("/api/auth/logout", headers=account.headers), 401, "unauthorized")


def test_revocation_survives_a_restart(app, client):
    from tests.test_migrations import fresh_app

    revoked = register(client)
    kept = register(client)
    assert client.post("/api/auth/logout", headers=revoked.headers).status_code == 204
    with fresh_app({"TESTING": True}) as restarted:
        restarted_client = restarted.test_client()
        assert_error(restarted_client.get("/api/auth/me", headers=revoked.headers), 401,
                     "unauthorized")
        assert restarted_client.get("/api/auth/me", headers=kept.headers).status_code == 200


# --------------------------------------------------------------------------- every 401


PROTECTED = [
    ("GET", "/api/auth/me", None),
    ("POST", "/api/businesses", {"name": "Salon", "timezone": "UTC"}),
    ("GET", "/api/monitoring/connections", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED,
                         ids=[f"{m} {p}" for m, p, _ in PROTECTED])
@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_bad_token_is_401(app, client, method: str, path: str, body: dict | None, kind: str):
    account = register(client)
    token = bad_access_token(kind, app, client, account)
    response = client.open(path, method=method, json=body, headers=bearer(token))
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
     {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Token abc"}],
    ids=["no-header", "empty", "bearer-only", "bearer-space", "basic", "other-scheme"],
)
def test_missing_or_malformed_header_is_401(client, headers: dict):
    assert_error(client.get("/api/auth/me", headers=headers), 401, "unauthorized")


def test_token_of_a_deleted_account_is_401(app, client):
    from models import User, db

    account = register(client)
    with app.app_context():
        db.session.delete(db.session.get(User, account.id))
        db.session.commit()
    assert_error(client.get("/api/auth/me", headers=account.headers), 401, "unauthorized")
