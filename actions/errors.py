"""Typed domain errors: each carries a code, an HTTP status and a human message.

Each transport maps them once: HTTP to a JSON error body, Socket.IO to an
``{ok: false, error}`` acknowledgement.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = details
        self.retry_after = retry_after
        super().__init__(self.message)

    def to_dict(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = "The request is not valid."


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    default_message = "A valid access token is required."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "This conflicts with existing data."


class TooLarge(DomainError):
    code = "too_large"
    status = 413
    default_message = "The request is too large."


class Unprocessable(DomainError):
    code = "unprocessable"
    status = 422
    default_message = "The request is well-formed but cannot be applied."


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    default_message = "Too many requests; slow down."


class Unavailable(DomainError):
    code = "unavailable"
    status = 503
    default_message = "The service is briefly unavailable; nothing was saved. Try again shortly."


def outage(error: BaseException) -> Unavailable | None:
    """Redis or the database out of reach, as the error a client can act on: retry later.

    Anything else is a bug and stays a 500.
    """
    import redis.exceptions
    import sqlalchemy.exc

    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return Unavailable(retry_after=5)
    if isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return Unavailable(retry_after=5)
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return Unavailable(retry_after=5)
    return None
