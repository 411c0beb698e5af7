"""The web process: `python -m web.serve` (eventlet's WSGI server via socketio.run).

`python -m web.serve --demo` is the embedded quick start: it migrates the
database, seeds the demo business and prints its logins and URLs first.
"""
import warnings

# eventlet is the chosen async mode (it measured faster than gevent here); its
# deprecation notice is known and would only clutter the log.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import gc  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from flask import Flask


def _print_demo(app: "Flask", port: int) -> None:
    from actions import demo
    from actions.events import NAMESPACE
    from web.cli import describe_demo

    with app.app_context():
        info = demo.seed()
        text = describe_demo(info)
    base = f"http://localhost:{port}"
    lines = [
        "",
        "Booking chat is running (embedded mode: SQLite, tasks in-process, no Redis).",
        f"  Start here    {base}/",
        f"  Chat widget   {base}/widget/{info['business_id']}  (sign in as the customer, "
        "or register a new one)",
        f"  Dashboard     {base}/dashboard  (sign in as the owner or the staff member)",
        f"  API index     {base}/api",
        f"  Swagger UI    {base}/docs",
        f"  OpenAPI       {base}/openapi.json",
        f"  Socket.IO     {base}  namespace {NAMESPACE}  (auth: {{token: <access token>}})",
        f"  Health        {base}/healthz  {base}/readyz",
        text,
    ]
    lines.append(f'Sign in: curl -s -X POST {base}/api/auth/login -H "Content-Type: '
                 f'application/json" -d \'{{"email":"{info["accounts"]["owner"]}",'
                 f'"password":"{info["password"]}"}}\'')
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the web process.")
    parser.add_argument("--demo", action="store_true",
                        help="migrate, seed the demo business and print its logins first")
    args = parser.parse_args()

    from psycogreen.eventlet import patch_psycopg

    # psycopg2 must yield to the hub while it waits on PostgreSQL.
    patch_psycopg()

    from web.app import create_app
    from web.bootstrap import migrate_database
    from web.extensions import socketio
    from web.presence_hooks import heartbeat_loop

    app = create_app()
    settings = app.config["SETTINGS"]
    if args.demo or settings.auto_migrate:
        migrate_database(app)
    if args.demo:
        _print_demo(app, settings.port)
    socketio.start_background_task(heartbeat_loop, app)
    if not settings.redis_url:
        # Embedded mode runs the tasks, the FAQ bot among them, in this process: load its
        # sentence encoder now rather than stall the hub for a second on the first question.
        from logic import faq_semantic

        faq_semantic.warm()
    # Everything loaded so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise stall every socket for a few hundred ms.
    gc.collect()
    gc.freeze()
    from web.startup import log_start

    log_start(app, settings.host, settings.port)
    socketio.run(
        app,
        host=settings.host,
        port=settings.port,
        log_output=settings.access_log,
        max_size=settings.web_max_connections,
    )


if __name__ == "__main__":
    main()
