"""The web view's logins: passwords (scrypt), browser sessions (a cookie) and their CSRF tokens.

A password is stored as ``scrypt$N$r$p$salt$hash`` (``hashlib.scrypt``, a 16-byte random salt).
Logging in creates a :class:`core.api.models.WebSession`: the browser's cookie holds 256 random
bits, the database their SHA-256 (as API tokens), with the session's CSRF token, which every form
of the web view carries back in a hidden field (:mod:`core.api.pages`). A session lasts
:data:`SESSION_HOURS`; logging out deletes it.

Guessing is throttled: failed logins are counted per login and per source address in windows of
:data:`FAILURE_WINDOW` seconds (:class:`core.api.models.WebLoginFailure`, shared by every worker).
A login with :data:`LOGIN_FAILURES` failures in the window, or an address with
:data:`ADDRESS_FAILURES` (one address trying many logins), is refused until the window ends,
without its password being looked at; a successful login clears its own count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from core.errors import CrmError, ValidationError

SESSION_HOURS = 12
SCRYPT = (2 ** 14, 8, 1)
MIN_LENGTH = 8
#: failed logins allowed per login, and per source address, in a window of FAILURE_WINDOW seconds
LOGIN_FAILURES, ADDRESS_FAILURES, FAILURE_WINDOW = 10, 50, 15 * 60


class TooManyFailures(CrmError):
    """Logging in refused for a while (HTTP 429): ``retry`` is the seconds until the window ends."""

    def __init__(self, retry: int):
        super().__init__(f"too many failed logins for this login or from this address: retry in {retry} seconds")
        self.retry = retry


def hash_password(password: str) -> str:
    n, r, p = SCRYPT
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    try:
        kind, n, r, p, salt, key = (stored or "").split("$")
        found = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(key) // 2)
    except ValueError:
        hashlib.scrypt(password.encode(), salt=b"0" * 16, n=SCRYPT[0], r=SCRYPT[1], p=SCRYPT[2], dklen=32)
        return False  # the same work for an unknown login as for a wrong password
    return kind == "scrypt" and hmac.compare_digest(found.hex(), key)


def set_password(app, session, login: str, password: str) -> None:
    """Set ``login``'s web password (one's own, or anyone's with ``core.users``); recorded in the trail."""
    from core.api.models import WebLogin, WebSession
    from core.audit import record
    from core.db import utcnow
    from core.security import acting_user, require
    from core.services.people import get_user

    require(app, session, "core.tokens")
    user = get_user(session, login)
    me = acting_user(app, session)
    if me is None or me.id != user.id:
        require(app, session, "core.users")
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"at least {MIN_LENGTH} characters", record=f"user {user.login}", field="password")
    row = session.get(WebLogin, user.id)
    if row is None:
        session.add(WebLogin(user_id=user.id, password_hash=hash_password(password), changed_at=utcnow()))
    else:
        row.password_hash, row.changed_at = hash_password(password), utcnow()
    session.query(WebSession).filter(WebSession.user_id == user.id).delete()  # its sessions end
    record(app, session, "password set", record_type="core_user", record_id=user.id, label=user.login)


def log_in(session, login: str, password: str, *, address: str | None, now: float | None = None) -> tuple[str, str]:
    """A new session for ``login`` if the password is right: ``(cookie, csrf)``; ``address``: the
    client's (as the server sees it, through ``--proxies``).

    :raises TooManyFailures: the login or the address failed too often in this window (module docstring)
    :raises Unauthenticated: the same words whether the login or the password is wrong (a failure counted)
    """
    from sqlalchemy import select

    from core.api.models import WebLogin, WebSession
    from core.api.tokens import Unauthenticated
    from core.db import utcnow
    from core.models import User

    name = (login or "").strip().lower()
    now = time.time() if now is None else now
    window = int(now) // FAILURE_WINDOW * FAILURE_WINDOW
    subjects = {f"login {name}"[:200]: LOGIN_FAILURES, f"address {address or 'unknown'}"[:200]: ADDRESS_FAILURES}
    counts = _failures(session, subjects, window)
    if any(counts.get(subject, 0) >= limit for subject, limit in subjects.items()):
        raise TooManyFailures(max(1, window + FAILURE_WINDOW - int(now)))
    row = session.execute(select(User.id, User.active, WebLogin.password_hash)
                          .join(WebLogin, WebLogin.user_id == User.id).where(User.login == name)).first()
    if not check_password(password or "", row.password_hash if row else None) or not row.active:
        _count_failure(session, subjects, window)
        raise Unauthenticated("wrong login or password")
    _clear_failures(session, next(iter(subjects)))
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.query(WebSession).filter(WebSession.user_id == row.id, WebSession.expires_at <= utcnow()).delete()
    session.add(WebSession(token_hash=_digest(cookie), user_id=row.id, csrf=csrf,
                           expires_at=utcnow() + dt.timedelta(hours=SESSION_HOURS)))
    return cookie, csrf


def log_out(session, cookie: str | None) -> None:
    from core.api.models import WebSession

    if cookie:
        session.query(WebSession).filter(WebSession.token_hash == _digest(cookie)).delete()


def actor_for_cookie(app, connection, cookie: str | None):
    """``(actor, csrf)`` of a browser's session cookie; :raises Unauthenticated: none, unknown or expired."""
    from types import SimpleNamespace

    from sqlalchemy import select

    from core.api.models import WebSession
    from core.api.tokens import Unauthenticated
    from core.db import utcnow
    from core.models import User
    from core.security import actor_of_user

    if not cookie:
        raise Unauthenticated("log in first")
    row = connection.execute(select(WebSession.csrf, WebSession.expires_at, User.id, User.login, User.role,
                                    User.active).join(User, User.id == WebSession.user_id)
                             .where(WebSession.token_hash == _digest(cookie))).first()
    if row is None or row.expires_at <= utcnow() or not row.active:
        raise Unauthenticated("your session ended: log in again")
    user = SimpleNamespace(id=row.id, login=row.login, role=row.role)
    return actor_of_user(app, connection, user), row.csrf


def _failures(session, subjects, window: int) -> dict[str, int]:
    from sqlalchemy import select

    from core.api.models import WebLoginFailure as F

    return dict(session.execute(select(F.subject, F.failures).where(F.subject.in_(list(subjects)),
                                                                    F.window_start == window)).all())


def _count_failure(session, subjects, window: int) -> None:
    from core.api.models import WebLoginFailure
    from core.dbutil import count_in_window

    count_in_window(session, WebLoginFailure.__table__, "failures", [{"subject": s} for s in subjects], window)


def _clear_failures(session, subject: str) -> None:
    from sqlalchemy import delete

    from core.api.models import WebLoginFailure as F

    session.execute(delete(F).where(F.subject == subject))


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()
