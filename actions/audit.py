"""Recording events of the host platform in the audit log, and reading it back.

Two ways in: :func:`record_event` for code that runs beside the app (bookings,
payments, the chat automation) and :func:`record_for` behind ``POST /api/events`` (the
caller's business, staff only); :func:`list_for` reads back for ``GET /api/audit-logs``.
Each new entry is converted into a notification by the worker task
``workers.activity_tasks.process_audit_log``; the entry keeps a ``processing_state`` so
the beat sweep finds what an enqueue or a worker lost (``infra.pending_work``, with this
module's ``WORK``).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from actions.actors import Actor, require_staff
from actions.errors import Conflict, InvalidInput, TooLarge
from actions.notification_rules import check_type
from infra import jobs, tx
from infra.pagination import clamp_limit, newest_first
from infra.pending_work import PendingWork
from models import AuditLog, db
from models.base import utcnow
from workers import task_names

log = logging.getLogger("activity")

# An entry's conversion as pending work: attempts, retries and the sweep.
WORK = PendingWork(
    "notifications", AuditLog, state="processing_state", attempts="attempts",
    next_attempt_at="next_attempt_at", task=task_names.PROCESS_AUDIT_LOG,
    details=("business_id", "type", "created_at"))
MAX_DATA_BYTES = 16 * 1024
MAX_KEY_CHARS = 128


@dataclass(frozen=True)
class Recorded:
    id: int
    created: bool


def _check_data(data: object) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("data must be a JSON object.", code="invalid_data")
    try:
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("data must hold JSON values only.", code="invalid_data") from exc
    if len(encoded.encode("utf-8")) > MAX_DATA_BYTES:
        raise TooLarge(f"data is larger than {MAX_DATA_BYTES // 1024} KB.")
    # Stored as the JSON round trip so a Python caller's tuples or str keys
    # read back exactly as an HTTP caller's would.
    return json.loads(encoded)


def _check_key(key: object) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
        raise InvalidInput(
            f"idempotency_key must be a string of 1 to {MAX_KEY_CHARS} characters.",
            code="invalid_idempotency_key",
        )
    return key


def _by_key(business_id: int, key: str) -> int | None:
    return db.session.scalar(
        select(AuditLog.id).where(
            AuditLog.business_id == business_id, AuditLog.idempotency_key == key
        )
    )


def _insert_once(values: dict) -> int | None:
    """Insert unless the business already used the key; the new id, or None if it had.

    ON CONFLICT DO NOTHING settles a race on the key inside the database (the
    loser waits for the winner's commit, then inserts nothing) without aborting
    the caller's transaction, and costs one statement instead of a
    look-up plus a savepoint.
    """
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    if insert is None:  # another database: the portable savepoint way
        entry = AuditLog(**values)
        try:
            with db.session.begin_nested():
                db.session.add(entry)
        except IntegrityError:
            return None
        return entry.id
    statement = (
        insert(AuditLog)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["business_id", "idempotency_key"])
        .returning(AuditLog.id)
    )
    return db.session.scalar(statement)


def _record(
    business_id: int,
    type_: str,
    data: object = None,
    actor_id: int | None = None,
    idempotency_key: object = None,
    *,
    commit: bool = True,
) -> Recorded:
    """Store one audit entry and enqueue its conversion; see :func:`record_event`."""
    check_type(type_)
    clean = _check_data(data)
    key = _check_key(idempotency_key)
    values = {
        "business_id": business_id, "type": type_, "actor_id": actor_id, "data": clean,
        "idempotency_key": key, "processing_state": "pending", "attempts": 0,
        "created_at": utcnow(),
    }
    if key is None:
        entry = AuditLog(**values)
        db.session.add(entry)
        db.session.flush()
        entry_id = entry.id
    else:
        inserted = _insert_once(values)
        if inserted is None:
            existing = _by_key(business_id, key)
            if existing is None:  # the holder was deleted in between: rare, so the caller retries
                raise Conflict("The idempotency key is in use; retry.",
                               code="idempotency_conflict")
            if commit:
                tx.commit()
            return Recorded(existing, False)
        entry_id = inserted
    fields = {"audit_log_id": entry_id, "business_id": business_id, "event_type": type_,
              "actor_id": actor_id, "with_key": key is not None}
    # Logged once durable (the caller's commit when commit=False), before the
    # conversion runs, so the log reads in the order things happened.
    tx.after_commit(lambda: log.info("audit entry recorded", extra=fields))
    jobs.enqueue(WORK.task, entry_id)
    if commit:
        tx.commit()
    return Recorded(entry_id, True)


def record_event(
    business_id: int,
    type: str,
    data: dict | None = None,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
    *,
    commit: bool = True,
) -> int:
    """Record an event of the host platform; returns the audit log entry's id.

    ``type`` is dotted lowercase (``booking.created``), ``data`` a JSON object
    of at most 16 KB. With an ``idempotency_key`` a repeat records nothing and
    returns the first entry's id, also when two calls race. Raises
    InvalidInput or TooLarge before anything is written.

    With ``commit=False`` the entry joins the caller's transaction and the
    conversion task is enqueued by the caller's ``tx.commit()``. That is how
    the chat automation reports an escalation: it records ``chat.escalated``
    (``data`` with ``room_id``, ``message_id``, ``customer_name``, ``question``;
    key ``chat.escalated:<message_id>`` of the question, or
    ``chat.escalated:feedback:<answer_id>`` when the customer marks an FAQ
    answer unhelpful) in the transaction that sets the room
    ``waiting_for_staff``, so the audit log, the activity summary and the
    business's notification rules all see it, and a retried automation task
    cannot notify twice.
    """
    return _record(business_id, type, data, actor_id, idempotency_key, commit=commit).id


def record_for(actor: Actor, type_: object, data: object,
               idempotency_key: object = None) -> Recorded:
    """``POST /api/events``: the business is the caller's; staff and owners only."""
    business_id = require_staff(actor)
    if not isinstance(type_, str):
        raise InvalidInput("type must be a string.", code="invalid_type")
    return _record(business_id, type_, data, actor.id, idempotency_key)


def _type_filter(type_filter: str):
    # "booking.*" selects a family of types; anything else is an exact type.
    if type_filter.endswith(".*"):
        prefix = type_filter[:-1]
        check_type(prefix + "x")
        return AuditLog.type.startswith(prefix, autoescape=True)
    check_type(type_filter)
    return AuditLog.type == type_filter


def list_for(actor: Actor, type_filter: str | None = None, limit: int | None = None,
             before_id: int | None = None) -> tuple[list[AuditLog], int | None]:
    """The business's entries, newest first; returns (entries, next_before_id)."""
    business_id = require_staff(actor)
    limit = clamp_limit(limit)
    query = select(AuditLog).where(AuditLog.business_id == business_id)
    if type_filter:
        query = query.where(_type_filter(type_filter))
    return newest_first(query, AuditLog.id, before_id, limit,
                        lambda q: db.session.scalars(q).all(), lambda row: row.id)
