"""JWT issuing and the loaders that make every token problem a 401."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
)
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from actions import auth
from actions.actors import Actor
from actions.errors import Unauthorized
from models import User
from web.errors import error_response
from web.extensions import jwt

SESSION_CLAIM = "fam"


def claims_for(user: User) -> dict:
    return {"role": user.role, "business_id": user.business_id, "name": user.name}


def session_of(claims: dict) -> str:
    """What logout ends and sockets are filed under: the sign-in (the refresh-token family),
    or for a token issued before sessions existed, the token itself."""
    return claims.get(SESSION_CLAIM) or claims["jti"]


def _current_session() -> str | None:
    try:
        return get_jwt().get(SESSION_CLAIM)
    except RuntimeError:  # no token was verified in this request
        return None


def access_token_for(user: User, session_id: str | None = None) -> str:
    """An access token of the given sign-in; by default that of the request's own token
    (a new role's token after creating a business belongs to the same sign-in)."""
    claims = claims_for(user)
    session_id = session_id or _current_session()
    if session_id:
        claims[SESSION_CLAIM] = session_id
    return create_access_token(identity=str(user.id), additional_claims=claims)


def tokens_for(user: User) -> dict:
    """A new sign-in: a session row and its first pair of tokens."""
    lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    if not isinstance(lifetime, timedelta):
        lifetime = timedelta(seconds=lifetime)
    session_id = auth.start_session(user.id, lifetime)
    return {
        "access_token": access_token_for(user, session_id),
        "refresh_token": create_refresh_token(identity=str(user.id),
                                              additional_claims={SESSION_CLAIM: session_id}),
    }


def current_actor() -> Actor:
    return Actor.from_claims(get_jwt())


def access_claims(token: object) -> dict:
    """Verify a raw access token the way the REST layer does; used by socket connect."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise Unauthorized()
    try:
        claims = decode_token(token)
    except (
        PyJWTError,
        JWTExtendedException,
        ValueError,
        KeyError,
    ) as exc:  # expired, bad signature, malformed
        raise Unauthorized() from exc
    if claims.get("type") != "access" or auth.is_revoked(claims["jti"],
                                                         claims.get(SESSION_CLAIM)):
        raise Unauthorized()
    return claims


def _unauthorized(message: str):
    return error_response(401, "unauthorized", message)


@jwt.token_in_blocklist_loader
def _is_revoked(_header: dict, payload: dict) -> bool:
    return auth.is_revoked(payload["jti"], payload.get(SESSION_CLAIM))


@jwt.unauthorized_loader
def _missing(reason: str):
    return _unauthorized("A bearer token is required.")


@jwt.invalid_token_loader
def _invalid(reason: str):
    return _unauthorized("The token is invalid.")


@jwt.expired_token_loader
def _expired(_header: dict, _payload: dict):
    return _unauthorized("The token has expired.")


@jwt.revoked_token_loader
def _revoked(_header: dict, _payload: dict):
    return _unauthorized("The token has been revoked.")


@jwt.needs_fresh_token_loader
def _not_fresh(_header: dict, _payload: dict):
    return _unauthorized("A fresh token is required.")


@jwt.token_verification_failed_loader
def _failed(_header: dict, _payload: dict):
    return _unauthorized("The token could not be verified.")


@jwt.user_lookup_error_loader
def _no_user(_header: dict, _payload: dict):
    return _unauthorized("The account of this token no longer exists.")
