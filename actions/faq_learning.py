"""FAQs that grow from real questions, always with a person deciding.

Customers' questions come in as proposals (an answer they marked helpful, see
actions/faq_feedback.py) that staff accept or reject, or staff file a question they
answered themselves: as another phrasing of an existing FAQ, or as a new FAQ with their
reply as its answer. Every change to an FAQ bumps the business's ``faq_version`` (through
actions/faqs.py), so each process rebuilds its index on its next use, without a restart.
"""
from __future__ import annotations

from sqlalchemy import select

from actions import faqs
from actions.actors import Actor, require_staff
from actions.errors import Conflict, NotFound, Unprocessable
from infra import tx
from models import Faq, FaqProposal, Message, Room, db
from models.base import utcnow

MAX_PROPOSALS = 200


def list_proposals(actor: Actor) -> list[dict]:
    """The business's pending proposals, oldest first (the order they came in)."""
    business_id = require_staff(actor)
    rows = db.session.scalars(
        select(FaqProposal).where(FaqProposal.business_id == business_id,
                                  FaqProposal.status == "pending")
        .order_by(FaqProposal.id).limit(MAX_PROPOSALS))
    return [proposal.to_dict() for proposal in rows]


def _pending(actor: Actor, proposal_id: int) -> FaqProposal:
    business_id = require_staff(actor)
    proposal = db.session.scalars(
        select(FaqProposal).where(FaqProposal.id == proposal_id).with_for_update()
        .execution_options(populate_existing=True)).one_or_none()
    # Another business's proposal answers like a missing one; so does one whose FAQ was
    # deleted meanwhile (the FAQ's deletion took its proposals with it).
    if proposal is None or proposal.business_id != business_id:
        raise NotFound("Proposal not found.")
    if proposal.status != "pending":
        raise Conflict(f"The proposal was already {proposal.status}.", code="already_decided")
    return proposal


def _decide(proposal: FaqProposal, actor: Actor, status: str) -> None:
    proposal.status = status
    proposal.decided_by = actor.id
    proposal.decided_at = utcnow()


def _add_phrasing(faq: Faq, text: str) -> bool:
    """Add ``text`` to the FAQ's alternative questions; False if it already has it.
    The caller has bumped the business's faq_version."""
    known = {q.strip().casefold() for q in (faq.question, *(faq.alternative_questions or []))}
    if text.strip().casefold() in known:
        return False
    alternatives = list(faq.alternative_questions or [])
    if len(alternatives) >= faqs.MAX_ALTERNATIVES:
        raise Conflict(f"The FAQ already has {faqs.MAX_ALTERNATIVES} alternative questions; "
                       "remove one first.", code="too_many_alternatives")
    faq.alternative_questions = [*alternatives, text.strip()]
    return True


def accept(actor: Actor, proposal_id: int) -> Faq:
    """The proposed question becomes one of its FAQ's alternative questions."""
    proposal = _pending(actor, proposal_id)
    # The business row first, then the FAQ's, in the order FAQ edits take them.
    faqs.bump_version(proposal.business_id)
    faq = db.session.get(Faq, proposal.faq_id, with_for_update=True)
    if faq is None:  # deleted between the two reads: the proposal goes with it
        db.session.delete(proposal)
        tx.commit()
        raise NotFound("The proposal's FAQ was deleted.", code="faq_not_found")
    _add_phrasing(faq, proposal.question)
    _decide(proposal, actor, "accepted")
    tx.commit()
    return faq


def reject(actor: Actor, proposal_id: int) -> None:
    _decide(_pending(actor, proposal_id), actor, "rejected")
    tx.commit()


def _customer_question(business_id: int, message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    room = db.session.get(Room, message.room_id) if message is not None else None
    if room is None or room.business_id != business_id or room.type != "customer":
        raise NotFound("Message not found.")
    if message.sender_type != "customer":
        raise Unprocessable("Only a customer's message can become an FAQ question.",
                            code="not_a_customer_message")
    return message


def from_message(actor: Actor, message_id: int, faq_id: int | None = None,
                 answer: str | None = None) -> tuple[Faq, bool]:
    """File a customer's question: as a phrasing of FAQ ``faq_id``, or as a new FAQ answered
    by ``answer``. Returns the FAQ and whether it was created."""
    business_id = require_staff(actor)
    if (faq_id is None) == (answer is None):
        raise Unprocessable("Give either faq_id (file the question under that FAQ) or answer "
                            "(a new FAQ), not both.", code="faq_id_or_answer")
    if answer is not None:
        answer = faqs.clean_text(answer, "answer", faqs.MAX_ANSWER)
    message = _customer_question(business_id, message_id)
    text = message.content.strip()
    if len(text) > faqs.MAX_QUESTION:
        raise Unprocessable(f"The message is longer than an FAQ question may be "
                            f"({faqs.MAX_QUESTION} characters).", code="question_too_long")
    created = faq_id is None
    if created:
        faq = faqs.create(actor, {"question": text, "answer": answer}, commit=False)
    else:
        faqs.bump_version(business_id)
        faq = db.session.get(Faq, faq_id, with_for_update=True)
        if faq is None or faq.business_id != business_id:
            raise NotFound("FAQ not found.")
        _add_phrasing(faq, text)
    # Staff filed it themselves: a proposal of the same question needs no decision.
    for proposal in db.session.scalars(select(FaqProposal).where(
            FaqProposal.source_message_id == message.id, FaqProposal.status == "pending")):
        _decide(proposal, actor, "accepted")
    tx.commit()
    return faq, created
