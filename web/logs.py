"""Logging: one line per record, JSON in production (LOG_FORMAT=json)."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from web.config import Settings

_configured = False


def configure_logging(settings: Settings) -> None:
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("engineio", "socketio", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True
