"""Group commit for the send hot path, applying the rules of ``actions.message_rules``.

Text messages that arrive together are stored in one transaction: each takes its
room's next seq and is inserted by statements on the raw database connection (on
PostgreSQL the whole batch is one statement, so one round trip however many sends;
on SQLite two statements per send), and one commit makes them all durable. A writer
thread (a green thread under eventlet) takes whatever sends are queued, writes them as a batch
and wakes each sender with its outcome; while it writes, the next batch gathers.
Under light load a batch is one message; under heavy load the cost of a
transaction is shared by many. Sends into a room keep their arrival order, and
seqs are gap-free across processes (the room's row is locked until commit).

A send that the batch could not claim a seq for (room missing, not visible,
closed, or a repeated client_msg_id) comes back as ``None`` for the caller to
explain off the hot path. If the batch fails as a whole (a constraint race with
another process, a lost connection) it is rolled back and every send in it is
written again on its own, so one bad send never costs the others.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from actions import message_rules as rules
from infra import batching
from models.base import TZDateTime

log = logging.getLogger(__name__)

MAX_BATCH = 256

# SQLite, send by send: visibility, the closed check, the client_msg_id repeat check and the
# seq increment are one statement, so a send makes no separate look-ups. The rules are
# actions.message_rules'; BATCH_SQL below applies the same ones to a whole batch.
CLAIM_SQL = f"""
UPDATE rooms SET last_seq = last_seq + 1, last_activity_at = :now
WHERE id = :room_id AND {rules.writable_sql("rooms")}
  AND {rules.visible_sql("rooms", ":is_staff", ":actor_id", ":business_id")}
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = :actor_id
                  AND m.client_msg_id = :client_msg_id)
RETURNING last_seq, type, status
"""
INSERT_SQL = (
    "INSERT INTO messages (room_id, seq, sender_id, sender_type, kind, content, client_msg_id,"
    " automation_state, automation_attempts, created_at) VALUES (:room_id, :seq, :actor_id,"
    " :sender_type, 'text', :content, :client_msg_id, :automation_state, 0, :now)"
    " RETURNING id"
)
# PostgreSQL: a whole batch in one statement (one round trip however many sends). The rooms
# are locked in id order first; each send is then judged as CLAIM_SQL judges it (room
# writable and visible to the sender, client_msg_id not stored yet nor taken by an earlier
# send of the batch); each room's seq moves once by the number it accepted, and the sends
# take the seqs in arrival order. A staff reply to a waiting customer reopens the room in
# the same update (a row can be updated only once per statement). Returns one row per
# stored send.
BATCH_SQL = f"""
WITH input AS (
  SELECT * FROM unnest(:ord::int[], :room_id::bigint[], :actor_id::bigint[], :is_staff::bool[],
                       :business_id::bigint[], :content::text[], :client_msg_id::text[],
                       :now::timestamptz[])
    AS t(ord, room_id, actor_id, is_staff, business_id, content, client_msg_id, now)
), locked AS (
  SELECT id, type, status, business_id, customer_id FROM rooms
  WHERE id IN (SELECT room_id FROM input) ORDER BY id FOR UPDATE
), allowed AS (
  SELECT i.*, l.type AS room_type, l.status AS room_status,
         row_number() OVER (PARTITION BY i.actor_id, i.client_msg_id
                            ORDER BY i.room_id, i.ord) AS id_rank
  FROM input i JOIN locked l ON l.id = i.room_id
  WHERE {rules.writable_sql("l")}
    AND {rules.visible_sql("l", "i.is_staff", "i.actor_id", "i.business_id")}
    AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = i.actor_id
                    AND m.client_msg_id = i.client_msg_id)
), accepted AS (
  SELECT *, row_number() OVER (PARTITION BY room_id ORDER BY ord) AS k,
         row_number() OVER (PARTITION BY room_id, is_staff ORDER BY ord) AS k_as_sender_type
  FROM allowed WHERE client_msg_id IS NULL OR id_rank = 1
), per_room AS (
  SELECT room_id, count(*) AS n, bool_or(is_staff) AS has_staff,
         (array_agg(now ORDER BY ord DESC))[1] AS last_now
  FROM accepted GROUP BY room_id
), bumped AS (
  UPDATE rooms SET last_seq = rooms.last_seq + c.n, last_activity_at = c.last_now,
    {rules.reopen_assignments("rooms", rules.reopens_sql("c.has_staff", "rooms.type",
                                                         "rooms.status"))}
  FROM per_room c WHERE rooms.id = c.room_id
  RETURNING rooms.id, rooms.last_seq - c.n AS base
), inserted AS (
  INSERT INTO messages (room_id, seq, sender_id, sender_type, kind, content, client_msg_id,
                        automation_state, automation_attempts, created_at)
  SELECT a.room_id, b.base + a.k, a.actor_id,
         CASE WHEN a.is_staff THEN 'staff' ELSE 'customer' END, 'text', a.content,
         a.client_msg_id, {rules.automation_state_sql("a.room_type", "a.is_staff")}, 0, a.now
  FROM accepted a JOIN bumped b ON b.id = a.room_id
  ORDER BY a.room_id, a.k
  RETURNING id, room_id, seq
)
SELECT a.ord, ins.id, ins.seq, a.room_type,
       {rules.reopens_sql("a.is_staff AND a.k_as_sender_type = 1", "a.room_type",
                          "a.room_status")}
FROM accepted a JOIN bumped b ON b.id = a.room_id
JOIN inserted ins ON ins.room_id = a.room_id AND ins.seq = b.base + a.k
"""


@dataclass(slots=True)
class PendingSend:
    """One text message waiting for the writer."""

    actor_id: int
    is_staff: bool
    business_id: int | None
    room_id: int
    content: str
    client_msg_id: str | None
    created_at: datetime
    outcome: StoredSend | None | BatchFailed = field(default=None, init=False)
    # Held until the writer has the outcome: a lock is the lightest thing to wait on,
    # for a green thread and a plain one alike.
    _pending: Any = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._pending.acquire()

    def finish(self) -> None:
        self._pending.release()

    def wait(self) -> None:
        self._pending.acquire()

    @property
    def sender_type(self) -> str:
        return "staff" if self.is_staff else "customer"


@dataclass(frozen=True, slots=True)
class StoredSend:
    id: int
    seq: int
    room_type: str
    reopened: bool


@dataclass(frozen=True, slots=True)
class BatchFailed:
    """The batch this send was in rolled back; the caller writes it on its own."""

    error: Exception


class MessageWriter:
    """Writes text messages for one engine in group-committed batches."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pid = os.getpid()
        self._connection: Connection | None = None  # the writer thread's, kept across batches
        self._batcher: batching.Batcher[PendingSend] = batching.Batcher(
            "message-writer", self._write_batch, max_batch=MAX_BATCH)
        dialect = engine.dialect
        # SQLite has no UPDATE inside WITH: claim, then insert, send by send (sqlite3 takes
        # :name). PostgreSQL stores the batch in one statement (psycopg2 takes %(name)s; the
        # statement has no literal % that would need doubling).
        sqlite = dialect.name == "sqlite"
        self._batch = None if sqlite else re.sub(r"(?<!:):(\w+)", r"%(\1)s", BATCH_SQL)
        self._bind_time = TZDateTime.dialect_impl(dialect).bind_processor(dialect)

    @property
    def pid(self) -> int:
        return self._pid

    def submit(self, item: PendingSend) -> StoredSend | None | BatchFailed:
        """Queue the message for the next batch and wait for its outcome."""
        self._batcher.submit(item)
        # No timeout: the writer finishes every item it takes, even when its batch fails.
        item.wait()
        return item.outcome

    def write_alone(self, item: PendingSend) -> StoredSend | None:
        """Store one message in its own transaction; errors propagate to the caller."""
        return self.store_batch([item])[0]

    def _write_batch(self, batch: list[PendingSend]) -> None:
        try:
            self._connection = self._write(self._connection, batch)
        finally:
            for item in batch:
                item.finish()

    def _write(self, connection: Connection | None, batch: list[PendingSend]) -> Connection | None:
        """Store the batch, setting each item's outcome; returns the connection to keep."""
        try:
            if connection is None or connection.closed or connection.invalidated:
                connection = self._engine.connect()
            outcomes = self._store_all(connection, batch)
        except Exception as exc:  # the batch rolled back; each send gets written alone
            log.warning("batch of %d sends rolled back: %s", len(batch), exc)
            if connection is not None:
                connection.close()  # a broken connection is not reused
            for item in batch:
                item.outcome = BatchFailed(exc)
            return None
        for item, outcome in zip(batch, outcomes, strict=True):
            item.outcome = outcome
        return connection

    def store_batch(self, batch: list[PendingSend]) -> list[StoredSend | None]:
        """Store the batch in one transaction on a connection of its own; an outcome per
        item, None where no seq was claimed. Raises (after rolling back) if it fails."""
        with self._engine.connect() as conn:
            return self._store_all(conn, batch)

    def store_in(self, conn: Connection, batch: list[PendingSend]) -> list[StoredSend | None]:
        """Store the batch in the transaction ``conn`` has open, as :meth:`store_batch`
        does; the caller commits (a message with attachments links them first). A uniqueness
        race raises ``IntegrityError``; the caller rolls back."""
        return self._store_on(conn, batch)

    def _store_all(self, conn: Connection, batch: list[PendingSend]) -> list[StoredSend | None]:
        with conn.begin():
            return self._store_on(conn, batch)

    def _store_on(self, conn: Connection, batch: list[PendingSend]) -> list[StoredSend | None]:
        cursor = conn.connection.driver_connection.cursor()
        try:
            if self._batch is not None:
                return self._store_in_one_statement(cursor, batch)
            return self._store_send_by_send(cursor, batch)
        except self._engine.dialect.loaded_dbapi.IntegrityError as exc:
            # The driver's own error, raised as SQLAlchemy's for callers to catch one type.
            raise IntegrityError(None, None, exc) from exc
        finally:
            cursor.close()

    def _store_send_by_send(self, cursor: Any, batch: list[PendingSend]
                            ) -> list[StoredSend | None]:
        # Rooms are locked in id order, so two processes' batches never wait on each other
        # in a cycle; the sort is stable, so sends into one room keep their arrival order.
        outcomes: list[StoredSend | None] = [None] * len(batch)
        for index in sorted(range(len(batch)), key=lambda i: batch[i].room_id):
            outcomes[index] = self._store(cursor, batch[index])
        return outcomes

    def _store_in_one_statement(self, cursor: Any, batch: list[PendingSend]
                                ) -> list[StoredSend | None]:
        cursor.execute(self._batch, {
            "ord": list(range(len(batch))),
            "room_id": [item.room_id for item in batch],
            "actor_id": [item.actor_id for item in batch],
            "is_staff": [item.is_staff for item in batch],
            "business_id": [item.business_id if item.is_staff else None for item in batch],
            "content": [item.content for item in batch],
            "client_msg_id": [item.client_msg_id for item in batch],
            "now": [self._created_at(item) for item in batch],
        })
        outcomes: list[StoredSend | None] = [None] * len(batch)
        for index, message_id, seq, room_type, reopened in cursor.fetchall():
            outcomes[index] = StoredSend(id=message_id, seq=seq, room_type=room_type,
                                         reopened=bool(reopened))
        return outcomes

    def _created_at(self, item: PendingSend) -> object:
        """The send's time as the driver takes it (SQLite stores text)."""
        return item.created_at if self._bind_time is None else self._bind_time(item.created_at)

    def _store(self, cursor: Any, item: PendingSend) -> StoredSend | None:
        params = {"now": self._created_at(item), "room_id": item.room_id, "actor_id": item.actor_id,
                  "is_staff": item.is_staff, "business_id": item.business_id,
                  "client_msg_id": item.client_msg_id, "sender_type": item.sender_type,
                  "content": item.content}
        cursor.execute(CLAIM_SQL, params)
        claimed = cursor.fetchone()
        if claimed is None:
            return None
        seq, room_type, status = claimed
        params.update(seq=seq, automation_state=str(rules.automation_state(
            room_type, item.sender_type)))
        cursor.execute(INSERT_SQL, params)
        message_id = cursor.fetchone()[0]
        reopened = False
        if rules.reopens(room_type, status, item.is_staff):
            cursor.execute(rules.REOPEN_SQL, {"room_id": item.room_id})
            reopened = cursor.rowcount == 1
        return StoredSend(id=message_id, seq=seq, room_type=room_type, reopened=reopened)


_writers: dict[Engine, MessageWriter] = {}


def for_engine(engine: Engine) -> MessageWriter:
    writer = _writers.get(engine)
    # A forked child has no writer thread of its own: it gets a new writer.
    if writer is None or writer.pid != os.getpid():
        writer = _writers[engine] = MessageWriter(engine)
    return writer
