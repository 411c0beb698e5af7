"""Identity: register, login, refresh, logout, me."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import current_app, request
from flask_jwt_extended import get_jwt, jwt_required

from actions import auth
from actions.errors import Unauthorized
from web import presence_hooks
from web.schemas import AccessOut, AuthOut, LoginIn, LogoutIn, RegisterIn, UserEnvelope
from web.tokens import SESSION_CLAIM, access_token_for, current_actor, session_of, tokens_for

bp = APIBlueprint("auth", __name__, url_prefix="/api/auth", tag="Identity")


def client_address() -> str:
    """The caller's address for the sign-in limits. Behind FORWARDED_PROXIES proxies (e.g. 1
    on Heroku) it is the entry that the outermost of them appended to X-Forwarded-For;
    otherwise the header is ignored, since a client can write anything there."""
    trusted = current_app.config["SETTINGS"].forwarded_proxies
    forwarded = request.headers.get("X-Forwarded-For", "")
    if trusted > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= trusted:
            return hops[-trusted][:64]
    return request.remote_addr or ""


@bp.post("/register")
@bp.input(RegisterIn, arg_name="body")
@bp.output(AuthOut, status_code=201)
@bp.doc(summary="Create a customer account", responses=[400, 409, 429])
def register(body: dict):
    user = auth.register(body["email"], body["password"], body["name"], client_address())
    return {"user": user.to_dict(), **tokens_for(user)}


@bp.post("/login")
@bp.input(LoginIn, arg_name="body")
@bp.output(AuthOut)
@bp.doc(summary="Sign in with email and password", responses=[400, 401, 429])
def login(body: dict):
    user = auth.authenticate(body["email"], body["password"], client_address())
    return {"user": user.to_dict(), **tokens_for(user)}


@bp.post("/refresh")
@jwt_required(refresh=True)
@bp.output(AccessOut)
@bp.doc(summary="Exchange a refresh token for a new access token", security="BearerAuth",
        responses=[401])
def refresh():
    claims = get_jwt()
    if SESSION_CLAIM not in claims:
        # Issued before sign-ins were sessions: it could not be logged out, so sign in again.
        raise Unauthorized("This refresh token is no longer accepted; sign in again.")
    user = auth.get_user(int(claims["sub"]))
    return {"access_token": access_token_for(user, claims[SESSION_CLAIM])}


@bp.post("/logout")
@jwt_required(verify_type=False)
@bp.input(LogoutIn, arg_name="body")
@bp.output({}, status_code=204)
@bp.doc(summary="End the sign-in of the presented token (or every sign-in) and close its sockets",
        description="Accepts the access or the refresh token. Ends the whole sign-in: its "
        "refresh token and every access token refreshed from it stop working, and the live "
        "sockets opened with any of them are disconnected. With `{\"everywhere\": true}` every "
        "sign-in of the user ends and all of the user's sockets are disconnected.",
        security="BearerAuth", responses=[400, 401])
def logout(body: dict):
    claims = get_jwt()
    user_id = int(claims["sub"])
    if SESSION_CLAIM in claims:
        auth.end_session(claims[SESSION_CLAIM])
    else:
        auth.revoke(claims["jti"], user_id, claims["type"], claims["exp"])
    presence_hooks.disconnect_session(session_of(claims))
    if body["everywhere"]:
        for session_id in auth.end_all_sessions(user_id):
            presence_hooks.disconnect_session(session_id)
        presence_hooks.disconnect_user(user_id)
    return ""


@bp.get("/me")
@jwt_required()
@bp.output(UserEnvelope)
@bp.doc(summary="The signed-in account", security="BearerAuth", responses=[401])
def me():
    return {"user": auth.get_user(current_actor().id).to_dict()}
