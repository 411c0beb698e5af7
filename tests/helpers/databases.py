"""Fresh databases of the kind the suite runs on: PostgreSQL when TEST_DATABASE=postgres
(on TEST_PG_SERVER), else a SQLite file."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_SERVER = os.environ.get("TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")


def on_postgres() -> bool:
    return os.environ.get("TEST_DATABASE", "sqlite") == "postgres"


def create_pg_database() -> tuple[str, str]:
    """A new, empty PostgreSQL database; returns its name and URL."""
    import psycopg2

    name = f"chat_test_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(f"{PG_SERVER}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name, f"{PG_SERVER}/{name}"


def drop_pg_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG_SERVER}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@contextmanager
def fresh_database(folder: Path) -> Iterator[str]:
    """The URL of an empty database: a new PostgreSQL database (dropped after), or a SQLite
    file in ``folder``."""
    if not on_postgres():
        yield f"sqlite:///{folder / 'chat.db'}"
        return
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)
