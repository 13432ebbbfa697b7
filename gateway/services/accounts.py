"""Users, sessions, login rate limits, API tokens and the account audit trail (units of work
for `gateway users` and the web app).

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended
parameter set). Session and API tokens are 32 random bytes; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.domain.access import SUPPLIER_BINDING, Actor, Role, Scope
from gateway.errors import ConfigurationError, SignInRefused
from gateway.persistence.accounts import (
    ApiTokenRow,
    AuditEventRow,
    LoginAttemptRow,
    UserRow,
    WebSessionRow,
)
from gateway.services.unit_of_work import UnitOfWork

MIN_PASSWORD_LENGTH = 12
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_USE_GRANULARITY = timedelta(minutes=1)  # how exactly an API token's last use is kept
# Failed sign-ins counted over this window: per account, and per client address.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
TOKEN_PREFIX = "gw_"


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return PasswordHasher().hash(password)


def _password_matches(stored: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the email is unknown, so that an unknown account takes as long to
# refuse as a wrong password (no user enumeration by timing).
_UNKNOWN_USER_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$oNuASNpc07btd80EWdHRTA"
                      "$PX9ItgojJVZkZ0+YNlxk3DX29wq7pVHNxIQ2eIbmBi0")


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def audit(session: Session, actor: str, action: str, subject: str, now: datetime,
          detail: str | None = None) -> None:
    session.add(AuditEventRow(at=now, actor=actor, action=action, subject=subject,
                              detail=detail))


def find_user(session: Session, email: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(
        func.lower(UserRow.email) == email.strip().lower())).first()


def create_user(session: Session, email: str, name: str, role: Role, group: str | None,
                password: str, actor: str, now: datetime) -> UserRow:
    email = email.strip()
    if "@" not in email:
        raise ConfigurationError(f"{email!r} is not an email address")
    if find_user(session, email) is not None:
        raise ConfigurationError(f"a user {email} exists already")
    row = UserRow(email=email, name=name or email, role=role.value, group_name=group or None,
                  password_hash=hash_password(password), disabled=False, locale=None,
                  created_at=now, password_changed_at=now)
    session.add(row)
    audit(session, actor, "user_created", email, now, f"role {role.value}, group {group or '-'}")
    session.flush()
    return row


def _existing(session: Session, email: str) -> UserRow:
    row = find_user(session, email)
    if row is None:
        raise LookupError(f"no user {email}")
    return row


def disable_user(session: Session, email: str, actor: str, now: datetime,
                 disabled: bool = True) -> UserRow:
    row = _existing(session, email)
    row.disabled = disabled
    if disabled:
        _end_sessions(session, row.id)
    audit(session, actor, "user_disabled" if disabled else "user_enabled", row.email, now)
    return row


def reset_password(session: Session, email: str, password: str, actor: str,
                   now: datetime) -> UserRow:
    row = _existing(session, email)
    row.password_hash = hash_password(password)
    row.password_changed_at = now
    _end_sessions(session, row.id)
    audit(session, actor, "password_reset", row.email, now)
    return row


def _end_sessions(session: Session, user_id: int) -> None:
    for found in session.scalars(select(WebSessionRow).where(WebSessionRow.user_id == user_id)):
        session.delete(found)


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.email)))


def _recent_failures(session: Session, column: InstrumentedAttribute[str], value: str,
                     since: datetime, besides: int) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttemptRow).where(
        column == value, LoginAttemptRow.at >= since, LoginAttemptRow.id != besides,
        LoginAttemptRow.succeeded.is_(False))) or 0


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    """The user signed in, or the refusal (`SignInRefused`) to report: the attempt counted
    either way (it is committed before the answer)."""

    user: UserView | None
    refusal: SignInRefused | None


def _record_attempt(transaction: UnitOfWork, email: str, client: str, now: datetime) -> int:
    with transaction() as session:
        attempt = LoginAttemptRow(email=email, client=client, at=now, succeeded=False)
        session.add(attempt)
        session.flush()
        return attempt.id


def sign_in(transaction: UnitOfWork, email: str, password: str, client: str,
            now: datetime) -> SignInOutcome:
    """The user when the password matches, the account is enabled and neither the account nor
    the client has failed too often lately; otherwise one refusal for all of these, so that
    the answer tells an attacker nothing.

    Every attempt is recorded as a failure and committed before the failures are counted
    (then marked succeeded when it is one): attempts sent at once each count the others, so a
    burst gets no more passwords checked than the limit. Counted in the attempt's own
    transaction instead, each would see only what was committed before it (PostgreSQL's read
    committed) and a burst of any size would pass the check together."""
    email = email.strip().lower()[:200]
    client = client[:64]
    attempt_id = _record_attempt(transaction, email, client, now)
    since = now - LOGIN_WINDOW
    with transaction() as session:
        limited = (_recent_failures(session, LoginAttemptRow.email, email, since, attempt_id)
                   >= MAX_FAILURES_PER_ACCOUNT
                   or _recent_failures(session, LoginAttemptRow.client, client, since,
                                       attempt_id) >= MAX_FAILURES_PER_CLIENT)
        user = find_user(session, email)
        matches = _password_matches(user.password_hash if user else _UNKNOWN_USER_HASH,
                                    password)
        if limited:
            return SignInOutcome(None, SignInRefused(
                "too many failed sign-ins; wait a few minutes and try again"))
        if not matches or user is None or user.disabled:
            return SignInOutcome(None, SignInRefused(
                "wrong email or password, or the account is disabled"))
        session.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == attempt_id)
                        .values(succeeded=True))
        audit(session, user.email, "signed_in", user.email, now)
        return SignInOutcome(_view(user), None)


def _view(user: UserRow) -> UserView:
    return UserView(user.id, user.email, user.name, Role(user.role), user.group_name,
                    user.locale)


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


def open_session(session: Session, user: UserRow | UserView, now: datetime) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    session.add(WebSessionRow(token_sha256=sha256(token), user_id=user.id, csrf_token=csrf,
                              created_at=now, expires_at=expires))
    return NewSession(token, csrf, expires)


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as a request sees it: plain values that outlive the transaction."""

    id: int
    email: str
    name: str
    role: Role
    group: str | None
    locale: str | None


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: UserView
    csrf_token: str
    session_id: int

    @property
    def actor(self) -> Actor:
        return Actor(self.user.name, self.user.email, self.user.role, self.user.group)


def current_session(session: Session, token: str, now: datetime) -> SignedIn | None:
    """The signed-in user of a session token: one query (session joined to user)."""
    found = session.execute(
        select(WebSessionRow, UserRow).join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.token_sha256 == sha256(token))).first()
    if found is None:
        return None
    web_session, user = found
    if user.disabled or _aware(web_session.expires_at) <= now:
        return None
    return SignedIn(_view(user), web_session.csrf_token, web_session.id)


def close_session(session: Session, token: str) -> None:
    for found in session.scalars(select(WebSessionRow).where(
            WebSessionRow.token_sha256 == sha256(token))):
        session.delete(found)


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; the gateway stores UTC."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class NewToken:
    row: ApiTokenRow
    token: str


def create_api_token(session: Session, name: str, scopes: list[Scope], actor: str,
                     now: datetime, suppliers: list[str] | None = None) -> NewToken:
    """`suppliers`: the supplier codes the token is bound to (kept among its scopes as
    `supplier:CODE`; gateway.domain.access.upload_supplier)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    bindings = [SUPPLIER_BINDING + code for code in suppliers or []]
    row = ApiTokenRow(name=name, prefix=token[:10], token_sha256=sha256(token),
                      scopes=sorted(scope.value for scope in scopes) + sorted(bindings),
                      created_by=actor,
                      created_at=now)
    session.add(row)
    audit(session, actor, "token_created", f"token:{name}", now, " ".join(row.scopes))
    session.flush()
    return NewToken(row, token)


def revoke_api_token(session: Session, token_id: int, actor: str, now: datetime) -> ApiTokenRow:
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise LookupError(f"no token #{token_id}")
    row.revoked_at = now
    audit(session, actor, "token_revoked", f"token:{row.name}", now)
    return row


def list_api_tokens(session: Session) -> list[ApiTokenRow]:
    return list(session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id)))


def token_actor(session: Session, token: str, now: datetime) -> Actor | None:
    row = session.scalars(select(ApiTokenRow).where(
        ApiTokenRow.token_sha256 == sha256(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    # Recorded at most once a minute: a write (and a row lock every concurrent request of the
    # same integration would queue on) per read request costs more than the read.
    if row.last_used_at is None or _aware(row.last_used_at) <= now - TOKEN_USE_GRANULARITY:
        row.last_used_at = now
    return Actor(row.name, None, None, None,
                 frozenset(Scope(s) for s in row.scopes if s in {v.value for v in Scope}),
                 frozenset(s.removeprefix(SUPPLIER_BINDING) for s in row.scopes
                           if s.startswith(SUPPLIER_BINDING)))
