"""Schemas of the notification, audit and activity routes.

Input schemas check shapes only; the limits (type pattern, 16 KB data, key
length) are enforced by the actions, so the Python entry point gets the same
checks as HTTP callers.
"""
from __future__ import annotations

from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from actions.audit import MAX_KEY_CHARS
from actions.notification_rules import MAX_TYPE_CHARS, TYPE_PATTERN
from models.activity import AUDIENCES, SEVERITIES
from web.schemas import INT64_MAX, Lenient, Out, Strict, StrictBool

# The action's own rule (dotted lowercase words, at most 64 characters), for the document.
EVENT_TYPE_DOC = {"pattern": TYPE_PATTERN.pattern, "maxLength": MAX_TYPE_CHARS}
# A type filter is an exact type or a family: "booking.*" (the type's words, then ".*").
TYPE_FILTER_PATTERN = TYPE_PATTERN.pattern.replace(r"(\.[a-z][a-z0-9_]*)+$",
                                                   r"(\.[a-z][a-z0-9_]*)*\.([a-z][a-z0-9_]*|\*)$")


class EventIn(Strict):
    type = String(required=True, metadata={
        **EVENT_TYPE_DOC, "description": "Dotted lowercase event type, at most 64 characters.",
        "example": "booking.created"})
    data = Dict(load_default=dict, metadata={
        "description": "Event details (a JSON object of at most 16 KB); templates read its "
                       "fields, e.g. customer_name, service, starts_at, amount, currency."})
    idempotency_key = String(allow_none=True, metadata={
        "minLength": 1, "maxLength": MAX_KEY_CHARS,
        "description": "1 to 128 characters; a repeat records nothing and returns the same id."})


class EventAcceptedOut(Out):
    audit_log_id = Integer()
    duplicate = Boolean(metadata={"description": "True when the idempotency key repeated."})


class PageQuery(Lenient):
    limit = Integer(load_default=50, validate=Range(1, 200))
    # Bounded: SQLite cannot even bind an integer past 64 bits (a 500 before).
    before_id = Integer(load_default=None, validate=Range(1, INT64_MAX))


class NotificationQuery(PageQuery):
    unread = Boolean(load_default=False)


class AuditLogQuery(PageQuery):
    type = String(load_default=None, validate=Length(1, MAX_TYPE_CHARS), metadata={
        "pattern": TYPE_FILTER_PATTERN,
        "description": "An exact type, or a family such as booking.*"})


class NotificationOut(Out):
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


class NotificationListOut(Out):
    notifications = List(Nested(NotificationOut))
    unread_count = Integer()
    next_before_id = Integer(allow_none=True)


class NotificationReadOut(Out):
    notification = Nested(NotificationOut)
    unread_count = Integer()


class ReadAllOut(Out):
    unread_count = Integer()
    read_through_id = Integer()
    read_at = String(allow_none=True)


class AuditLogOut(Out):
    id = Integer()
    type = String()
    actor_id = Integer(allow_none=True)
    data = Dict()
    created_at = String()


class AuditLogListOut(Out):
    audit_logs = List(Nested(AuditLogOut))
    next_before_id = Integer(allow_none=True)


class RuleOut(Out):
    type = String()
    enabled = Boolean()
    severity = String()
    audience = String()
    title = String(metadata={"description": "Title template: {field} or {field|fallback}."})
    message = String(metadata={"description": "Message template, same syntax."})
    customised = Boolean(metadata={"description": "The business overrides the default."})
    has_default = Boolean()


class RuleListOut(Out):
    rules = List(Nested(RuleOut))


class RuleEnvelope(Out):
    rule = Nested(RuleOut)


class RuleIn(Strict):
    enabled = StrictBool()
    severity = String(validate=OneOf(SEVERITIES))
    audience = String(validate=OneOf(AUDIENCES))
    title_template = String(allow_none=True, validate=Length(max=200))
    message_template = String(allow_none=True, validate=Length(max=1000))


class ActivitySummaryOut(Out):
    window_hours = Integer()
    since = String()
    generated_at = String()
    events_total = Integer()
    events_by_type = Dict(keys=String(), values=Integer())
    open_conversations = Integer()
    waiting_conversations = Integer()
    oldest_waiting_since = String(allow_none=True)
    automation_today = Nested("AutomationDayOut", metadata={
        "description": "The FAQ bot's figures of the business's day so far (its time zone); "
        "the same fields as a day of GET /api/chat/automation-stats."})


class AutomationDayOut(Out):
    date = String(metadata={"format": "date", "description": "In the business's time zone."})
    customer_messages = Integer()
    faq_answers = Integer(metadata={"description": "FAQ answers posted: direct answers and "
                                    "picked suggestions."})
    helpful = Integer(metadata={"description": "Answers marked helpful that day."})
    not_helpful = Integer()
    suggestions_shown = Integer(metadata={"description": "Customer questions that got "
                                          "chat:faq-suggestions."})
    suggestions_picked = Integer()
    escalations = Integer(metadata={"description": "chat.escalated entries."})
    resolved_without_staff = Integer(metadata={
        "description": "Conversations in which the customer asked something, got an FAQ "
        "answer, and no staff member wrote or was asked to, that day."})


class ActivitySummaryEnvelope(Out):
    summary = Nested(ActivitySummaryOut)
