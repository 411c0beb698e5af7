"""HTTP error mapping: every error leaves as {"error": {"code", "message"}}."""

from __future__ import annotations

import logging

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import jsonify
from werkzeug.exceptions import HTTPException

from actions import tx
from actions.errors import DomainError

log = logging.getLogger(__name__)

_CODES = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
}


def error_response(status: int, code: str, message: str, details=None, headers=None):
    body: dict = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def _summarise(detail: dict) -> str:
    """Turn APIFlask's {location: {field: [messages]}} into one readable sentence."""
    parts = []
    for fields in detail.values():
        if isinstance(fields, dict):
            for field, messages in fields.items():
                text = (
                    messages if isinstance(messages, str) else "; ".join(map(str, _flat(messages)))
                )
                parts.append(f"{field}: {text}")
    return "Invalid input. " + " ".join(parts) if parts else "Invalid input."


def _flat(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from _flat(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _flat(inner)
    else:
        yield value


def register_error_handlers(app: APIFlask) -> None:
    @app.error_processor
    def http_error(error: HTTPError):
        status = error.status_code
        if status == 400 and error.detail:
            message = _summarise(error.detail)
        else:
            message = error.message or "Error"
        code = error.extra_data.get("code") if error.extra_data else None
        return error_response(
            status,
            code or _CODES.get(status, "error"),
            message,
            error.detail or None,
            error.headers,
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        tx.rollback()
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return error_response(error.status, error.code, error.message, error.details, headers)

    @app.errorhandler(HTTPException)
    def werkzeug_error(error: HTTPException):
        status = error.code or 500
        return error_response(
            status,
            _CODES.get(status, "error"),
            error.description or error.name,
            headers=dict(error.get_headers()),
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return werkzeug_error(error)
        tx.rollback()
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
