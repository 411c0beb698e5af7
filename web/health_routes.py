"""Liveness, readiness and connection monitoring."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import current_app
from flask_jwt_extended import jwt_required
from sqlalchemy import text

from actions.actors import require_owner_of, require_staff
from infra import presence
from models import db
from web.schemas import ConnectionsOut, HealthOut
from web.tokens import current_actor

bp = APIBlueprint("health", __name__, tag="Operations")


@bp.get("/healthz")
@bp.output(HealthOut)
@bp.doc(summary="The process is up")
def healthz():
    return {"status": "ok", "checks": {}}


@bp.get("/readyz")
@bp.output(HealthOut)
@bp.doc(summary="The database (and Redis where configured) answer", responses={
    503: {"description": "A dependency does not answer; checks says which",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthOut"}}}}})
def readyz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't raise: readiness is an answer, not an error
        checks["database"] = f"error: {type(exc).__name__}"
    redis_url = current_app.config["SETTINGS"].redis_url
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503


@bp.get("/api/monitoring/connections")
@jwt_required()
@bp.output(ConnectionsOut)
@bp.doc(summary="Live socket counts (owner)", security="BearerAuth", responses=[401, 403])
def connections():
    actor = current_actor()
    business_id = require_staff(actor)
    require_owner_of(actor, business_id)
    store = presence.store()
    return {
        "total": store.count(),
        "business": store.count(business_id),
        "online_user_ids": store.online_user_ids(business_id),
    }
