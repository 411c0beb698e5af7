"""HTTP error mapping: every error leaves as {"error": {"code", "message"}}."""

from __future__ import annotations

import json
import logging
import sys

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from actions.errors import DomainError, InvalidInput, outage
from infra import tx
from web.schemas import INT64_MAX, bounded_int

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
    503: "unavailable",
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


class _StrictJSON(DefaultJSONProvider):
    """Request bodies that json.loads cannot take calmly become a 400, not a 500: nesting
    deeper than the stack (RecursionError) and integers of thousands of digits."""

    def loads(self, s: str | bytes, **kwargs: object) -> object:
        kwargs.setdefault("parse_int", bounded_int)
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise InvalidInput("The JSON body is nested too deeply.") from None


class _Int64Converter(IntegerConverter):
    """`<int:id>` that does not match past 64 bits: such an id cannot exist (404), and
    SQLite cannot even bind it (OverflowError, a 500 before). The digit count is part of the
    pattern so a longer number matches no rule at all (404) instead of failing conversion."""

    regex = r"\d{1,19}"

    def __init__(self, map, *args: object, **kwargs: object) -> None:  # noqa: A002
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


# eventlet's server answers a header line over 8 KB (or 64 KB of headers) with an empty
# `400 Header Line Too Long`, and http.server a line over 64 KB with an HTML 431, before the
# app sees the request. Up to this size the app answers instead, with its JSON errors (an
# over-long bearer token is a 401 like any bad token); past it the server's own refusal is JSON.
MAX_HEADER_BYTES = 128 * 1024
_SERVER_ERROR_JSON = '{"error": {"code": "invalid_request", "message": "%(message)s"}}'


def _let_the_app_answer_long_headers() -> None:
    wsgi = sys.modules.get("eventlet.wsgi")
    if wsgi is None:
        return
    import http.client

    http.client._MAXLINE = max(http.client._MAXLINE, MAX_HEADER_BYTES)
    # Above http.client's line limit, so its JSON-formatted 431 answers before eventlet's 400.
    wsgi.MAX_HEADER_LINE = max(wsgi.MAX_HEADER_LINE, http.client._MAXLINE + 2)
    wsgi.MAX_TOTAL_HEADER_SIZE = max(wsgi.MAX_TOTAL_HEADER_SIZE, 4 * MAX_HEADER_BYTES)
    wsgi.HttpProtocol.error_message_format = _SERVER_ERROR_JSON
    wsgi.HttpProtocol.error_content_type = "application/json"


def register_error_handlers(app: APIFlask) -> None:
    """Map every error to the contract's JSON shape, and refuse unparseable input as one.

    Called before the blueprints are registered, so the id converter applies to every route.
    """
    sort_keys = app.json.sort_keys
    app.json = _StrictJSON(app)
    app.json.sort_keys = sort_keys
    app.url_map.converters["int"] = _Int64Converter
    _let_the_app_answer_long_headers()

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
        unavailable = outage(error)
        if unavailable is not None:
            log.warning("request failed: %s unavailable (%s)", type(error).__module__, error)
            return domain_error(unavailable)
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
