"""JWT issuing and the loaders that make every token problem a 401."""

from __future__ import annotations

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


def claims_for(user: User) -> dict:
    return {"role": user.role, "business_id": user.business_id, "name": user.name}


def access_token_for(user: User) -> str:
    return create_access_token(identity=str(user.id), additional_claims=claims_for(user))


def tokens_for(user: User) -> dict:
    return {
        "access_token": access_token_for(user),
        "refresh_token": create_refresh_token(identity=str(user.id)),
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
    if claims.get("type") != "access" or auth.is_revoked(claims["jti"]):
        raise Unauthorized()
    return claims


def _unauthorized(message: str):
    return error_response(401, "unauthorized", message)


@jwt.token_in_blocklist_loader
def _is_revoked(_header: dict, payload: dict) -> bool:
    return auth.is_revoked(payload["jti"])


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
