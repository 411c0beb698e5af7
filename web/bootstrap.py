"""Database migration helper used by the embedded start and the release phase."""
from __future__ import annotations

from flask import Flask


def migrate_database(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
