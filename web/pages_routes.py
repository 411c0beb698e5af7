"""The pages: the customer chat widget (`/widget/<business_id>`, embeddable with `/widget.js`)
and the staff dashboard (`/dashboard`).

Both are static HTML and plain ES modules: no build step, nothing from a CDN. The client
library is served from its own folder (`clients/js/src`) and socket.io-client from the copy
vendored into `web/static/vendor`; an import map in each page ties the two together. The
pages use the public API and Socket.IO events only.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from apiflask import APIBlueprint
from flask import abort, current_app, render_template, request, send_from_directory

ROOT = Path(__file__).resolve().parent.parent
CLIENT_LIB = ROOT / "clients" / "js" / "src"
LIB_URL = "/assets/chat-client"

# socket.io-client for the library's `import "socket.io-client"`, from this server.
IMPORT_MAP = json.dumps({"imports": {
    "socket.io-client": "/static/vendor/socket.io-client.esm.min.js"}})
# The one inline script of the pages, allowed by its hash rather than 'unsafe-inline'.
IMPORT_MAP_HASH = "sha256-" + base64.b64encode(
    hashlib.sha256(IMPORT_MAP.encode()).digest()).decode()

bp = APIBlueprint("pages", __name__, template_folder="templates", enable_openapi=False)


def _page(template: str, **context: object) -> tuple[str, int, dict[str, str]]:
    settings = current_app.config["SETTINGS"]
    html = render_template(template, lib_url=LIB_URL, import_map=IMPORT_MAP,
                           max_upload_mb=settings.max_upload_mb,
                           max_message_chars=settings.max_message_chars, **context)
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        # Stored text is rendered with textContent; this keeps any slip from running script.
        "Content-Security-Policy": f"default-src 'self'; script-src 'self' '{IMPORT_MAP_HASH}'; "
        "img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self' ws: wss:; frame-ancestors *",
        "Referrer-Policy": "no-referrer",
    }
    return html, 200, headers


@bp.get("/widget/<int:business_id>")
def widget(business_id: int):
    embedded = request.args.get("embed") == "1"
    return _page("widget.html", business_id=business_id, embedded=embedded)


@bp.get("/widget.js")
def widget_embed():
    response = send_from_directory(Path(current_app.static_folder) / "pages", "embed.js",
                                   max_age=300)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/dashboard")
def dashboard():
    return _page("dashboard.html")


@bp.get(f"{LIB_URL}/<path:filename>")
def client_library(filename: str):
    if not filename.endswith(".js"):
        abort(404)
    return send_from_directory(CLIENT_LIB, filename, max_age=0)
