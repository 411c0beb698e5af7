"""The web process: `python -m web.serve` (eventlet's WSGI server via socketio.run)."""
import eventlet

eventlet.monkey_patch()

import os  # noqa: E402


def main() -> None:
    from psycogreen.eventlet import patch_psycopg

    # psycopg2 must yield to the hub while it waits on PostgreSQL.
    patch_psycopg()

    from web.app import create_app
    from web.extensions import socketio
    from web.presence_hooks import heartbeat_loop

    app = create_app()
    settings = app.config["SETTINGS"]
    if os.environ.get("AUTO_MIGRATE", "").lower() in ("1", "true", "yes"):
        from web.bootstrap import migrate_database

        migrate_database(app)
    socketio.start_background_task(heartbeat_loop, app)
    # eventlet's server accepts 1,024 connections by default; a chat server needs far more.
    max_size = int(os.environ.get("WEB_MAX_CONNECTIONS", "20000"))
    socketio.run(
        app,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=settings.port,
        log_output=os.environ.get("ACCESS_LOG", "").lower() in ("1", "true"),
        max_size=max_size,
    )


if __name__ == "__main__":
    main()
