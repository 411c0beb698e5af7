"""Notifications, audit log, notification rules and the activity summary (prefix /api)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required

from actions import activity_summary, audit, notification_rules, notifications
from web.notification_schemas import (
    ActivitySummaryEnvelope,
    AuditLogListOut,
    AuditLogQuery,
    EventAcceptedOut,
    EventIn,
    NotificationListOut,
    NotificationQuery,
    NotificationReadOut,
    ReadAllOut,
    RuleEnvelope,
    RuleIn,
    RuleListOut,
)
from web.tokens import current_actor

bp = APIBlueprint("notifications", __name__, url_prefix="/api", tag="Notifications")


@bp.post("/events")
@jwt_required()
@bp.input(EventIn, arg_name="body")
@bp.output(EventAcceptedOut, status_code=202)
@bp.doc(summary="Record an event of the host platform in the caller's business audit log",
        description="Staff or owner. The worker turns it into a notification when the "
        "business's rule for the type says so, then emits audit:log and notification:new. "
        "A repeated idempotency_key answers 202 with the first entry's id.",
        security="BearerAuth", responses=[400, 401, 403, 413])
def record_event(body: dict):
    recorded = audit.record_for(
        current_actor(), body["type"], body.get("data"), body.get("idempotency_key")
    )
    return {"audit_log_id": recorded.id, "duplicate": not recorded.created}


@bp.get("/notifications")
@jwt_required()
@bp.input(NotificationQuery, location="query", arg_name="query")
@bp.output(NotificationListOut)
@bp.doc(summary="The caller's notifications, newest first, with the caller's read state",
        description="Cursor pagination: pass next_before_id as before_id for the next page "
        "(null when there is none). unread_count counts every unread notification the caller "
        "can see, whatever the page. Owners-only notifications are listed to owners only.",
        security="BearerAuth", responses=[400, 401, 403])
def list_notifications(query: dict):
    page = notifications.list_for(
        current_actor(), query["unread"], query["limit"], query["before_id"]
    )
    return {"notifications": page.items, "unread_count": page.unread_count,
            "next_before_id": page.next_before_id}


@bp.put("/notifications/read-all")
@jwt_required()
@bp.output(ReadAllOut)
@bp.doc(summary="Mark every notification read for the caller (not for colleagues)",
        security="BearerAuth", responses=[401, 403])
def read_all_notifications():
    return notifications.mark_all_read(current_actor())


@bp.put("/notifications/<int:notification_id>/read")
@jwt_required()
@bp.output(NotificationReadOut)
@bp.doc(summary="Mark one notification read for the caller (not for colleagues)",
        security="BearerAuth", responses=[401, 403, 404])
def read_notification(notification_id: int):
    body, unread = notifications.mark_read(current_actor(), notification_id)
    return {"notification": body, "unread_count": unread}


@bp.get("/audit-logs")
@jwt_required()
@bp.input(AuditLogQuery, location="query", arg_name="query")
@bp.output(AuditLogListOut)
@bp.doc(summary="The business's audit log, newest first (staff)",
        description="type filters by an exact type or a family (booking.*).",
        security="BearerAuth", responses=[400, 401, 403])
def list_audit_logs(query: dict):
    entries, next_before_id = audit.list_for(
        current_actor(), query["type"], query["limit"], query["before_id"]
    )
    return {"audit_logs": [e.to_dict() for e in entries], "next_before_id": next_before_id}


@bp.get("/notification-rules")
@jwt_required()
@bp.output(RuleListOut)
@bp.doc(summary="Which event types become notifications, with severity and audience (staff)",
        security="BearerAuth", responses=[401, 403])
def list_rules():
    return {"rules": [r.to_dict() for r in notification_rules.list_rules(current_actor())]}


@bp.put("/notification-rules/<string:event_type>")
@jwt_required()
@bp.input(RuleIn, arg_name="body")
@bp.output(RuleEnvelope)
@bp.doc(summary="Override the rule for one event type (owner)",
        description="Any well-formed type may be set, so a business can turn on types "
        "that have no default. Templates use {field} or {field|fallback} from the event data; "
        "text in [brackets] that names a field appears only when the field has a value.",
        security="BearerAuth", responses=[400, 401, 403])
def set_rule(event_type: str, body: dict):
    rule = notification_rules.set_rule(current_actor(), event_type, body)
    return {"rule": rule.to_dict()}


@bp.delete("/notification-rules/<string:event_type>")
@jwt_required()
@bp.output({}, status_code=204)
@bp.doc(summary="Drop the business's override; the default applies again (owner)",
        security="BearerAuth", responses=[400, 401, 403, 404])
def reset_rule(event_type: str):
    notification_rules.reset_rule(current_actor(), event_type)
    return ""


@bp.get("/activity/summary")
@jwt_required()
@bp.output(ActivitySummaryEnvelope)
@bp.doc(summary="Events per type in the last 24 h and conversations by state (staff)",
        security="BearerAuth", responses=[401, 403])
def activity():
    return {"summary": activity_summary.summary(current_actor())}
