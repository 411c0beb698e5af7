"""Automation REST routes (prefix /api/chat): FAQs, FAQ matching, auto-responses, and the
FAQs' learning loop: proposals, filing a customer's question, the gap report, statistics."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required

from actions import auto_responses, automation_stats, faq_gaps, faq_learning, faqs
from web.automation_schemas import (
    AutomationStatsOut,
    AutoResponseEnvelope,
    AutoResponseIn,
    AutoResponseQuery,
    AutoResponsesOut,
    AutoResponseUpdateIn,
    DaysQuery,
    FaqEnvelope,
    FaqIn,
    FaqQuery,
    FaqsOut,
    FaqUpdateIn,
    FromMessageIn,
    GapsOut,
    MatchIn,
    MatchResultOut,
    ProposalsOut,
)
from web.tokens import current_actor

bp = APIBlueprint("automation", __name__, url_prefix="/api/chat", tag="Automation")
AUTH = {"security": "BearerAuth"}
STAFF_ONLY = "Staff and owners of a business manage its own content; customers get 403."
PLACEHOLDERS = ("A message with a placeholder other than {next_open_at}, an unbalanced brace, "
                "or {next_open_at} under another trigger than offline (also the stored one) "
                "answers 422 invalid_placeholder. ")


@bp.post("/faqs")
@jwt_required()
@bp.input(FaqIn, arg_name="body")
@bp.output(FaqEnvelope, status_code=201)
@bp.doc(summary="Create an FAQ", description=STAFF_ONLY, responses=[400, 401, 403, 409], **AUTH)
def create_faq(body: dict):
    return {"faq": faqs.create(current_actor(), body).to_dict()}


@bp.get("/faqs")
@jwt_required()
@bp.input(FaqQuery, location="query", arg_name="query")
@bp.output(FaqsOut)
@bp.doc(summary="The business's FAQs, active and inactive",
        description="Optional ?active=true|false filter. " + STAFF_ONLY,
        responses=[400, 401, 403], **AUTH)
def list_faqs(query: dict):
    items = faqs.list_faqs(current_actor(), query.get("active"))
    return {"faqs": [faq.to_dict() for faq in items]}


@bp.post("/faqs/match")
@jwt_required()
@bp.input(MatchIn, arg_name="body")
@bp.output(MatchResultOut)
@bp.doc(summary="Preview what the FAQ bot would answer to a text",
        description="Scores the text against the business's active FAQs with the business's "
        "faq_threshold, exactly as the automation does. " + STAFF_ONLY,
        responses=[400, 401, 403], **AUTH)
def match_faq(body: dict):
    return faqs.match(current_actor(), body["text"])


@bp.get("/faqs/<int:faq_id>")
@jwt_required()
@bp.output(FaqEnvelope)
@bp.doc(summary="One FAQ", description=STAFF_ONLY, responses=[401, 403, 404], **AUTH)
def get_faq(faq_id: int):
    return {"faq": faqs.get(current_actor(), faq_id).to_dict()}


@bp.put("/faqs/<int:faq_id>")
@jwt_required()
@bp.input(FaqUpdateIn, arg_name="body")
@bp.output(FaqEnvelope)
@bp.doc(summary="Update an FAQ (any subset of its fields)", description=STAFF_ONLY,
        responses=[400, 401, 403, 404], **AUTH)
def update_faq(faq_id: int, body: dict):
    return {"faq": faqs.update_faq(current_actor(), faq_id, body).to_dict()}


@bp.delete("/faqs/<int:faq_id>")
@jwt_required()
@bp.output({}, status_code=204)
@bp.doc(summary="Delete an FAQ",
        description="Bot messages that quoted it keep their text. " + STAFF_ONLY,
        responses=[401, 403, 404], **AUTH)
def delete_faq(faq_id: int):
    faqs.delete(current_actor(), faq_id)
    return ""


@bp.post("/auto-responses")
@jwt_required()
@bp.input(AutoResponseIn, arg_name="body")
@bp.output(AutoResponseEnvelope, status_code=201)
@bp.doc(summary="Create an auto-response",
        description="trigger is welcome, offline or escalation (else 400 invalid_trigger). "
        "An active one replaces the active text of its trigger. " + PLACEHOLDERS + STAFF_ONLY,
        responses={400: "Invalid input", 401: "Authentication error", 403: "Forbidden",
                   422: "A placeholder cannot be filled in"}, **AUTH)
def create_auto_response(body: dict):
    return {"auto_response": auto_responses.create(current_actor(), body).to_dict()}


@bp.get("/auto-responses")
@jwt_required()
@bp.input(AutoResponseQuery, location="query", arg_name="query")
@bp.output(AutoResponsesOut)
@bp.doc(summary="The business's auto-responses",
        description="Optional ?trigger= and ?active= filters. " + STAFF_ONLY,
        responses=[400, 401, 403], **AUTH)
def list_auto_responses(query: dict):
    items = auto_responses.list_responses(current_actor(), query.get("trigger"),
                                          query.get("active"))
    return {"auto_responses": [item.to_dict() for item in items]}


@bp.get("/auto-responses/<int:response_id>")
@jwt_required()
@bp.output(AutoResponseEnvelope)
@bp.doc(summary="One auto-response", description=STAFF_ONLY, responses=[401, 403, 404], **AUTH)
def get_auto_response(response_id: int):
    return {"auto_response": auto_responses.get(current_actor(), response_id).to_dict()}


@bp.put("/auto-responses/<int:response_id>")
@jwt_required()
@bp.input(AutoResponseUpdateIn, arg_name="body")
@bp.output(AutoResponseEnvelope)
@bp.doc(summary="Update an auto-response (any subset of its fields)",
        description=PLACEHOLDERS + STAFF_ONLY,
        responses={400: "Invalid input", 401: "Authentication error", 403: "Forbidden",
                   404: "Not found", 422: "A placeholder cannot be filled in"}, **AUTH)
def update_auto_response(response_id: int, body: dict):
    response = auto_responses.update_response(current_actor(), response_id, body)
    return {"auto_response": response.to_dict()}


@bp.delete("/auto-responses/<int:response_id>")
@jwt_required()
@bp.output({}, status_code=204)
@bp.doc(summary="Delete an auto-response",
        description="With no active text for a trigger the bot stays silent for it. "
        + STAFF_ONLY, responses=[401, 403, 404], **AUTH)
def delete_auto_response(response_id: int):
    auto_responses.delete(current_actor(), response_id)
    return ""


@bp.get("/faq-proposals")
@jwt_required()
@bp.output(ProposalsOut)
@bp.doc(summary="Customer questions proposed as new phrasings of FAQs",
        description="A question whose FAQ answer (direct, or a picked suggestion) the customer "
        "marked helpful is proposed as another phrasing of that FAQ. Accept or reject each; "
        "deleting an FAQ drops its proposals. " + STAFF_ONLY,
        responses=[401, 403], **AUTH)
def list_proposals():
    return {"proposals": faq_learning.list_proposals(current_actor())}


@bp.post("/faq-proposals/<int:proposal_id>/accept")
@jwt_required()
@bp.output(FaqEnvelope)
@bp.doc(summary="Accept a proposal: the question becomes one of the FAQ's "
        "alternative_questions",
        description="The FAQ index is rebuilt on its next use by every process, so the next "
        "similar question is answered. 409 already_decided for a proposal accepted or "
        "rejected before, 409 too_many_alternatives when the FAQ has 30. " + STAFF_ONLY,
        responses=[401, 403, 404, 409], **AUTH)
def accept_proposal(proposal_id: int):
    return {"faq": faq_learning.accept(current_actor(), proposal_id).to_dict()}


@bp.post("/faq-proposals/<int:proposal_id>/reject")
@jwt_required()
@bp.output({}, status_code=204)
@bp.doc(summary="Reject a proposal",
        description="409 already_decided for a proposal accepted or rejected before. "
        + STAFF_ONLY, responses=[401, 403, 404, 409], **AUTH)
def reject_proposal(proposal_id: int):
    faq_learning.reject(current_actor(), proposal_id)
    return ""


@bp.post("/faqs/from-message")
@jwt_required()
@bp.input(FromMessageIn, arg_name="body")
@bp.output(FaqEnvelope, status_code=201)
@bp.doc(summary="File a customer's question: as a phrasing of an FAQ, or as a new FAQ",
        description="{message_id, faq_id} adds the message's text to that FAQ's "
        "alternative_questions (200); {message_id, answer} creates an FAQ with the message's "
        "text as its question and this answer (201), say a staff member's reply to an "
        "escalated question. The message must be a customer's, in one of the business's "
        "conversations (404 otherwise; 422 faq_id_or_answer for both or neither, 422 "
        "not_a_customer_message for a staff or bot "
        "message, 422 question_too_long past 500 characters). " + STAFF_ONLY,
        responses={200: {"description": "Added to an existing FAQ", "content": {
                       "application/json": {"schema": {
                           "$ref": "#/components/schemas/FaqEnvelope"}}}},
                   400: "Invalid input", 401: "Authentication error", 403: "Forbidden",
                   404: "Not found", 409: "Conflict", 422: "The message cannot be filed"},
        **AUTH)
def faq_from_message(body: dict):
    faq, created = faq_learning.from_message(current_actor(), body["message_id"],
                                             body.get("faq_id"), body.get("answer"))
    return {"faq": faq.to_dict()}, 201 if created else 200


@bp.get("/faq-gaps")
@jwt_required()
@bp.input(DaysQuery, location="query", arg_name="query")
@bp.output(GapsOut)
@bp.doc(summary="The FAQ-gap report: unanswered questions grouped by meaning",
        description="Customer questions of the last ?days= days (default 30) that got no FAQ "
        "answer, or whose answer the customer marked unhelpful, grouped by meaning, most "
        "frequent first, each with examples, the nearest existing FAQ and when it was last "
        "asked: which FAQ to write next. " + STAFF_ONLY,
        responses=[400, 401, 403], **AUTH)
def faq_gap_report(query: dict):
    return {"gaps": faq_gaps.gaps(current_actor(), query["days"])}


@bp.get("/automation-stats")
@jwt_required()
@bp.input(DaysQuery, location="query", arg_name="query")
@bp.output(AutomationStatsOut)
@bp.doc(summary="The FAQ bot's figures per day, and a threshold advisor",
        description="Per day of the last ?days= days (default 30) in the business's time "
        "zone, oldest first: customer messages, FAQ answers, helpful and not helpful, "
        "suggestions shown and picked, escalations, conversations resolved without staff. "
        "threshold_advisor estimates precision and recall at other thresholds from the "
        "customers' verdicts. " + STAFF_ONLY,
        responses=[400, 401, 403], **AUTH)
def automation_stats_route(query: dict):
    return automation_stats.stats(current_actor(), query["days"])
