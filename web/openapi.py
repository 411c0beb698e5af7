"""Finishing touches to the generated OpenAPI document: what marshmallow schemas and
APIFlask's decorators cannot say, so that the document describes the API exactly.

Registered with ``app.spec_processor``; runs once, when the document is first built.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

from actions import attachments
from actions.notification_rules import MAX_TYPE_CHARS, TYPE_PATTERN
from web.schemas import INT64_MAX, INT64_MIN

_METHODS = ("get", "post", "put", "patch", "delete")

STATUS_RULES = (
    "Errors are JSON: `{\"error\": {\"code\", \"message\", \"details\"?}}`. A request that "
    "breaks this document (type, format, pattern, length, required field) answers **400**. A "
    "request that fits it but cannot be applied as a whole answers **422**: overlapping "
    "business hours, a placeholder the trigger does not fill, attachments or participants "
    "the caller cannot use. Anywhere in a body, text must not contain NUL (\\u0000) or lone "
    "surrogates and integers must fit in 64 bits (400). Unknown query parameters are ignored. "
    "Any JSON body larger than MAX_JSON_KB (default 256 KB) answers 413."
)


def finish_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """APIFlask's spec processor: complete the generated document in place."""
    schemas = spec.get("components", {}).get("schemas", {})
    _room_create_shape(schemas)
    _message_limit(schemas)
    _json_values(schemas)
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is not None:
                _require_bodies(operation, schemas)
                _ignored_fields(operation, schemas)
                _type_parameters(operation)
                if "requestBody" in operation:
                    _too_large(operation)
                if path.startswith("/api/"):
                    _outage(operation)
        if path == "/api/chat/attachments" and "post" in item:
            _upload_types(item["post"])
    info = spec.setdefault("info", {})
    info["description"] = (info.get("description", "") + "\n\n" + STATUS_RULES).strip()
    return spec


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return schemas.get(ref.rsplit("/", 1)[1], {})
    return schema


def _require_bodies(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body with required fields is itself required: without one the API answers 400
    (APIFlask leaves requestBody optional, so the document allowed an empty request)."""
    body = operation.get("requestBody")
    if not body:
        return
    for media in body.get("content", {}).values():
        schema = _resolve(media.get("schema", {}), schemas)
        if schema.get("required") or "if" in schema:
            body["required"] = True


def _room_create_shape(schemas: dict[str, Any]) -> None:
    """A customer names the business; a staff room lists its other participants."""
    schema = schemas.get("RoomCreateIn")
    if schema is None:
        return
    schema["if"] = {"properties": {"type": {"const": "staff"}}, "required": ["type"]}
    schema["then"] = {"required": ["participant_ids"]}
    schema["else"] = {"required": ["business_id"]}


def _message_limit(schemas: dict[str, Any]) -> None:
    """The configured MAX_MESSAGE_CHARS, not the schema's coarse bound."""
    content = schemas.get("SendIn", {}).get("properties", {}).get("content")
    if content is not None and has_app_context():  # built for a request or `flask spec`
        content["maxLength"] = current_app.config["SETTINGS"].max_message_chars


_JSON_VALUE = {"$ref": "#/components/schemas/JsonValue"}


def _json_values(schemas: dict[str, Any]) -> None:
    """Free-form JSON (an event's data, ignored fields) as every body is read: integers within
    64 bits (web/schemas.py)."""
    value = _JSON_VALUE
    schemas["JsonValue"] = {
        "description": "Any JSON value whose integers fit in 64 bits (as in every body).",
        "anyOf": [
            {"type": ["string", "boolean", "null"]},
            {"type": "number", "not": {"type": "integer"}},
            {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX},
            {"type": "array", "items": value},
            {"type": "object", "additionalProperties": value},
        ],
    }
    data = schemas.get("EventIn", {}).get("properties", {}).get("data")
    if data is not None:
        data["additionalProperties"] = value


def _ignored_fields(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A JSON body that ignores unknown fields still reads them as JSON: say what they may be."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return
    schema = _resolve(media.get("schema", {}), schemas)
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        schema["additionalProperties"] = _JSON_VALUE


def _type_parameters(operation: dict[str, Any]) -> None:
    """Path parameters named event_type follow the event type rule."""
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "event_type" and parameter.get("in") == "path":
            parameter["schema"] = {"type": "string", "pattern": TYPE_PATTERN.pattern,
                                   "maxLength": MAX_TYPE_CHARS, "example": "booking.created"}
            parameter["description"] = "A dotted lowercase event type, e.g. booking.created."


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def _too_large(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.setdefault("413", {"description": "The body is larger than allowed",
                                 "content": _ERROR_CONTENT})


def _outage(operation: dict[str, Any]) -> None:
    """Any API call may find the database or Redis out of reach (actions/errors.outage)."""
    operation.setdefault("responses", {}).setdefault("503", {
        "description": "The database or Redis is out of reach (code unavailable); nothing was "
        "saved. Retry after Retry-After seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"},
                                    "description": "Seconds to wait before retrying"}},
        "content": _ERROR_CONTENT,
    })


def _upload_types(operation: dict[str, Any]) -> None:
    """The file part must be one of the accepted types (sniffed from its bytes; else 415)."""
    multipart = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if multipart is not None:
        multipart["encoding"] = {
            "file": {"contentType": ", ".join(sorted(attachments.ALLOWED_TYPES))}}
