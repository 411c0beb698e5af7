"""HTTP error mapping (CONTRACT "Errors"): every error is {"error": {"code", "message"}}."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, register
from tests.helpers import assert_error


def user_count(app) -> int:
    from models import User, db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_unknown_url_is_404(client):
    assert_error(client.get("/api/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405(client):
    response = client.delete("/api/auth/register")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_oversize_json_body_is_413_and_writes_nothing(app, client):
    limit = app.config["SETTINGS"].max_json_kb * 1024
    assert limit == 256 * 1024
    padding = "x" * (limit + 1)
    before = user_count(app)
    response = client.post(
        "/api/auth/register",
        json={"email": "big@example.com", "password": PASSWORD, "name": padding},
    )
    assert_error(response, 413, "too_large")
    assert user_count(app) == before


def test_json_body_just_under_the_limit_is_not_413(client):
    # The name is too long for the schema (400), but the size check lets it through.
    response = client.post(
        "/api/auth/register",
        json={"email": "big@example.com", "password": PASSWORD, "name": "x" * 200_000},
    )
    assert_error(response, 400, "invalid_input")


def test_oversize_upload_is_413(app):
    from tests.test_migrations import fresh_app

    with fresh_app() as application:
        @application.post("/_test/upload")
        def upload():
            from flask import request

            return {"size": len(request.files["file"].read())}

        limit = application.config["MAX_CONTENT_LENGTH"]
        assert limit >= application.config["SETTINGS"].max_upload_mb * 1024 * 1024
        client = application.test_client()
        small = client.post("/_test/upload", data={"file": (io.BytesIO(b"abc"), "a.txt")},
                            content_type="multipart/form-data")
        assert small.status_code == 200 and small.get_json() == {"size": 3}
        big = client.post("/_test/upload",
                          data={"file": (io.BytesIO(b"x" * (limit + 1)), "big.bin")},
                          content_type="multipart/form-data")
        assert_error(big, 413, "too_large")


def test_malformed_json_is_400(app, client):
    before = user_count(app)
    response = client.post("/api/auth/register", data="{bad", content_type="application/json")
    assert_error(response, 400, "invalid_input")
    assert user_count(app) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": 5, "password": PASSWORD, "name": "Ann"}, "email"),
        ({"email": "ann@example.com", "password": ["x"], "name": "Ann"}, "password"),
        ({"email": "ann@example.com", "password": PASSWORD, "name": None}, "name"),
        ({"email": "ann@example.com", "password": PASSWORD}, "name"),
        ({"password": PASSWORD, "name": "Ann"}, "email"),
        ({"email": "ann@example.com", "password": PASSWORD, "name": "Ann", "role": "owner"},
         "role"),
        ({"email": "not-an-email", "password": PASSWORD, "name": "Ann"}, "email"),
        ({"email": "ann@example.com", "password": "short", "name": "Ann"}, "password"),
    ],
    ids=["wrong-type", "list-password", "null-name", "missing-name", "missing-email",
         "unknown-field", "bad-email", "short-password"],
)
def test_invalid_register_body_is_400_and_writes_nothing(app, client, body: dict, field: str):
    before = user_count(app)
    error = assert_error(client.post("/api/auth/register", json=body), 400, "invalid_input")
    assert field in error["message"]
    assert user_count(app) == before


@pytest.mark.parametrize("body", [[], "text", 5, None], ids=["list", "string", "number", "null"])
def test_non_object_json_is_400(client, body: object):
    response = client.post("/api/auth/login", json=body)
    assert_error(response, 400, "invalid_input")


def test_unknown_field_on_login_is_400(client):
    account = register(client)
    response = client.post("/api/auth/login",
                           json={"email": account.email, "password": PASSWORD, "extra": 1})
    assert_error(response, 400, "invalid_input")


def test_unexpected_exception_is_500_internal_error(app):
    from tests.test_migrations import fresh_app

    with fresh_app() as application:
        @application.get("/_test/boom")
        def boom():
            raise RuntimeError("secret detail that must not leak")

        response = application.test_client().get("/_test/boom")
        error = assert_error(response, 500, "internal_error")
        assert "secret detail" not in response.get_data(as_text=True)
        assert "RuntimeError" not in error["message"]
