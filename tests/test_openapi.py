"""The OpenAPI document covers every route the app serves, whoever added it."""
from __future__ import annotations

import re

import pytest

# Flask's own and the documentation's routes; everything else must be documented.
UNDOCUMENTED_PREFIXES = ("/static", "/docs", "/openapi.json")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_CONVERTER = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def openapi_path(rule: str) -> str:
    """Flask's ``/rooms/<int:room_id>`` is OpenAPI's ``/rooms/{room_id}``."""
    return _CONVERTER.sub(r"{\1}", rule)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("/a/<int:x>/b/<y>", "/a/{x}/b/{y}"), ("/f/<path:name>", "/f/{name}"), ("/plain", "/plain")],
)
def test_openapi_path(rule: str, expected: str):
    assert openapi_path(rule) == expected


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_spec_is_openapi_3(spec: dict):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]


def _app_operations(app) -> list[tuple[str, str]]:
    operations = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(UNDOCUMENTED_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            operations.append((openapi_path(rule.rule), method.lower()))
    return operations


def test_every_route_is_documented(app, spec: dict):
    operations = _app_operations(app)
    assert ("/api/auth/register", "post") in operations  # the walk itself works
    missing = [op for op in operations if op[1] not in spec["paths"].get(op[0], {})]
    assert missing == []


def test_documented_operations_exist(app, spec: dict):
    served = set(_app_operations(app))
    documented = {(path, method) for path, item in spec["paths"].items()
                  for method in item if method in {"get", "post", "put", "patch", "delete"}}
    assert documented - served == set()


def test_every_operation_describes_its_responses(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            assert operation.get("responses"), (method, path)
            assert operation.get("summary"), (method, path)


def test_protected_operations_declare_bearer_auth(spec: dict):
    for path, method in [("/api/auth/me", "get"), ("/api/auth/logout", "post"),
                         ("/api/businesses/{business_id}", "put")]:
        security = spec["paths"][path][method].get("security")
        assert security and any("BearerAuth" in entry for entry in security), (method, path)
    assert spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"


def test_docs_page_is_html(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "openapi.json" in response.get_data(as_text=True)
