"""Alembic migrations: upgrade, downgrade to base and upgrade again on a fresh database,
and the models match what the migrations build."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.helpers.databases import create_pg_database, drop_pg_database


@contextmanager
def fresh_app(overrides: dict | None = None) -> Iterator:
    """Another app from ``create_app``, as a restarted process would build it.

    create_app binds process-wide objects (the Socket.IO server, the default Celery app) to
    the newest app; they are put back afterwards so the session ``app`` keeps working.
    """
    from celery import current_app as current_celery

    from web.app import create_app
    from web.extensions import db, socketio

    saved = {name: getattr(socketio, name, None)
             for name in ("server", "sockio_mw", "async_mode")}
    saved_options = dict(socketio.server_options)
    celery_before = current_celery._get_current_object()
    application = None
    try:
        application = create_app(overrides)
        yield application
    finally:
        if application is not None:
            with application.app_context():
                db.engine.dispose()
        for name, value in saved.items():
            setattr(socketio, name, value)
        socketio.server_options = saved_options
        celery_before.set_default()


def _database_kinds() -> list[str]:
    kinds = ["sqlite"]
    if os.environ.get("TEST_DATABASE", "sqlite") == "postgres":
        kinds.append("postgres")
    return kinds


@pytest.fixture(params=_database_kinds())
def empty_database_url(request) -> Iterator[str]:
    """A database with no tables at all, apart from the session one."""
    if request.param == "postgres":
        name, url = create_pg_database()
        yield url
        drop_pg_database(name)
    else:
        with tempfile.TemporaryDirectory(prefix="migrations-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'fresh.db'}"


def _tables() -> set[str]:
    from web.extensions import db

    return set(inspect(db.engine).get_table_names())


def _model_tables() -> set[str]:
    from web.extensions import db

    return set(db.metadata.tables)


def _current_revision() -> str | None:
    from alembic.migration import MigrationContext

    from web.extensions import db

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _script_heads(application) -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    with application.app_context():
        config = application.extensions["migrate"].migrate.get_config()
        return tuple(ScriptDirectory.from_config(config).get_heads())


def _schema_differences() -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from web.extensions import db

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_migrations_have_a_single_head(app):
    assert len(_script_heads(app)) == 1


def test_upgrade_downgrade_upgrade_and_models_match(empty_database_url: str):
    from flask_migrate import downgrade, upgrade

    with fresh_app({"SQLALCHEMY_DATABASE_URI": empty_database_url}) as application:
        (head,) = _script_heads(application)
        with application.app_context():
            assert _tables() == set()

            upgrade()
            assert _tables() == _model_tables() | {"alembic_version"}
            assert _current_revision() == head

            downgrade(revision="base")
            assert _tables() <= {"alembic_version"}
            assert _current_revision() is None

            upgrade()
            assert _tables() == _model_tables() | {"alembic_version"}
            assert _current_revision() == head
            assert _schema_differences() == []


def test_session_database_matches_the_models(app):
    with app.app_context():
        assert _schema_differences() == []
