"""The web process's start-up line: where it listens, in which mode, which version.

Kept apart from web/serve.py, which monkey-patches on import, so a test can call it.
"""
from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger("web.serve")


def start_line(app: Flask, host: str, port: int) -> tuple[str, dict]:
    settings = app.config["SETTINGS"]
    mode = "embedded" if settings.embedded else "full"
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    text = (f"web listening on {host}:{port} (http://{shown}:{port}/), mode {mode}, "
            f"version {app.version}, async {settings.async_mode}")
    return text, {"address": f"{host}:{port}", "mode": mode, "version": app.version}


def log_start(app: Flask, host: str, port: int) -> None:
    """Log the start-up line whatever LOG_LEVEL says: it is what tells an operator (or
    honcho's output) which port the process took."""
    text, fields = start_line(app, host, port)
    log.setLevel(logging.INFO)
    log.info(text, extra=fields)
