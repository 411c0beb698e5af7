"""The first URLs a newcomer opens: `/`, `/api` and `/docs` (issue 13, items 2 and 3)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Flask

from web import landing_routes


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action", "data") and value:
                self.urls.append(value)


def links_of(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def test_landing_page_says_what_this_is_and_links_what_exists(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Booking Chat API" in html and "businesses that take bookings" in html
    assert "embedded mode" in html
    links = links_of(html)
    for url in ("/docs", "/api", "/openapi.json", "/healthz", "/readyz"):
        assert url in links
    for url in links:  # every link on the page answers
        if not urlsplit(url).netloc:
            assert client.get(url).status_code in (200, 503), url


def test_landing_page_marks_pages_that_do_not_exist_yet(client, app):
    served = {rule.rule for rule in app.url_map.iter_rules()}
    html = client.get("/").get_data(as_text=True)
    if "/dashboard" not in served:
        assert "Staff dashboard" in html and "/dashboard" not in links_of(html)
        assert "coming" in html


def test_pages_are_linked_once_they_exist(monkeypatch: pytest.MonkeyPatch):
    pages_app = Flask("pages")
    pages_app.add_url_rule("/dashboard", "dashboard", lambda: "")
    pages_app.add_url_rule("/widget/<int:business_id>", "widget", lambda business_id: "")
    monkeypatch.setattr(landing_routes, "_read", lambda query: 7)  # the first business
    with pages_app.app_context():
        pages = {page["title"]: page for page in landing_routes._pages()}
    assert pages["Staff dashboard"]["href"] == "/dashboard"
    assert pages["Customer chat widget"]["href"] == "/widget/7"


def test_landing_page_shows_the_demo_logins_in_the_embedded_mode(app, client):
    from actions import demo

    with app.app_context():
        demo.seed()
    html = client.get("/").get_data(as_text=True)
    assert demo.OWNER in html and demo.CUSTOMER in html and demo.PASSWORD in html


def test_landing_page_renders_without_a_database(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from actions import demo

    def broken():
        raise OperationalError("SELECT", {}, Exception("no such table: users"))

    monkeypatch.setattr(demo, "_owner", broken)
    response = client.get("/")
    assert response.status_code == 200
    assert "Start here" in response.get_data(as_text=True)


def test_api_answers_with_an_index(client):
    response = client.get("/api")
    assert response.status_code == 200
    index = response.get_json()
    assert index["name"] == "Booking Chat API" and index["version"]
    assert index["mode"] == "embedded"
    assert (index["docs"], index["openapi"]) == ("/docs", "/openapi.json")
    assert index["realtime"]["namespace"] == "/realtime"
    assert index["health"] == ["/healthz", "/readyz"]
    routes = {(r["method"], r["path"]): r for r in index["routes"]}
    register = routes[("POST", "/api/auth/register")]
    assert register["summary"] and register["auth"] is False
    assert routes[("GET", "/api/auth/me")]["auth"] is True
    assert ("POST", "/api/chat/faqs/match") in routes
    assert all(path == "/api" or path.startswith("/api/") for _, path in routes)


def test_api_index_lists_every_api_route(app, client):
    listed = {(r["method"], r["path"]) for r in client.get("/api").get_json()["routes"]}
    converter = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api" or rule.rule.startswith("/api/"):
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert (method, converter.sub(r"{\1}", rule.rule)) in listed, rule.rule


def test_docs_load_nothing_from_another_host(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # No CDN, no favicon host, no validator: no quoted absolute URL anywhere in the page
    # (a comment in the script may mention one; a comment loads nothing).
    assert re.findall(r"""["'(=]\s*(?:https?:)?//[^"'()\s]*""", html) == []
    assets = [url for url in links_of(html) if url.startswith("/docs/assets/")]
    assert len(assets) >= 3  # the CSS, the bundle and the standalone preset
    for url in links_of(html):
        assert not urlsplit(url).netloc, url
        asset = client.get(url)
        assert asset.status_code == 200, url
        if url.endswith(".css"):
            assert not re.search(r"url\(\s*['\"]?(https?:)?//", asset.get_data(as_text=True))
        asset.close()
    assert '"validatorUrl": null' in html


def test_docs_assets_do_not_leave_their_folder(client):
    assert client.get("/docs/assets/../landing_routes.py").status_code == 404
    assert client.get("/docs/assets/%2e%2e/%2e%2e/web/app.py").status_code == 404
    assert client.get("/docs/assets/no-such-file.js").status_code == 404
