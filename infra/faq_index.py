"""Per-process cache of each business's FAQ index, kept current as its FAQs change.

When the only change since the cached version is phrasings appended to FAQs (a proposal
accepted, a question filed under an FAQ), the cached index grows by them instead of being
rebuilt: milliseconds for a 1,000-FAQ business where a build takes a large part of a second.
Any other change (an FAQ added, edited, deleted or switched off) builds the index afresh, and
so does every GROWTH_LIMIT-th learned phrasing, which refits the vocabulary's weights.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select

from infra.blocking import run_blocking
from logic.faq_matcher import FaqDoc, FaqIndex
from models import Business, Faq, db

GROWTH_LIMIT = 100  # phrasings added to a cached index before it is built afresh


@dataclass(frozen=True)
class _Entry:
    version: int
    index: FaqIndex
    answers: dict[int, str]
    docs: tuple[FaqDoc, ...]
    grown: int = 0  # phrasings added since the index was built


_lock = threading.Lock()
_cache: dict[int, _Entry] = {}


def index_for(business: Business) -> tuple[FaqIndex, dict[int, str]]:
    """The business's index and answers by FAQ id, current for its faq_version."""
    cached = _cache.get(business.id)
    if cached is not None and cached.version == business.faq_version:
        return cached.index, cached.answers
    rows = db.session.execute(
        select(Faq.id, Faq.question, Faq.alternative_questions, Faq.keywords, Faq.answer)
        .where(Faq.business_id == business.id, Faq.is_active.is_(True))
        .order_by(Faq.id)).all()
    docs = tuple(FaqDoc(id=r.id, question=r.question,
                        alternative_questions=tuple(r.alternative_questions or ()),
                        keywords=tuple(r.keywords or ()), answer=r.answer or "")
                 for r in rows)
    answers = {r.id: r.answer for r in rows}
    added = appended_phrasings(cached.docs, docs) if cached is not None else None
    grown = (cached.grown if cached is not None else 0) + sum(map(len, (added or {}).values()))
    # Building is CPU work (tens of ms to seconds); keep it off the web process's hub.
    if added is not None and grown <= GROWTH_LIMIT:
        index = run_blocking(cached.index.with_phrasings, added)
    else:
        index, grown = run_blocking(FaqIndex.build, docs), 0
    with _lock:
        _cache[business.id] = _Entry(business.faq_version, index, answers, docs, grown)
    return index, answers


def appended_phrasings(old: tuple[FaqDoc, ...], new: tuple[FaqDoc, ...]
                       ) -> dict[int, tuple[str, ...]] | None:
    """FAQ id -> alternative questions appended, if that is all that changed; else None."""
    if len(old) != len(new):
        return None
    added: dict[int, tuple[str, ...]] = {}
    for before, after in zip(old, new, strict=True):
        if before == after:
            continue
        n = len(before.alternative_questions)
        if (before.id, before.question, before.keywords, before.answer) != (
                after.id, after.question, after.keywords, after.answer) \
                or after.alternative_questions[:n] != before.alternative_questions \
                or len(after.alternative_questions) == n:
            return None
        added[after.id] = after.alternative_questions[n:]
    return added


def clear() -> None:
    with _lock:
        _cache.clear()
