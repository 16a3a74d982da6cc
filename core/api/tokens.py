"""Personal API tokens: created for a user (shown once), stored hashed, limited, expiring, revocable.

A request's ``Authorization: Bearer <token>`` is looked up by its SHA-256 (a token is 256 random
bits, so a plain hash is enough, and the lookup is one indexed read); the request then acts as
the token's user, with that user's roles and record rules, and only the token's rights when it
lists some (:func:`actor_for_token`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from core.errors import ValidationError
from core.security import PermissionDenied

PREFIX = "crm_"
DEFAULT_DAYS = 90
#: how long a server process keeps what a user's roles and teams allow (a change reaches the API within it)
ROLES_SECONDS = 5
MAX_DAYS = 366


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(app, session, *, name: str, login: str | None = None, rights: list[str] | None = None,
                 days: int = DEFAULT_DAYS) -> tuple[object, str]:
    """A new token for ``login`` (default: the acting user): returns the row and the token, shown once.

    Creating one for someone else needs ``core.users``; ``rights`` must be rights the user holds.
    """
    from core.api.models import ApiToken
    from core.db import utcnow
    from core.security import acting_user, permissions, require

    actor = require(app, session, "core.tokens")
    if login and login.strip().lower() != actor.login:
        require(app, session, "core.users")
        from core.services.people import get_user

        user = get_user(session, login)
    else:
        user = acting_user(app, session)
    if user is None:
        raise ValidationError("the system user has no API tokens: create one for a user", field="--user")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("a name of 1 to 100 characters is required", field="name")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"{days} days: a token lives from 1 to {MAX_DAYS} days", field="--days")
    chosen = None
    if rights:
        known = permissions(app)
        holder = _user_actor(app, session.connection(), user.id)
        for right in rights:
            if right not in known:
                raise ValidationError(f"unknown right {right!r} (see `crm role matrix`)", field="--right")
            if not holder.can(right):
                raise ValidationError(f"{user.login} does not hold {right}: a token cannot give more than its user has",
                                      field="--right")
        chosen = " ".join(sorted(set(rights)))
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:12], token_hash=digest(token), rights=chosen,
                   expires_at=utcnow() + dt.timedelta(days=days))
    session.add(row)
    session.flush()
    return row, token


def list_tokens(app, session, *, login: str | None = None, everyone: bool = False) -> list[dict]:
    """The acting user's tokens (``login``'s or everyone's with ``core.users``), newest first."""
    from sqlalchemy import select

    from core.api.models import ApiToken
    from core.models import User
    from core.security import require

    actor = require(app, session, "core.tokens")
    query = select(ApiToken, User.login).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if everyone or (login and login.strip().lower() != actor.login):
        require(app, session, "core.users")
        if login:
            query = query.where(User.login == login.strip().lower())
    else:
        query = query.where(User.id == actor.user_id)
    return [token_dict(row, user) for row, user in session.execute(query)]


def revoke_token(app, session, token_id: int):
    """Revoke a token at once (one's own; anyone's with ``core.users``)."""
    from core.api.models import ApiToken
    from core.db import utcnow
    from core.errors import NotFound, StateError
    from core.security import require

    actor = require(app, session, "core.tokens")
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user_id and not actor.can("core.users")):
        raise NotFound(f"token {token_id}: no such token of yours (see `crm token list`)")
    if row.revoked_at is not None:
        raise StateError(f"token {token_id} is already revoked")
    row.revoked_at = utcnow()
    session.flush()
    return row


def token_dict(row, login: str) -> dict:
    from core.db import utcnow

    state = "revoked" if row.revoked_at else ("expired" if row.expires_at <= utcnow() else "active")
    return {"id": row.id, "name": row.name, "user": login, "prefix": row.prefix,
            "rights": row.rights.split() if row.rights else None, "created_at": row.created_at.isoformat(),
            "expires_at": row.expires_at.isoformat(), "state": state}


class Unauthenticated(PermissionDenied):
    """No token, or one that is unknown, expired or revoked (HTTP 401)."""


def actor_for_token(app, connection, token: str | None):
    """The actor a request's bearer token stands for, read on ``connection`` (before any session).

    The token and its user are read on every request (a revoked or expired token, a deactivated
    user are refused at once); the roles, rights and teams derived from the user are kept for
    :data:`ROLES_SECONDS` per server process, so a role or team change reaches the API within that.

    :raises Unauthenticated: no token, an unknown, expired or revoked one, or an inactive user
    """
    import time
    from dataclasses import replace

    from sqlalchemy import select

    from core.api.models import ApiToken
    from core.db import utcnow
    from core.models import User

    if not token:
        raise Unauthenticated("an API token is required: send `Authorization: Bearer <token>` "
                              "(create one with `crm token create`)")
    row = connection.execute(
        select(ApiToken.id, ApiToken.rights, ApiToken.expires_at, ApiToken.revoked_at, User.id.label("user_id"),
               User.login, User.role, User.active)
        .join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("this API token is unknown or revoked")
    if row.expires_at <= utcnow():
        raise Unauthenticated(f"this API token expired on {row.expires_at.isoformat()} UTC: create a new one")
    if not row.active:
        raise Unauthenticated("the user of this API token is no longer active")
    known = app.__dict__.setdefault("_api_actors", {})
    cached = known.get(row.user_id)
    if cached is None or cached[0] < time.monotonic():
        from core.security import actor_of_user

        from types import SimpleNamespace

        user = SimpleNamespace(id=row.user_id, login=row.login, role=row.role)
        cached = (time.monotonic() + ROLES_SECONDS, actor_of_user(app, connection, user))
        known[row.user_id] = cached
    actor = cached[1]
    extra = {"token_id": row.id}
    if row.rights is not None:  # a limited token: only these rights, and no admin's blanket pass
        limited = frozenset(row.rights.split())
        held = frozenset(r for r in limited if actor.can(r))
        return replace(actor, rights=held, roles=actor.roles - {"admin"}, extra=extra)
    return replace(actor, extra=extra)


def _user_actor(app, connection, user_id: int):
    from sqlalchemy import select

    from core.models import User
    from core.security import actor_of_user

    row = connection.execute(select(User.id, User.login, User.role, User.active).where(User.id == user_id)).first()
    if row is None or not row.active:
        raise ValidationError("this user is not active", field="--user")
    return actor_of_user(app, connection, row)
