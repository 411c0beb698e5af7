"""What the test modules share: the contract's error shape and the Socket.IO namespace.

The helpers of each area are the modules beside this one (``chat``, ``notifications``,
``live`` for the live stack, ``cluster`` for the message queue's web processes, ``pages``,
``databases``); the conftest files hold fixtures only.
"""
from __future__ import annotations

from actions.events import NAMESPACE

__all__ = ["NAMESPACE", "assert_error"]


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Check the status and the contract's JSON error shape; return the inner error object."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error
