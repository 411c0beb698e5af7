"""The application factory, shared by the web process and the Celery workers."""
from __future__ import annotations

import logging

from apiflask import APIFlask
from flask import request
from flask.ctx import RequestContext

from actions import events
from actions.errors import TooLarge
from infra import database, presence, rate_limits
from web import socket_queue, websocket_transport
from web.config import Settings
from web.errors import register_error_handlers
from web.extensions import db, jwt, migrate, socketio
from web.logs import configure_logging
from web.openapi import finish_spec
from web.schemas import ErrorOut, refuse_nul

SOCKETIO_PATH = "/socket.io"  # Flask-SocketIO's default, which the clients use
_SOCKET_REQUEST = "chat.socket_request"  # environ key: the connection's request and session


class ChatApp(APIFlask):
    """The Flask app, minus URL matching for Socket.IO events.

    Flask-SocketIO runs every event inside a request context built from the
    connection's handshake; matching that /socket.io/ path against the whole URL
    map (and failing, since no route serves it) was a tenth of the send path.
    """

    def create_url_adapter(self, request):  # noqa: ANN001, ANN201 - Flask's signature
        if request is not None and request.environ.get("PATH_INFO", "").startswith(
                SOCKETIO_PATH):
            return None
        return super().create_url_adapter(request)

    def request_context(self, environ: dict) -> RequestContext:
        """A Socket.IO event's context reuses its connection's request object and opens no
        cookie session: building both from the handshake's environ for every event was a
        sixth of the send path. The events read only ``request.sid`` and the handshake's
        headers, which do not change over the connection's life."""
        if not environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):
            return super().request_context(environ)
        shared = environ.get(_SOCKET_REQUEST)
        if shared is None:
            shared = environ[_SOCKET_REQUEST] = (self.request_class(environ),
                                                 self.session_interface.make_null_session(self))
            shared[0].json_module = self.json
        request, session = shared
        return RequestContext(self, environ, request=request, session=session)


def create_app(overrides: dict | None = None, role: str = "web") -> APIFlask:
    settings = Settings.from_env()
    app = ChatApp(
        __name__.split(".")[0],
        title="Booking Chat API",
        version="1.0.0",
        spec_path="/openapi.json",
        docs_path="/docs",
        instance_path=str(settings.instance_path),
    )
    app.config.update(
        SETTINGS=settings,
        ROLE=role,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        JWT_SECRET_KEY=settings.jwt_secret_key,
        JWT_ALGORITHM=settings.jwt_algorithm,
        JWT_DECODE_ALGORITHMS=[settings.jwt_algorithm],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ACCESS_TOKEN_EXPIRES=settings.access_token_minutes * 60,
        JWT_REFRESH_TOKEN_EXPIRES=settings.refresh_token_days * 86400,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 + 64 * 1024,
        VALIDATION_ERROR_STATUS_CODE=400,
        HTTP_ERROR_SCHEMA=ErrorOut,
        VALIDATION_ERROR_SCHEMA=ErrorOut,
        VALIDATION_ERROR_DESCRIPTION="Invalid input",
        AUTH_ERROR_STATUS_CODE=401,
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer",
                                         "bearerFormat": "JWT"}},
        INFO={"description": "REST API of the booking chat backend. Real-time events are on "
              "the Socket.IO namespace /realtime; see the README's events reference."},
    )
    if overrides:
        app.config.update(overrides)
    app.json.sort_keys = False
    configure_logging(settings)

    database.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=str(_migrations_dir()))
    jwt.init_app(app)
    import web.tokens  # noqa: F401  (registers the JWT loaders)

    redis_url = app.config.get("REDIS_URL_OVERRIDE", settings.redis_url)
    presence.configure(redis_url)
    rate_limits.configure(redis_url)
    if role == "web":
        # Imported before init_app so a second app in one process still gets the handlers.
        import web.chat_socket  # noqa: F401  (registers the chat events' handlers)
        import web.realtime  # noqa: F401  (registers connect, disconnect and auth:refresh)

        websocket_transport.install()  # the transport engineio builds websockets with
        # client_manager always given: init_app keeps options between calls, so an embedded
        # app after a Redis one must say it wants the in-memory manager (None).
        socketio.init_app(
            app,
            client_manager=socket_queue.client_manager(
                redis_url, settings.socketio_channel, (events.NAMESPACE,)),
            async_mode=app.config.get("ASYNC_MODE", settings.async_mode),
            cors_allowed_origins=settings.cors_allowed_origins,
            logger=False,
            engineio_logger=False,
            ping_interval=25,
            ping_timeout=20,
            max_http_buffer_size=1_000_000,
        )
        if settings.socketio_debug_counters:
            socket_queue.register_debug_counters(app, socketio)
        events.configure(_local_emitter)
    else:
        events.configure(_queue_emitter(redis_url))

    register_error_handlers(app)
    _register_blueprints(app)
    app.spec_processor(finish_spec)  # what the decorators cannot say (web/openapi.py)
    _limit_json_bodies(app, settings)

    from workers.celery_app import celery_init_app

    celery_init_app(app)
    logging.getLogger(__name__).debug("app created (role=%s)", role)
    return app


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _local_emitter(event_name: str, payload: dict, to: str, skip_sid: str | None) -> None:
    socketio.emit(event_name, payload, to=to, namespace=events.NAMESPACE, skip_sid=skip_sid)


def _queue_emitter(redis_url: str | None):
    """Workers emit through a write-only client of the message queue."""
    if not redis_url:
        return _local_emitter  # embedded mode: tasks run inside the web process
    from web.socket_queue_wire import QueueEmitter

    # Plain redis-py, no Socket.IO server and no eventlet: a worker only publishes, on the
    # same per-room channels and in the same format as the web processes.
    external = QueueEmitter(redis_url, Settings.from_env().socketio_channel)

    def emit(event_name: str, payload: dict, to: str, skip_sid: str | None) -> None:
        external.emit(event_name, payload, events.NAMESPACE, room=to, skip_sid=skip_sid)

    return emit


def _register_blueprints(app: APIFlask) -> None:
    from web import (
        attachment_routes,
        auth_routes,
        automation_routes,
        business_routes,
        chat_routes,
        health_routes,
        landing_routes,
        notification_routes,
        pages_routes,
    )
    from web.cli import register_commands

    for module in (health_routes, auth_routes, business_routes, chat_routes, attachment_routes,
                   automation_routes, notification_routes, pages_routes):
        app.register_blueprint(module.bp)
    landing_routes.init_app(app)  # `/`, `/api` and the assets of `/docs`
    register_commands(app)  # flask --app web.app create-owner | seed-demo


def _limit_json_bodies(app: APIFlask, settings: Settings) -> None:
    limit = settings.max_json_kb * 1024

    @app.before_request
    def check_size():
        # Uploads may use the full MAX_CONTENT_LENGTH; everything else is small JSON.
        if request.mimetype != "multipart/form-data" and (request.content_length or 0) > limit:
            raise TooLarge(f"The request body is larger than {settings.max_json_kb} KB.")
        if request.is_json:
            refuse_nul(request.get_json(silent=True))
