"""Businesses and their staff accounts."""
from __future__ import annotations

from apiflask import APIBlueprint
from apiflask.fields import Boolean, List, Nested
from flask_jwt_extended import jwt_required

from actions import businesses, staff_directory
from web.schemas import (
    BusinessCreatedOut,
    BusinessEnvelope,
    BusinessIn,
    BusinessUpdateIn,
    Out,
    StaffIn,
    UserEnvelope,
    UserOut,
)
from web.tokens import access_token_for, current_actor


class ColleagueOut(UserOut):
    online = Boolean(metadata={"description": "Has at least one socket connected now."})


class ColleaguesOut(Out):
    users = List(Nested(ColleagueOut))


bp = APIBlueprint("businesses", __name__, url_prefix="/api/businesses", tag="Businesses")


@bp.post("")
@jwt_required()
@bp.input(BusinessIn, arg_name="body")
@bp.output(BusinessCreatedOut, status_code=201)
@bp.doc(summary="Create a business; the caller becomes its owner", security="BearerAuth",
        description="Overlapping business_hours ranges answer 422 invalid_schedule.",
        responses={400: "Invalid input", 401: "Authentication error",
                   409: "The caller already belongs to a business",
                   422: "The hours' ranges overlap"})
def create_business(body: dict):
    business, owner = businesses.create(
        current_actor(), body["name"], body["timezone"], body["business_hours"], body["holidays"]
    )
    return {"business": businesses.to_dict(business), "access_token": access_token_for(owner)}


@bp.get("/<int:business_id>")
@bp.output(BusinessEnvelope)
@bp.doc(summary="A business's public profile, hours and open state", responses=[404])
def get_business(business_id: int):
    return {"business": businesses.to_dict(businesses.get(business_id))}


@bp.put("/<int:business_id>")
@jwt_required()
@bp.input(BusinessUpdateIn, arg_name="body")
@bp.output(BusinessEnvelope)
@bp.doc(summary="Update a business (owner)", security="BearerAuth",
        description="Any subset of the fields. Overlapping business_hours ranges answer 422 "
        "invalid_schedule.",
        responses={400: "Invalid input", 401: "Authentication error", 403: "Forbidden",
                   404: "Not found", 422: "The hours' ranges overlap"})
def update_business(business_id: int, body: dict):
    business = businesses.update(current_actor(), business_id, body)
    return {"business": businesses.to_dict(business)}


@bp.post("/<int:business_id>/staff")
@jwt_required()
@bp.input(StaffIn, arg_name="body")
@bp.output(UserEnvelope, status_code=201)
@bp.doc(summary="Add a staff account (owner)", security="BearerAuth",
        responses=[400, 401, 403, 404, 409])
def add_staff(business_id: int, body: dict):
    user = businesses.add_staff(
        current_actor(), business_id, body["email"], body["password"], body["name"]
    )
    return {"user": user.to_dict()}


@bp.get("/<int:business_id>/staff")
@jwt_required()
@bp.output(ColleaguesOut)
@bp.doc(summary="The owners and staff of the caller's business, with who is online (staff)",
        description="For starting a staff room with a colleague and for presence dots. "
        "Another business, or a customer asking, answers 404.",
        security="BearerAuth", responses=[401, 404])
def list_staff(business_id: int):
    return {"users": staff_directory.colleagues(current_actor(), business_id)}
