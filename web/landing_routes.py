"""The pages a newcomer opens first: the landing page at `/`, the API index at `/api`, and
the Swagger UI assets that let `/docs` render with no internet access."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from apiflask import APIBlueprint, APIFlask, Schema
from apiflask.fields import Boolean, Dict, List, Nested, String
from flask import current_app, render_template, send_from_directory
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from actions import events
from models import Business, db

log = logging.getLogger(__name__)
T = TypeVar("T")

bp = APIBlueprint("landing", __name__, tag="Operations", template_folder="templates")

DOCS_ASSETS = "/docs/assets"
# Pages other parts of the app may serve; the landing page links those that exist.
PAGES = (
    ("Customer chat widget", "/widget/<business_id>", "a business's chat, as its customers see it"),
    ("Staff dashboard", "/dashboard", "conversations, notifications and FAQs for staff"),
)


def swagger_ui_dist() -> Path:
    """Swagger UI's built files, shipped inside the flask-swagger-ui package."""
    import flask_swagger_ui

    return Path(flask_swagger_ui.__file__).resolve().parent / "dist"


def init_app(app: APIFlask) -> None:
    """Serve Swagger UI from this app instead of a CDN, and register the routes."""
    app.config.update(
        SWAGGER_UI_CSS=f"{DOCS_ASSETS}/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        DOCS_FAVICON=f"{DOCS_ASSETS}/favicon-32x32.png",
        # The validator badge would ask validator.swagger.io about the document.
        SWAGGER_UI_CONFIG={"validatorUrl": None, **(app.config.get("SWAGGER_UI_CONFIG") or {})},
    )
    app.register_blueprint(bp)


@bp.get(f"{DOCS_ASSETS}/<path:filename>")
@bp.doc(hide=True)
def docs_asset(filename: str):
    return send_from_directory(swagger_ui_dist(), filename, max_age=86400)


def _mode() -> str:
    return "embedded" if current_app.config["SETTINGS"].embedded else "full"


def _served_rules() -> set[str]:
    return {rule.rule for rule in current_app.url_map.iter_rules()}


def _read(query: Callable[[], T]) -> T | None:
    """A read for the landing page, which must render even before the database is migrated
    (or while it is away): the page then leaves out what it would have shown."""
    try:
        return query()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("landing page: database read failed", exc_info=True)
        return None


def _pages() -> list[dict]:
    served = _served_rules()
    pages = []
    for title, pattern, what in PAGES:
        rule = pattern.replace("<business_id>", "<int:business_id>")
        exists = pattern in served or rule in served
        href = pattern
        if exists and "<business_id>" in pattern:
            first = _read(lambda: db.session.scalar(
                select(Business.id).order_by(Business.id).limit(1)))
            href = pattern.replace("<business_id>", str(first)) if first else None
        pages.append({"title": title, "pattern": pattern, "what": what, "exists": exists,
                      "href": href if exists else None})
    return pages


def _demo_accounts() -> dict | None:
    """The demo's logins, shown in the embedded mode only, where the banner prints them too."""
    if not current_app.config["SETTINGS"].embedded:
        return None
    from actions import demo

    owner = _read(demo._owner)
    if owner is None:
        return None
    return {"business_id": owner.business_id, "password": demo.PASSWORD,
            "accounts": {"owner": demo.OWNER, "staff": demo.STAFF, "customer": demo.CUSTOMER}}


@bp.get("/")
@bp.doc(summary="Landing page (HTML): what this service is, with links to the docs, pages "
        "and health checks",
        responses={200: {"description": "An HTML page",
                         "content": {"text/html": {"schema": {"type": "string"}}}}})
def landing():
    html = render_template(
        "landing.html",
        title=current_app.title,
        version=current_app.version,
        mode=_mode(),
        pages=_pages(),
        demo=_demo_accounts(),
    )
    db.session.rollback()  # reads only; end the transaction (SQLite: its lock) now
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


class RouteOut(Schema):
    method = String()
    path = String()
    summary = String()
    tag = String(allow_none=True)
    auth = Boolean(metadata={"description": "Needs a bearer access token"})


class ApiIndexOut(Schema):
    name = String()
    version = String()
    mode = String(metadata={"description": "embedded (one process, SQLite, no Redis) or full"})
    docs = String(metadata={"description": "Swagger UI"})
    openapi = String(metadata={"description": "The OpenAPI document"})
    realtime = Dict(metadata={"description": "Where the Socket.IO events are"})
    health = List(String())
    routes = List(Nested(RouteOut))


_METHODS = ("get", "post", "put", "patch", "delete")


def api_routes() -> list[dict]:
    """Every documented /api operation, by path."""
    spec = current_app._get_spec("json")  # cached after the first call
    routes = []
    for path, item in spec["paths"].items():
        if not (path == "/api" or path.startswith("/api/")):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            routes.append({
                "method": method.upper(),
                "path": path,
                "summary": operation.get("summary", ""),
                "tag": (operation.get("tags") or [None])[0],
                "auth": bool(operation.get("security")),
            })
    return sorted(routes, key=lambda r: (r["path"], _METHODS.index(r["method"].lower())))


@bp.get("/api")
@bp.output(ApiIndexOut)
@bp.doc(summary="Index of the API: its routes, the docs and the real-time endpoint")
def api_index():
    return {
        "name": current_app.title,
        "version": current_app.version,
        "mode": _mode(),
        "docs": "/docs",
        "openapi": "/openapi.json",
        "realtime": {"transport": "Socket.IO", "path": "/socket.io", "namespace": events.NAMESPACE,
                     "auth": "{token: <access token>} or an Authorization: Bearer header"},
        "health": ["/healthz", "/readyz"],
        "routes": api_routes(),
    }
