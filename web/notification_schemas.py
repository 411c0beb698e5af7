"""Schemas of the notification, audit and activity routes.

Input schemas check shapes only; the limits (type pattern, 16 KB data, key
length) are enforced by the actions, so the Python entry point gets the same
checks as HTTP callers.
"""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from models.activity import AUDIENCES, SEVERITIES
from web.schemas import Lenient, Strict


class EventIn(Strict):
    type = String(required=True, metadata={
        "description": "Dotted lowercase event type, at most 64 characters.",
        "example": "booking.created"})
    data = Dict(load_default=dict, metadata={
        "description": "Event details (a JSON object of at most 16 KB); templates read its "
                       "fields, e.g. customer_name, service, starts_at, amount, currency."})
    idempotency_key = String(allow_none=True, metadata={
        "description": "1 to 128 characters; a repeat records nothing and returns the same id."})


class EventAcceptedOut(Schema):
    audit_log_id = Integer()
    duplicate = Boolean(metadata={"description": "True when the idempotency key repeated."})


class PageQuery(Lenient):
    limit = Integer(load_default=50, validate=Range(1, 200))
    before_id = Integer(load_default=None, validate=Range(min=1))


class NotificationQuery(PageQuery):
    unread = Boolean(load_default=False)


class AuditLogQuery(PageQuery):
    type = String(load_default=None, validate=Length(1, 64), metadata={
        "description": "An exact type, or a family such as booking.*"})


class NotificationOut(Schema):
    id = Integer()
    type = String()
    title = String()
    message = String()
    data = Dict()
    severity = String()
    audience = String()
    read_at = String(allow_none=True)
    created_at = String()
    audit_log_id = Integer(allow_none=True)


class NotificationListOut(Schema):
    notifications = List(Nested(NotificationOut))
    unread_count = Integer()
    next_before_id = Integer(allow_none=True)


class NotificationReadOut(Schema):
    notification = Nested(NotificationOut)
    unread_count = Integer()


class ReadAllOut(Schema):
    unread_count = Integer()
    read_through_id = Integer()
    read_at = String(allow_none=True)


class AuditLogOut(Schema):
    id = Integer()
    type = String()
    actor_id = Integer(allow_none=True)
    data = Dict()
    created_at = String()


class AuditLogListOut(Schema):
    audit_logs = List(Nested(AuditLogOut))
    next_before_id = Integer(allow_none=True)


class RuleOut(Schema):
    type = String()
    enabled = Boolean()
    severity = String()
    audience = String()
    title = String(metadata={"description": "Title template: {field} or {field|fallback}."})
    message = String(metadata={"description": "Message template, same syntax."})
    customised = Boolean(metadata={"description": "The business overrides the default."})
    has_default = Boolean()


class RuleListOut(Schema):
    rules = List(Nested(RuleOut))


class RuleEnvelope(Schema):
    rule = Nested(RuleOut)


class RuleIn(Strict):
    enabled = Boolean(truthy={True}, falsy={False})
    severity = String(validate=OneOf(SEVERITIES))
    audience = String(validate=OneOf(AUDIENCES))
    title_template = String(allow_none=True, validate=Length(max=200))
    message_template = String(allow_none=True, validate=Length(max=1000))


class ActivitySummaryOut(Schema):
    window_hours = Integer()
    since = String()
    generated_at = String()
    events_total = Integer()
    events_by_type = Dict(keys=String(), values=Integer())
    open_conversations = Integer()
    waiting_conversations = Integer()
    oldest_waiting_since = String(allow_none=True)


class ActivitySummaryEnvelope(Schema):
    summary = Nested(ActivitySummaryOut)
