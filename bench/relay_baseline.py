"""Bare Flask-SocketIO relay: the project's chat events with no auth, storage or bots.

It is the baseline the project's send path is compared against (see bench/README.md):
same server stack (Flask-SocketIO on eventlet, one process), same event names and
payload shapes, so the difference in sustained rate is the cost of the project's own work.

    python bench/relay_baseline.py --port 5055
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402 - eventlet must patch the stdlib before anything imports it
import itertools  # noqa: E402
import logging  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

NAMESPACE = "/realtime"

app = Flask(__name__)
socketio = SocketIO(app, async_mode="eventlet", cors_allowed_origins="*")

_message_ids = itertools.count(1)
_user_ids = itertools.count(1)
_room_seq: defaultdict[str, int] = defaultdict(int)
_sid_user: dict[str, int] = {}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth: Any = None) -> bool:
    # Any token is accepted; only a missing one is refused, like the project does.
    if not isinstance(auth, dict) or not auth.get("token"):
        return False
    _sid_user[request.sid] = next(_user_ids)
    return True


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(reason: Any = None) -> None:
    _sid_user.pop(request.sid, None)


@socketio.on("chat:join-room", namespace=NAMESPACE)
def on_join_room(data: Any = None) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("room_id") in (None, ""):
        return _error("validation_error", "room_id is required")
    room_id = data["room_id"]
    join_room(f"room:{room_id}")
    return {"ok": True, "room": {"id": room_id}, "messages": [], "has_more": False}


@socketio.on("chat:send-message", namespace=NAMESPACE)
def on_send_message(data: Any = None) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("room_id") in (None, ""):
        return _error("validation_error", "room_id is required")
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        return _error("validation_error", "content is required")
    room_id = data["room_id"]
    key = str(room_id)
    _room_seq[key] += 1
    message = {
        "id": next(_message_ids),
        "room_id": room_id,
        "seq": _room_seq[key],
        "sender_id": _sid_user.get(request.sid),
        "sender_type": "customer",
        "kind": "text",
        "content": content,
        "client_msg_id": data.get("client_msg_id"),
        "created_at": datetime.now(UTC).isoformat(),
    }
    # Like the project, the whole room gets the event, the sender's own socket included.
    emit("chat:new-message", {"message": message}, to=f"room:{key}")
    return {"ok": True, "message": message}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    # Per-request logging would dominate the relay's CPU and skew the baseline.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    socketio.run(app, host="127.0.0.1", port=args.port, log_output=False)


if __name__ == "__main__":
    main()
