"""Automation REST routes (prefix /api/chat): FAQs, FAQ matching, auto-responses."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required

from actions import auto_responses, faqs
from web.automation_schemas import (
    AutoResponseEnvelope,
    AutoResponseIn,
    AutoResponseQuery,
    AutoResponsesOut,
    AutoResponseUpdateIn,
    FaqEnvelope,
    FaqIn,
    FaqQuery,
    FaqsOut,
    FaqUpdateIn,
    MatchIn,
    MatchResultOut,
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
