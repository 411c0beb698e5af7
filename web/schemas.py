"""Request and response schemas shared by REST routes and socket handlers."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Email, Length, Range
from marshmallow import EXCLUDE, RAISE

from actions.errors import InvalidInput

Name = lambda: String(required=True, validate=Length(1, 120))  # noqa: E731


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def refuse_nul(payload: object) -> None:
    """Refuse, before it reaches the domain, a payload that no database can store: a NUL
    character (PostgreSQL text cannot hold one) or a lone surrogate (not encodable as UTF-8)
    in any string or key, or an integer outside 64 bits. Both transports call this."""
    problem = _unstorable(payload)
    if problem:
        raise InvalidInput(problem)


def _unstorable(payload: object) -> str | None:
    # A loop, not recursion: a payload as deep as the decoder allows must not overflow the stack.
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                return problem
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, int) and not isinstance(value, bool) and not (
                INT64_MIN <= value <= INT64_MAX):
            return "Numbers must fit in 64 bits."
    return None


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "Text must not contain NUL (\\u0000) characters."
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "Text must be valid Unicode (no lone surrogates such as \\ud800)."
    return None


def bounded_int(text: str) -> int:
    """JSON's parse_int: a number of thousands of digits costs quadratic time to convert
    and fits no column, so anything past 64 bits is refused before it is converted."""
    if len(text) > 20:
        raise InvalidInput("Numbers must fit in 64 bits.")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput("Numbers must fit in 64 bits.")
    return value


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


class LogoutIn(Strict):
    everywhere = StrictBool(load_default=False, metadata={
        "description": "true: end every sign-in of this user (all devices) and close all of "
                       "the user's sockets; default: only the sign-in of the presented token"})


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
