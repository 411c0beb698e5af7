"""Per-process cache of each business's FAQ index, kept current as its FAQs change.

When the only changes since the cached version are phrasings appended to FAQs (a proposal
accepted, a question filed under an FAQ) and new FAQs (created with the highest ids), the
cached index grows by them instead of being rebuilt: milliseconds for a 1,000-FAQ business
where a build takes a large part of a second. Any other change (an FAQ edited, deleted or
switched off) builds the index afresh, and so does growing past GROWTH_LIMIT texts, which
refits the vocabulary's weights.
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
    change = growth(cached.docs, docs) if cached is not None else None
    grown = 0
    if change is not None:
        phrasings, new_faqs = change
        grown = cached.grown + sum(map(len, phrasings.values())) + sum(
            1 + len(faq.alternative_questions) for faq in new_faqs)
    # Building is CPU work (tens of ms to seconds); keep it off the web process's hub.
    if change is not None and grown <= GROWTH_LIMIT:
        index = run_blocking(_grow, cached.index, *change)
    else:
        index, grown = run_blocking(FaqIndex.build, docs), 0
    with _lock:
        _cache[business.id] = _Entry(business.faq_version, index, answers, docs, grown)
    return index, answers


def _grow(index: FaqIndex, phrasings: dict[int, tuple[str, ...]],
          new_faqs: tuple[FaqDoc, ...]) -> FaqIndex:
    return index.with_phrasings(phrasings).with_faqs(new_faqs)


def growth(old: tuple[FaqDoc, ...], new: tuple[FaqDoc, ...]
           ) -> tuple[dict[int, tuple[str, ...]], tuple[FaqDoc, ...]] | None:
    """(FAQ id -> alternative questions appended, FAQs added after the others) if that is
    all that changed from ``old`` to ``new`` (both in id order); else None."""
    if len(new) < len(old) or (old and new[len(old) - 1].id != old[-1].id):
        return None
    added: dict[int, tuple[str, ...]] = {}
    for before, after in zip(old, new, strict=False):
        if before == after:
            continue
        n = len(before.alternative_questions)
        if (before.id, before.question, before.keywords, before.answer) != (
                after.id, after.question, after.keywords, after.answer) \
                or after.alternative_questions[:n] != before.alternative_questions:
            return None
        added[after.id] = after.alternative_questions[n:]
    return added, new[len(old):]


def clear() -> None:
    with _lock:
        _cache.clear()
