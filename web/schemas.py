"""Request and response schemas shared by REST routes and socket handlers."""
from __future__ import annotations

from zoneinfo import available_timezones

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, Raw, String
from apiflask.validators import Email, Length, Range
from marshmallow import EXCLUDE, RAISE, ValidationError

from actions.errors import InvalidInput

# Documentation of rules the input schemas leave to the actions (which every transport shares).
# "Trimmed" text must hold a character that str.strip() keeps. Spelled out, since the
# validators' regex engines and Python's disagree on what \s covers beyond ASCII.
NOT_BLANK = r"[^\s\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
END_TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMEZONES = sorted(available_timezones())


def not_blank(value: str) -> None:
    """Text that is only whitespace is empty once trimmed: refused like an empty one."""
    if not value.strip():
        raise ValidationError("Must not be blank.")


def Name(**kw: object) -> String:  # noqa: N802 - reads like a field class
    return String(validate=[Length(1, 120), not_blank], metadata={
        "pattern": NOT_BLANK, "description": "1 to 120 characters; stored trimmed."}, **kw)


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


class WholeNumber(Integer):
    """A JSON integer. 7.0 is one too (JSON Schema's reading, and what some encoders write);
    true, "7" and 7.5 are not (marshmallow's strict=False takes "7", its strict=True 7.0 not)."""

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float):
            if not value.is_integer():
                raise self.make_error("invalid", input=value)
            value = int(value)
        return value


class Number(Float):
    """A JSON number: not true, not "0.5" (marshmallow's Float takes both)."""

    def _deserialize(self, value: object, attr: str | None, data: object,
                     **kwargs: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class Out(Schema):
    """A response: clients must accept fields beyond the documented ones (the contract),
    so the document does not forbid them (apispec writes additionalProperties: false for
    marshmallow's default unknown=RAISE)."""

    class Meta:
        unknown = EXCLUDE


class ErrorBody(Out):
    code = String(required=True, metadata={
        "description": "Stable snake_case reason, e.g. invalid_input, not_found.",
        "example": "invalid_input"})
    message = String(required=True, metadata={"description": "Human-readable explanation."})
    details = Raw(metadata={
        "description": "Optional specifics whose shape depends on the code: for a refused "
        "field, e.g. {\"field\": \"message\"}; for schema validation, "
        "{location: {field: [messages]}} with location json, query or files."})


class ErrorOut(Out):
    error = Nested(ErrorBody, required=True)


class RegisterIn(Strict):
    email = String(required=True, validate=[Length(3, 254), Email()],
                   metadata={"format": "email", "description": "Stored lowercased."})
    password = String(required=True, validate=Length(8, 256))
    name = Name(required=True)


class LoginIn(Strict):
    email = String(required=True, validate=Length(1, 254))
    password = String(required=True, validate=Length(1, 256))


class LogoutIn(Strict):
    everywhere = StrictBool(load_default=False, metadata={
        "description": "true: end every sign-in of this user (all devices) and close all of "
                       "the user's sockets; default: only the sign-in of the presented token"})


class UserOut(Out):
    id = Integer()
    email = String()
    name = String()
    role = String()
    business_id = Integer(allow_none=True)
    last_seen_at = String(allow_none=True)
    created_at = String()


class UserEnvelope(Out):
    user = Nested(UserOut)


class AuthOut(Out):
    user = Nested(UserOut)
    access_token = String()
    refresh_token = String()


class AccessOut(Out):
    access_token = String()


def Timezone(**kw: object) -> String:  # noqa: N802
    return String(validate=Length(1, 64), metadata={
        "enum": TIMEZONES, "description": "An IANA time zone name, e.g. Europe/London."}, **kw)


_RANGE = {
    "type": "array", "minItems": 2, "maxItems": 2,
    # Equal ends would be a zero-length range: a whole day is ["00:00", "24:00"].
    "uniqueItems": True,
    "prefixItems": [{"type": "string", "pattern": TIME_PATTERN},
                    {"type": "string", "pattern": END_TIME_PATTERN}],
}
_HOURS_DOC = {
    "type": "object",
    "properties": {day: {"type": "array", "maxItems": 10, "items": _RANGE} for day in DAYS},
    "additionalProperties": False,
    "description": "Weekly opening hours in the business's timezone: each day maps to at most "
    "10 [start, end] ranges of HH:MM; 24:00 is allowed as an end; an end before its start runs "
    "past midnight. A missing day is closed. Ranges that overlap (also across midnight) are "
    "refused with 422 invalid_schedule.",
    "example": {"mon": [["09:00", "17:00"]], "sat": [["10:00", "14:00"]], "sun": []},
}


def Hours(**kw: object) -> Dict:  # noqa: N802
    return Dict(metadata=dict(_HOURS_DOC), **kw)


def Holidays(**kw: object) -> List:  # noqa: N802
    return List(String(metadata={"format": "date"}), metadata={
        "maxItems": 366, "description": "Dates (YYYY-MM-DD) on which the business is closed."},
        **kw)


class BusinessIn(Strict):
    name = Name(required=True)
    timezone = Timezone(required=True)
    business_hours = Hours(load_default=None)
    holidays = Holidays(load_default=None)


class BusinessUpdateIn(Strict):
    name = Name()
    timezone = Timezone()
    business_hours = Hours()
    holidays = Holidays()
    faq_threshold = Number(validate=Range(0, 1))
    suggestion_floor = Number(validate=Range(0, 1), metadata={
        "description": "A customer question whose best FAQ is under faq_threshold but at or "
        "above this confidence gets chat:faq-suggestions (up to three FAQs to pick from). "
        "Default 0.3; at or above faq_threshold, no suggestions are made."})
    staff_absent_minutes = WholeNumber(validate=Range(1, 24 * 60), allow_none=True)
    escalation_reminder_minutes = WholeNumber(validate=Range(1, 24 * 60), allow_none=True)


class BusinessOut(Out):
    id = Integer()
    name = String()
    timezone = String()
    business_hours = Dict()
    holidays = List(String())
    is_open_now = Boolean()
    next_open_at = String(allow_none=True)
    faq_threshold = Float()
    suggestion_floor = Float()
    created_at = String()


class BusinessEnvelope(Out):
    business = Nested(BusinessOut)


class BusinessCreatedOut(Out):
    business = Nested(BusinessOut)
    access_token = String()


class StaffIn(RegisterIn):
    pass


class HealthOut(Out):
    status = String()
    checks = Dict()


class ConnectionsOut(Out):
    total = Integer(metadata={"description": "Sockets connected to this deployment."})
    business = Integer(metadata={"description": "Sockets of the caller's business."})
    online_user_ids = List(Integer(), metadata={
        "description": "Users of the caller's business with at least one socket."})
