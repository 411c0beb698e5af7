"""The Celery app, built from the same create_app as the web process."""
from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging, worker_init
from flask import Flask

from web.config import redis_ssl_options
from workers.base import FlaskTask


@setup_logging.connect
def _keep_app_logging(**_kwargs: object) -> None:
    """Workers log through the app's configuration (JSON lines with LOG_FORMAT=json).

    Connecting this signal stops Celery from replacing the root logger's handlers.
    """


@worker_init.connect
def _load_sentence_encoder(**_kwargs: object) -> None:
    """Load the FAQ matcher's sentence encoder (~1 s, ~120 MB) in the worker's main process.

    Pool processes are forked from it, so they share its weights instead of each loading its
    own copy when its first FAQ message arrives.
    """
    from logic import faq_semantic

    faq_semantic.warm()


def celery_init_app(app: Flask) -> Celery:
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.flask_app = app  # the context FlaskTask runs its tasks in
    celery_app.config_from_object("celeryconfig")
    settings = app.config["SETTINGS"]
    broker_url = app.config.get("BROKER_URL_OVERRIDE",
                                app.config.get("REDIS_URL_OVERRIDE", settings.broker_url))
    # Embedded mode: no broker, each task runs where it is enqueued.
    celery_app.conf.task_always_eager = not broker_url
    celery_app.conf.broker_url = broker_url or "memory://"
    celery_app.conf.broker_use_ssl = redis_ssl_options(broker_url)
    celery_app.conf.broker_transport_options = {
        **celery_app.conf.broker_transport_options,
        # A task taken by a worker that died is handed out again after this many seconds.
        "visibility_timeout": settings.celery_visibility_timeout,
    }
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    import workers.activity_tasks  # noqa: F401  (registers the tasks on this app)
    import workers.automation_tasks  # noqa: F401
    import workers.tasks  # noqa: F401
    from workers.pending_cli import register_commands

    register_commands(app)  # flask automation|notifications failed|requeue
    return celery_app
