"""FAQs of a business: managed by its staff, and scored against a text on request.

Every change bumps ``Business.faq_version`` in the same transaction, so each process's
cached index (infra/faq_index.py) is rebuilt the next time it is used.
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from actions.actors import Actor, require_staff
from actions.errors import Conflict, InvalidInput, NotFound
from infra import faq_index, tx
from infra.blocking import run_blocking
from logic.faq_matcher import Candidate, FaqIndex, answer, is_small_talk
from models import Business, Faq, db

MAX_QUESTION = 500
MAX_ANSWER = 4000
MAX_KEYWORDS = 50
MAX_KEYWORD = 60
MAX_ALTERNATIVES = 30
MAX_CATEGORY = 80
MAX_MATCH_TEXT = 4000
# The size the matcher is measured at (bench/faq_scoring.py, bench/faq_replay.py): a message
# scored in under 5 ms, a learned phrasing added to the index in about 15 ms of CPU, a full
# rebuild after an FAQ edit about 0.3 s.
MAX_FAQS_PER_BUSINESS = 1000
CANDIDATES = 5

FIELDS = ("question", "answer", "keywords", "alternative_questions", "category", "is_active")


def clean_text(value: object, field: str, max_chars: int, *, min_chars: int = 1) -> str:
    """The trimmed string, or InvalidInput naming the field and the rule it broke."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", details={"field": field})
    text = value.strip()
    if "\x00" in text:
        # PostgreSQL cannot store NUL in text columns; refuse it here instead of failing there.
        raise InvalidInput(f"{field} must not contain NUL characters.", details={"field": field})
    if len(text) < min_chars:
        raise InvalidInput(f"{field} must not be empty.", details={"field": field})
    if len(text) > max_chars:
        raise InvalidInput(f"{field} must be at most {max_chars} characters "
                           f"(got {len(text)}).", details={"field": field})
    return text


def _clean_list(value: object, field: str, max_items: int) -> list:
    if not isinstance(value, list):
        raise InvalidInput(f"{field} must be a list of strings.", details={"field": field})
    # Checked before looking at the items, so a huge list costs nothing to refuse.
    if len(value) > max_items:
        raise InvalidInput(f"{field} may hold at most {max_items} entries (got {len(value)}).",
                           details={"field": field})
    return value


def clean_keywords(value: object) -> list[str]:
    keywords: list[str] = []
    for i, item in enumerate(_clean_list(value, "keywords", MAX_KEYWORDS)):
        keyword = clean_text(item, f"keywords[{i}]", MAX_KEYWORD).lower()
        if keyword not in keywords:
            keywords.append(keyword)
    return keywords


def clean_alternatives(value: object) -> list[str]:
    return [clean_text(item, f"alternative_questions[{i}]", MAX_QUESTION)
            for i, item in enumerate(_clean_list(value, "alternative_questions",
                                                 MAX_ALTERNATIVES))]


def clean_category(value: object) -> str | None:
    if value is None:
        return None
    # An empty category means "no category", the way a cleared form field arrives.
    text = clean_text(value, "category", MAX_CATEGORY, min_chars=0)
    return text or None


def clean_fields(data: dict, *, partial: bool) -> dict:
    """Validated, normalised FAQ fields; with partial=False question and answer are required."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not partial:
        for field in ("question", "answer"):
            if field not in data:
                raise InvalidInput(f"{field} is required.", details={"field": field})
    out: dict = {}
    if "question" in data:
        out["question"] = clean_text(data["question"], "question", MAX_QUESTION)
    if "answer" in data:
        out["answer"] = clean_text(data["answer"], "answer", MAX_ANSWER)
    if "keywords" in data:
        out["keywords"] = clean_keywords(data["keywords"])
    if "alternative_questions" in data:
        out["alternative_questions"] = clean_alternatives(data["alternative_questions"])
    if "category" in data:
        out["category"] = clean_category(data["category"])
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise InvalidInput("is_active must be true or false.", details={"field": "is_active"})
        out["is_active"] = data["is_active"]
    return out


def bump_version(business_id: int) -> None:
    # One atomic UPDATE rather than read-modify-write: two concurrent edits must end on
    # two different versions, or a worker that cached the first could keep it forever.
    # On PostgreSQL the row lock it takes also serialises FAQ edits of one business.
    db.session.execute(
        update(Business).where(Business.id == business_id)
        .values(faq_version=Business.faq_version + 1)
        .execution_options(synchronize_session=False))


def _visible(actor: Actor, faq_id: int) -> Faq:
    business_id = require_staff(actor)
    faq = db.session.get(Faq, faq_id)
    # Another business's FAQ answers exactly like a missing one.
    if faq is None or faq.business_id != business_id:
        raise NotFound("FAQ not found.")
    return faq


def create(actor: Actor, data: dict, *, commit: bool = True) -> Faq:
    business_id = require_staff(actor)
    fields = clean_fields(data, partial=False)
    bump_version(business_id)
    count = db.session.scalar(select(func.count(Faq.id)).where(Faq.business_id == business_id))
    if count >= MAX_FAQS_PER_BUSINESS:
        raise Conflict(f"A business can have at most {MAX_FAQS_PER_BUSINESS} FAQs; "
                       "delete or merge some first.", code="too_many_faqs")
    faq = Faq(business_id=business_id, keywords=[], alternative_questions=[], category=None,
              is_active=True)
    for key, value in fields.items():
        setattr(faq, key, value)
    db.session.add(faq)
    if commit:
        tx.commit()
    else:
        db.session.flush()
    return faq


def list_faqs(actor: Actor, active: bool | None = None) -> list[Faq]:
    business_id = require_staff(actor)
    query = select(Faq).where(Faq.business_id == business_id)
    if active is not None:
        query = query.where(Faq.is_active.is_(active))
    return list(db.session.scalars(query.order_by(Faq.id)))


def get(actor: Actor, faq_id: int) -> Faq:
    return _visible(actor, faq_id)


def update_faq(actor: Actor, faq_id: int, data: dict) -> Faq:
    faq = _visible(actor, faq_id)
    fields = clean_fields(data, partial=True)
    changed = {k: v for k, v in fields.items() if getattr(faq, k) != v}
    if not changed:
        return faq  # nothing changed: no new version, no index rebuild anywhere
    bump_version(faq.business_id)
    for key, value in changed.items():
        setattr(faq, key, value)
    tx.commit()
    return faq


def delete(actor: Actor, faq_id: int) -> None:
    faq = _visible(actor, faq_id)
    bump_version(faq.business_id)
    db.session.delete(faq)
    tx.commit()


def _score(index: FaqIndex, text: str,
           threshold: float) -> tuple[Candidate | None, list[Candidate], bool]:
    candidates = index.rank(text, limit=CANDIDATES)
    # What the automation decides (small talk is never answered), so the preview is exactly
    # what the bot would post; the message is scored once.
    small_talk = is_small_talk(text)
    best = None if small_talk else answer(candidates, threshold)
    return best, candidates, small_talk


def match(actor: Actor, text: object) -> dict:
    """Score a text against the caller's active FAQs, as the FAQ bot would."""
    business_id = require_staff(actor)
    text = clean_text(text, "text", MAX_MATCH_TEXT)
    # populate_existing: a version bumped by another process since this session loaded the
    # business must be seen, or a stale index would be served.
    business = db.session.get(Business, business_id, populate_existing=True)
    if business is None:
        raise NotFound("Business not found.")
    index, answers = faq_index.index_for(business)
    # Scoring is CPU work: off the eventlet hub so other sockets keep being served.
    best, candidates, small_talk = run_blocking(_score, index, text, business.faq_threshold)
    return {
        "match": None if best is None or best.faq_id not in answers else {
            "faq_id": best.faq_id,
            "question": best.question,
            "answer": answers[best.faq_id],
            "confidence": best.confidence,
        },
        "candidates": [{"faq_id": c.faq_id, "question": c.question,
                        "confidence": c.confidence} for c in candidates],
        "threshold": business.faq_threshold,
        "small_talk": small_talk,
    }
