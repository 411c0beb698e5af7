"""The FAQ-gap report: what customers ask that the FAQs do not answer, grouped by meaning.

A gap is a customer question of the period that got no FAQ answer (suggestions only, or
nothing), or whose answer the customer marked unhelpful, unless a picked suggestion for it
was marked helpful. Questions are grouped greedily by the similarity of their sentence
vectors (the encoder the matcher uses), most frequent group first, so a business sees which
FAQ to write next.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from actions.actors import Actor, require_staff
from actions.errors import NotFound
from infra import faq_index
from infra.blocking import run_blocking
from logic import faq_semantic
from models import Business, Message, Room, db
from models.base import as_utc, iso, utcnow

MAX_QUESTIONS = 2000  # the newest unanswered questions looked at
MAX_GAPS = 50
MAX_EXAMPLES = 5
SIMILARITY = 0.45  # cosine of sentence vectors at or above which two questions are one gap


@dataclass
class _Cluster:
    centre: np.ndarray
    members: list[int] = field(default_factory=list)  # row indices, newest first


def _unanswered(business_id: int, since: datetime) -> list[tuple[int, str, datetime]]:
    in_business = select(Room.id).where(Room.business_id == business_id,
                                        Room.type == "customer")
    questions = db.session.execute(
        select(Message.id, Message.content, Message.created_at, Message.outcome)
        .where(Message.room_id.in_(in_business), Message.sender_type == "customer",
               Message.created_at >= since,
               Message.outcome.in_(("suggested", "unanswered", "answered")))
        .order_by(Message.id.desc()).limit(MAX_QUESTIONS * 2)).all()
    if not questions:
        return []
    verdicts: dict[int, set[str]] = {}
    for reply_to, feedback in db.session.execute(
            select(Message.reply_to_id, Message.feedback)
            .where(Message.room_id.in_(in_business), Message.kind == "faq",
                   Message.created_at >= since, Message.reply_to_id.is_not(None))):
        verdicts.setdefault(reply_to, set()).add(feedback or "answered")
    gaps = []
    for q in questions:
        seen = verdicts.get(q.id, set())
        if "helpful" in seen:
            continue  # the customer found the answer
        if q.outcome == "answered" and "not_helpful" not in seen:
            continue  # answered, and not refuted
        gaps.append((q.id, q.content, as_utc(q.created_at)))
    return gaps[:MAX_QUESTIONS]


def _cluster(vectors: np.ndarray) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for i, vector in enumerate(vectors):
        if clusters:
            sims = np.stack([c.centre for c in clusters]) @ vector
            best = int(np.argmax(sims))
            if sims[best] >= SIMILARITY:
                cluster = clusters[best]
                cluster.members.append(i)
                centre = cluster.centre * (len(cluster.members) - 1) + vector
                cluster.centre = centre / (np.linalg.norm(centre) or 1.0)
                continue
        clusters.append(_Cluster(vector.copy(), [i]))
    return clusters


def gaps(actor: Actor, days: int, now: datetime | None = None) -> list[dict]:
    """The business's FAQ gaps of the last ``days`` days, most frequent first."""
    business_id = require_staff(actor)
    business = db.session.get(Business, business_id, populate_existing=True)
    if business is None:
        raise NotFound("Business not found.")
    now = now or utcnow()
    rows = _unanswered(business_id, now - timedelta(days=days))
    if not rows:
        return []
    texts = [text for _id, text, _at in rows]
    # Embedding and grouping are CPU work: off the web process's hub.
    vectors = run_blocking(faq_semantic.embed, texts)
    clusters = run_blocking(_cluster, vectors)
    clusters.sort(key=lambda c: (-len(c.members), c.members[0]))
    clusters = clusters[:MAX_GAPS]
    index, _answers = faq_index.index_for(business)
    result = []
    for cluster in clusters:
        # The member nearest the group's centre stands for it.
        members = cluster.members
        central = members[int(np.argmax(vectors[members] @ cluster.centre))]
        representative = texts[central]
        ranked = run_blocking(index.rank, representative, 1, vectors[central])
        examples: list[str] = []
        for i in members:
            if texts[i] not in examples:
                examples.append(texts[i])
            if len(examples) == MAX_EXAMPLES:
                break
        result.append({
            "representative": representative,
            "count": len(members),
            "examples": examples,
            "message_ids": [rows[i][0] for i in members[:MAX_EXAMPLES]],
            "nearest_faq_id": ranked[0].faq_id if ranked else None,
            "nearest_faq_question": ranked[0].question if ranked else None,
            "nearest_confidence": ranked[0].confidence if ranked else None,
            "last_seen_at": iso(max(rows[i][2] for i in members)),
        })
    return result
