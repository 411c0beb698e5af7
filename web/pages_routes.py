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

bp = APIBlueprint("pages", __name__, tag="Pages", template_folder="templates")


def _body(media_type: str, description: str) -> dict:
    return {"description": description,
            "content": {media_type: {"schema": {"type": "string"}}}}


HTML_PAGE = {200: _body("text/html", "An HTML page")}


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
@bp.doc(summary="The customer chat widget of a business (HTML page)",
        description="Accepts an access token in the URL fragment (#token=...); without one it "
        "shows a sign-in and registration form. ?embed=1 is the mode /widget.js frames. "
        "The page itself says so when the business does not exist.",
        responses={**HTML_PAGE, 404: "Not a business id (not an integer)"})
def widget(business_id: int):
    embedded = request.args.get("embed") == "1"
    return _page("widget.html", business_id=business_id, embedded=embedded)


@bp.get("/widget.js")
@bp.doc(summary="One-line embed of the widget for a business's own site (JavaScript)",
        description='<script src=".../widget.js" data-business="<id>"></script>: a launcher '
        "button with an unread badge that opens the widget in a frame.",
        responses={200: _body("text/javascript", "The embed script")})
def widget_embed():
    response = send_from_directory(Path(current_app.static_folder) / "pages", "embed.js",
                                   max_age=300, mimetype="text/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/dashboard")
@bp.doc(summary="The staff dashboard (HTML page)",
        description="Accepts an access token in the URL fragment (#token=...); without one it "
        "shows a sign-in form.", responses=HTML_PAGE)
def dashboard():
    return _page("dashboard.html")


@bp.get(f"{LIB_URL}/<path:filename>")
@bp.doc(summary="The JavaScript client library's ES modules (clients/js/src), for the pages",
        responses={200: _body("text/javascript", "An ES module"), 404: "No such module"})
def client_library(filename: str):
    if not filename.endswith(".js"):
        abort(404)
    return send_from_directory(CLIENT_LIB, filename, max_age=0, mimetype="text/javascript")
