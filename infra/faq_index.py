"""Per-process cache of each business's FAQ index, rebuilt when its FAQs change."""
from __future__ import annotations

import threading

from sqlalchemy import select

from infra.blocking import run_blocking
from logic.faq_matcher import FaqDoc, FaqIndex
from models import Business, Faq, db

_lock = threading.Lock()
_cache: dict[int, tuple[int, FaqIndex, dict[int, str]]] = {}


def index_for(business: Business) -> tuple[FaqIndex, dict[int, str]]:
    """The business's index and answers by FAQ id; built once per faq_version."""
    cached = _cache.get(business.id)
    if cached is not None and cached[0] == business.faq_version:
        return cached[1], cached[2]
    faqs = list(db.session.scalars(
        select(Faq).where(Faq.business_id == business.id, Faq.is_active.is_(True))
        .order_by(Faq.id)))
    docs = [
        FaqDoc(id=f.id, question=f.question,
               alternative_questions=tuple(f.alternative_questions or ()),
               keywords=tuple(f.keywords or ()), answer=f.answer or "")
        for f in faqs
    ]
    # Building is CPU work (tens of ms to seconds); keep it off the web process's hub.
    index = run_blocking(FaqIndex.build, docs)
    answers = {f.id: f.answer for f in faqs}
    with _lock:
        _cache[business.id] = (business.faq_version, index, answers)
    return index, answers


def clear() -> None:
    with _lock:
        _cache.clear()
