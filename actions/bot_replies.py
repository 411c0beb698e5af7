"""Bot messages (welcome, offline, FAQ answer, escalation note) of one automation batch.

Each reply carries a dedup key unique in its room ("welcome", "faq:<message id>", ...), so
a re-run batch posts nothing twice. The batch holds locked the rooms it posts in, so the
seqs are taken from the rooms' rows in memory and every reply of the batch is inserted by one
statement; the rooms' new ``last_seq`` is written by the same commit.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select

from actions import events, message_rules
from models import Message, Room, db
from models.chat import add_faq_fields, message_dict

log = logging.getLogger("chat")


class BotReplies:
    def __init__(self, rooms: Iterable[Room], now: datetime) -> None:
        self._rooms = {room.id: room for room in rooms}
        self._now = now
        self._taken: set[tuple[int, str]] = set()
        self._rows: list[dict] = []
        self._suggestions: list[tuple[int, int, list[dict]]] = []

    def load_existing(self, keys: Iterable[str]) -> None:
        """Remember which of these keys the batch's rooms already have."""
        keys = sorted(set(keys))
        if not keys or not self._rooms:
            return
        self._taken.update(db.session.execute(
            select(Message.room_id, Message.dedup_key)
            .where(Message.room_id.in_(sorted(self._rooms)), Message.dedup_key.in_(keys))
        ).tuples())

    def has(self, room_id: int, dedup_key: str) -> bool:
        """Whether the room has (or this batch queued) a reply with this key."""
        return (room_id, dedup_key) in self._taken

    def post(self, room: Room, kind: str, content: str, dedup_key: str,
             faq_id: int | None = None, confidence: float | None = None,
             reply_to_id: int | None = None) -> bool:
        """Queue a reply; False if the room already has one with this key."""
        if (room.id, dedup_key) in self._taken:
            return False
        self._taken.add((room.id, dedup_key))
        room.last_seq += 1
        room.last_activity_at = self._now
        self._rows.append({
            "room_id": room.id, "seq": room.last_seq, "sender_id": None,
            "sender_type": "bot", "kind": kind, "content": content, "dedup_key": dedup_key,
            "faq_id": faq_id, "confidence": confidence, "reply_to_id": reply_to_id,
            "automation_state": str(message_rules.automation_state(room.type, "bot")),
            "automation_attempts": 0, "created_at": self._now,
        })
        return True

    def suggest(self, room_id: int, message_id: int, suggestions: list[dict]) -> None:
        """Queue chat:faq-suggestions for a customer's message, emitted after the replies."""
        self._suggestions.append((room_id, message_id, suggestions))

    def flush(self) -> list[dict]:
        """Insert the queued replies (one statement), emit them after the commit; returns
        them as clients see them."""
        posted: list[dict] = []
        if self._rows:
            posted = self._insert()
        for room_id, message_id, suggestions in self._suggestions:
            events.faq_suggestions(room_id, message_id, suggestions)
        self._suggestions.clear()
        return posted

    def _insert(self) -> list[dict]:
        posted: list[dict] = []
        ids = db.session.scalars(
            insert(Message).returning(Message.id, sort_by_parameter_order=True), self._rows
        ).all()
        for row, message_id in zip(self._rows, ids, strict=True):
            data = message_dict(message_id, row["room_id"], row["seq"], None, "bot",
                                row["content"], None, self._now, row["kind"])
            if row["kind"] == "faq":
                add_faq_fields(data, row["faq_id"], row["confidence"], row["reply_to_id"],
                               row["dedup_key"], None)
            events.bot_message(data)
            posted.append(data)
            log.info("bot message id=%s room=%s kind=%s", message_id, row["room_id"],
                     row["kind"], extra={"event": "message.bot", "message_id": message_id,
                                         "room_id": row["room_id"], "seq": row["seq"],
                                         "kind": row["kind"]})
        self._rows.clear()
        return posted
