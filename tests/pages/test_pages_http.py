"""The pages as HTTP resources (no browser): served from files in the repository, with their
import map allowed by hash, the client library's modules and nothing outside them."""
from __future__ import annotations

import base64
import hashlib
import re


def test_the_widget_and_dashboard_are_html_with_a_strict_policy(client):
    for url in ("/widget/1", "/widget/1?embed=1", "/dashboard"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        policy = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        # The one inline script, the import map, is allowed by its hash.
        import_map = re.search(r'<script type="importmap">(.*?)</script>', html, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
        assert "/static/vendor/socket.io-client.esm.min.js" in import_map
        assert "http" not in import_map  # nothing from another host
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_the_embed_script_and_the_library_modules_are_javascript(client):
    embed = client.get("/widget.js")
    assert embed.status_code == 200
    assert embed.mimetype == "text/javascript"
    assert embed.headers["Access-Control-Allow-Origin"] == "*"
    for module in ("index.js", "core.js", "react.js"):
        response = client.get(f"/assets/chat-client/{module}")
        assert response.status_code == 200, module
        assert response.mimetype == "text/javascript"
    for path in ("index.d.ts", "../package.json", "..%2fpackage.json", "nope.js",
                 "../../web/app.py"):
        assert client.get(f"/assets/chat-client/{path}").status_code == 404, path
    vendored = client.get("/static/vendor/socket.io-client.esm.min.js")
    assert vendored.status_code == 200
    assert vendored.get_data(as_text=True).startswith("/*!\n * Socket.IO v")
