"""Request and response schemas shared by REST routes and socket handlers."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Email, Length, Range
from marshmallow import EXCLUDE, RAISE

from actions.errors import InvalidInput

Name = lambda: String(required=True, validate=Length(1, 120))  # noqa: E731


def refuse_nul(payload: object) -> None:
    """PostgreSQL cannot store a NUL character in text: refuse a payload holding one, in any
    string or key, before it reaches the domain. Both transports call this."""
    if _holds_nul(payload):
        raise InvalidInput("Text must not contain NUL (\\u0000) characters.")


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class StrictBool(Boolean):
    """JSON true/false only: marshmallow's truthy sets let 1 and 0 through (1 == True)."""

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class ErrorBody(Schema):
    code = String()
    message = String()


class ErrorOut(Schema):
    error = Nested(ErrorBody)


class RegisterIn(Strict):
    email = String(required=True, validate=[Length(3, 254), Email()])
    password = String(required=True, validate=Length(8, 256))
    name = Name()


class LoginIn(Strict):
    email = String(required=True, validate=Length(1, 254))
    password = String(required=True, validate=Length(1, 256))


class UserOut(Schema):
    id = Integer()
    email = String()
    name = String()
    role = String()
    business_id = Integer(allow_none=True)
    last_seen_at = String(allow_none=True)
    created_at = String()


class UserEnvelope(Schema):
    user = Nested(UserOut)


class AuthOut(Schema):
    user = Nested(UserOut)
    access_token = String()
    refresh_token = String()


class AccessOut(Schema):
    access_token = String()


class BusinessIn(Strict):
    name = Name()
    timezone = String(required=True, validate=Length(1, 64))
    business_hours = Dict(load_default=None)
    holidays = List(String(), load_default=None)


class BusinessUpdateIn(Strict):
    name = String(validate=Length(1, 120))
    timezone = String(validate=Length(1, 64))
    business_hours = Dict()
    holidays = List(String())
    faq_threshold = Float(validate=Range(0, 1))
    staff_absent_minutes = Integer(validate=Range(1, 24 * 60), allow_none=True)
    escalation_reminder_minutes = Integer(validate=Range(1, 24 * 60), allow_none=True)


class BusinessOut(Schema):
    id = Integer()
    name = String()
    timezone = String()
    business_hours = Dict()
    holidays = List(String())
    is_open_now = Boolean()
    next_open_at = String(allow_none=True)
    faq_threshold = Float()
    created_at = String()


class BusinessEnvelope(Schema):
    business = Nested(BusinessOut)


class BusinessCreatedOut(Schema):
    business = Nested(BusinessOut)
    access_token = String()


class StaffIn(RegisterIn):
    pass


class HealthOut(Schema):
    status = String()
    checks = Dict()
