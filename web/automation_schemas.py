"""Schemas of the automation routes: FAQs, FAQ matching and auto-responses.

Input schemas check shape and types only (unknown fields and wrong types are a 400 here);
lengths, counts and normalisation are the actions' job, so every caller gets the same
rules and messages. The limits still appear in the OpenAPI document through metadata.
"""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Float, Integer, List, Nested, String
from apiflask.validators import Range
from marshmallow import RAISE

from actions import auto_responses, faqs
from models.business import TRIGGERS
from web.notification_schemas import AutomationDayOut
from web.schemas import NOT_BLANK, Out, StrictBool


def _text(max_chars: int, description: str, **kw: object) -> String:
    # Trimmed by the actions, so a blank text is an empty one: NOT_BLANK says so.
    return String(metadata={"minLength": 1, "maxLength": max_chars, "pattern": NOT_BLANK,
                            "description": description}, **kw)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class FaqIn(Strict):
    question = _text(faqs.MAX_QUESTION, "Trimmed; 1 to 500 characters.", required=True)
    answer = _text(faqs.MAX_ANSWER, "Trimmed; 1 to 4000 characters.", required=True)
    keywords = List(
        String(metadata={"minLength": 1, "maxLength": faqs.MAX_KEYWORD, "pattern": NOT_BLANK}),
        metadata={"maxItems": faqs.MAX_KEYWORDS,
                  "description": "At most 50, each 1 to 60 characters; stored trimmed, "
                  "lowercased and without duplicates."})
    alternative_questions = List(
        String(metadata={"minLength": 1, "maxLength": faqs.MAX_QUESTION, "pattern": NOT_BLANK}),
        metadata={"maxItems": faqs.MAX_ALTERNATIVES,
                  "description": "Other phrasings of the question: at most 30, "
                  "each 1 to 500 characters."})
    category = String(allow_none=True, metadata={
        "maxLength": faqs.MAX_CATEGORY, "description": "At most 80 characters; empty or null "
        "means no category."})
    is_active = StrictBool(metadata={"description": "Inactive FAQs are never matched."})


class FaqUpdateIn(FaqIn):
    # Partial update: any subset of the fields.
    question = _text(faqs.MAX_QUESTION, "Trimmed; 1 to 500 characters.")
    answer = _text(faqs.MAX_ANSWER, "Trimmed; 1 to 4000 characters.")


# Query strings ignore unknown parameters (cache busters and the like), as webargs does.
class FaqQuery(Schema):
    active = Boolean(metadata={"description": "true: only active FAQs; false: only inactive."})


class FaqOut(Out):
    id = Integer()
    business_id = Integer()
    question = String()
    answer = String()
    keywords = List(String())
    alternative_questions = List(String())
    category = String(allow_none=True)
    is_active = Boolean()
    created_at = String()
    updated_at = String()


class FaqEnvelope(Out):
    faq = Nested(FaqOut)


class FaqsOut(Out):
    faqs = List(Nested(FaqOut))


class MatchIn(Strict):
    text = _text(faqs.MAX_MATCH_TEXT, "The customer's message; trimmed, 1 to 4000 characters.",
                 required=True)


class MatchOut(Out):
    faq_id = Integer()
    question = String()
    answer = String()
    confidence = Float(metadata={"description": "Estimated probability (0 to 1) that this "
                                 "FAQ answers the text."})


class CandidateOut(Out):
    faq_id = Integer()
    question = String()
    confidence = Float()


class MatchResultOut(Out):
    match = Nested(MatchOut, allow_none=True, metadata={
        "description": "What the FAQ bot would post: the best active FAQ if its confidence "
        "reaches the business's faq_threshold and the text is not small talk; else null."})
    candidates = List(Nested(CandidateOut), metadata={
        "description": "Up to 5 FAQs with any evidence, most confident first."})
    threshold = Float(metadata={"description": "The business's faq_threshold."})
    small_talk = Boolean(metadata={"description": "Greetings, thanks and similar chit-chat "
                                   "get no FAQ answer."})


_MESSAGE_DOC = ("Trimmed; 1 to 2000 characters. The only placeholder is {next_open_at} "
                "(offline trigger only); any other {...} is refused with 422.")


class AutoResponseIn(Strict):
    trigger = String(required=True, metadata={"enum": list(TRIGGERS)})
    message = _text(auto_responses.MAX_MESSAGE, _MESSAGE_DOC, required=True)
    is_active = StrictBool(metadata={
        "description": "Default true. Saving an active auto-response deactivates the other "
        "auto-responses of its trigger."})


class AutoResponseUpdateIn(AutoResponseIn):
    trigger = String(metadata={"enum": list(TRIGGERS)})
    message = _text(auto_responses.MAX_MESSAGE, _MESSAGE_DOC)


class AutoResponseQuery(Schema):
    trigger = String(metadata={"enum": list(TRIGGERS)})
    active = Boolean()


class AutoResponseOut(Out):
    id = Integer()
    business_id = Integer()
    trigger = String()
    message = String()
    is_active = Boolean()
    created_at = String()
    updated_at = String()


class AutoResponseEnvelope(Out):
    auto_response = Nested(AutoResponseOut)


class AutoResponsesOut(Out):
    auto_responses = List(Nested(AutoResponseOut))


# --- Suggestions, feedback and learning -------------------------------------------------------

class ProposalOut(Out):
    id = Integer()
    faq_id = Integer()
    question = String(metadata={"description": "The customer's question, proposed as another "
                                "phrasing of the FAQ."})
    source_message_id = Integer(allow_none=True, metadata={
        "description": "The customer's message (null once it is deleted)."})
    status = String(metadata={"enum": ["pending", "accepted", "rejected"]})
    created_at = String()


class ProposalsOut(Out):
    proposals = List(Nested(ProposalOut), metadata={
        "description": "Pending proposals, oldest first (at most 200)."})


class FromMessageIn(Strict):
    """Exactly one of faq_id and answer; both or neither answers 422 faq_id_or_answer."""

    message_id = Integer(required=True, validate=Range(1, 2**53), metadata={
        "description": "A customer's message in one of the business's conversations."})
    faq_id = Integer(validate=Range(1, 2**53), metadata={
        "description": "Add the message's text to this FAQ's alternative_questions."})
    answer = _text(faqs.MAX_ANSWER, "A new FAQ with the message's text as its question and "
                   "this answer (say, the staff member's reply).")


class DaysQuery(Schema):
    days = Integer(load_default=30, validate=Range(1, 366), metadata={
        "description": "How many days back, today included (1 to 366; default 30)."})


class GapOut(Out):
    representative = String(metadata={"description": "The question nearest the group's "
                                      "meaning."})
    count = Integer(metadata={"description": "How many questions of the period it holds."})
    examples = List(String(), metadata={"description": "Up to 5 distinct questions, newest "
                                        "first."})
    message_ids = List(Integer(), metadata={"description": "The examples' message ids."})
    nearest_faq_id = Integer(allow_none=True)
    nearest_faq_question = String(allow_none=True)
    nearest_confidence = Float(allow_none=True)
    last_seen_at = String()


class GapsOut(Out):
    gaps = List(Nested(GapOut), metadata={
        "description": "Customer questions the bot did not answer (or answered wrongly, by "
        "the customer's verdict), grouped by meaning, most frequent first (at most 50)."})


class AdvisorPointOut(Out):
    threshold = Float()
    answered = Integer(metadata={"description": "Judged answers at or above the threshold."})
    precision = Float(allow_none=True)
    recall = Float(allow_none=True)


class AdvisorOut(Out):
    current_threshold = Float()
    samples = Integer(metadata={"description": "Answers with the customer's verdict."})
    thresholds = List(Nested(AdvisorPointOut))


class AutomationStatsOut(Out):
    days = List(Nested(AutomationDayOut), metadata={"description": "Oldest first, in the "
                                                    "business's time zone."})
    threshold_advisor = Nested(AdvisorOut, metadata={
        "description": "Precision and recall estimated at other thresholds from the "
        "customers' verdicts of the period."})
