"""Identity: register, login, refresh, logout, me."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask_jwt_extended import get_jwt, jwt_required

from actions import auth
from web import presence_hooks
from web.schemas import AccessOut, AuthOut, LoginIn, RegisterIn, UserEnvelope
from web.tokens import access_token_for, current_actor, tokens_for

bp = APIBlueprint("auth", __name__, url_prefix="/api/auth", tag="Identity")


@bp.post("/register")
@bp.input(RegisterIn, arg_name="body")
@bp.output(AuthOut, status_code=201)
@bp.doc(summary="Create a customer account", responses=[400, 409])
def register(body: dict):
    user = auth.register(body["email"], body["password"], body["name"])
    return {"user": user.to_dict(), **tokens_for(user)}


@bp.post("/login")
@bp.input(LoginIn, arg_name="body")
@bp.output(AuthOut)
@bp.doc(summary="Sign in with email and password", responses=[400, 401])
def login(body: dict):
    user = auth.authenticate(body["email"], body["password"])
    return {"user": user.to_dict(), **tokens_for(user)}


@bp.post("/refresh")
@jwt_required(refresh=True)
@bp.output(AccessOut)
@bp.doc(summary="Exchange a refresh token for a new access token", security="BearerAuth",
        responses=[401])
def refresh():
    user = auth.get_user(int(get_jwt()["sub"]))
    return {"access_token": access_token_for(user)}


@bp.post("/logout")
@jwt_required(verify_type=False)
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke the presented token and close its live sockets",
        security="BearerAuth", responses=[401])
def logout():
    claims = get_jwt()
    auth.revoke(claims["jti"], int(claims["sub"]), claims["type"], claims["exp"])
    presence_hooks.disconnect_token(claims["jti"])
    return ""


@bp.get("/me")
@jwt_required()
@bp.output(UserEnvelope)
@bp.doc(summary="The signed-in account", security="BearerAuth", responses=[401])
def me():
    return {"user": auth.get_user(current_actor().id).to_dict()}
