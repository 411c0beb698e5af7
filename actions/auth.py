"""Accounts, credentials and token revocation."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from actions.errors import Conflict, Unauthorized
from infra import rate_limits, tx
from infra.blocking import run_blocking
from models import RevokedToken, User, db
from models.user import AuthSession

_hasher = PasswordHasher()
# Verifying against a dummy hash for unknown emails keeps response times alike,
# so login timing does not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return run_blocking(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    email: str, password: str, name: str, role: str = "customer", business_id: int | None = None
) -> User:
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists.", code="email_taken")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        business_id=business_id,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        tx.rollback()
        raise Conflict("An account with this email already exists.", code="email_taken") from exc
    return user


def register(email: str, password: str, name: str, address: str = "") -> User:
    from flask import current_app

    # Per address: one source cannot mint accounts in bulk.
    rate_limits.hit(current_app.config["SETTINGS"].rate_limit_register, "register", address)
    user = create_user(email, password, name)
    tx.commit()
    return user


def authenticate(email: str, password: str, address: str = "") -> User:
    from flask import current_app

    settings = current_app.config["SETTINGS"]
    email = normalise_email(email)
    # Per address, so one source cannot spray many accounts; and per (address, account), so
    # guessing one password is slow, while someone elsewhere cannot lock the owner out.
    rate_limits.hit(settings.rate_limit_auth_ip, "login-from", address)
    rate_limits.hit(settings.rate_limit_auth, "login", address, email)
    user = db.session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user else _DUMMY_HASH
    ok = run_blocking(_verify, stored, password)
    if user is None or not ok:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise Unauthorized("The account of this token no longer exists.")
    return user


def start_session(user_id: int, lifetime: timedelta) -> str:
    """Record a sign-in; its id goes into every token of it as the `fam` claim."""
    session_id = uuid.uuid4().hex
    db.session.add(AuthSession(id=session_id, user_id=user_id,
                               expires_at=datetime.now(UTC) + lifetime))
    tx.commit()
    return session_id


def is_revoked(jti: str, session_id: str | None = None) -> bool:
    """A token of a sign-in is as good as its session (one look-up); a token from before
    sessions existed is checked by its own id."""
    if session_id is not None:
        row = db.session.execute(select(AuthSession.revoked_at)
                                 .where(AuthSession.id == session_id)).first()
        # No row: purged after expiry, or never issued here.
        return row is None or row.revoked_at is not None
    return db.session.get(RevokedToken, jti) is not None


def end_session(session_id: str) -> None:
    """Log out one sign-in: its refresh token and every access token refreshed from it."""
    db.session.execute(update(AuthSession)
                       .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=datetime.now(UTC)))
    tx.commit()


def end_all_sessions(user_id: int) -> list[str]:
    """Log out everywhere; returns the ids of the sessions that were still live."""
    now = datetime.now(UTC)
    live = list(db.session.scalars(select(AuthSession.id).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > now)))
    if live:
        db.session.execute(update(AuthSession).where(AuthSession.id.in_(live))
                           .values(revoked_at=now))
    tx.commit()
    return live


def revoke(jti: str, user_id: int, token_type: str, expires_at: int) -> None:
    """Record the token as revoked; repeating it is harmless."""
    if db.session.get(RevokedToken, jti) is not None:
        return
    db.session.add(
        RevokedToken(
            jti=jti,
            user_id=user_id,
            token_type=token_type,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )
    )
    try:
        tx.commit()
    except IntegrityError:
        pass  # revoked concurrently: the outcome is the same


def purge_expired_revocations(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    deleted = db.session.query(RevokedToken).filter(RevokedToken.expires_at < now).delete()
    deleted += db.session.query(AuthSession).filter(AuthSession.expires_at < now).delete()
    tx.commit()
    return deleted
