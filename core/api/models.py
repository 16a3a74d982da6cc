"""The API's tables: personal tokens and the responses kept for idempotency keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped


class ApiToken(Timestamped, Base):
    """A personal API token: only its SHA-256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "core_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: the first characters of the token, to recognise it in ``crm token list`` (not a secret)
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: space-separated rights the token is limited to (a subset of its user's); None: all of them
    rights: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class IdempotentResponse(Base):
    """The response to a POST sent with an ``Idempotency-Key``: a retry gets it back, nothing is created twice."""

    __tablename__ = "core_api_idempotency"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    __audited__ = False  # the writes it replays are in the trail already

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    #: ``POST /api/v1/orders`` and the SHA-256 of the body: the same key with another request is refused
    request: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column()


class WebLogin(Base):
    """A user's web view password: only its scrypt hash (``core.api.websessions``)."""

    __tablename__ = "core_web_login"
    __audited__ = False  # never a hash in the trail: setting a password is recorded by its service

    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    changed_at: Mapped[dt.datetime] = mapped_column()


class WebSession(Base):
    """A browser's session of the web view: the SHA-256 of its cookie, its user and its CSRF token."""

    __tablename__ = "core_web_session"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column()


class WebLoginFailure(Base):
    """Failed logins of the web view, counted per login and per source address in fixed windows
    (:mod:`core.api.websessions`): over the limit, logging in is refused until the window ends."""

    __tablename__ = "core_web_login_failure"
    __audited__ = False  # a guess at a password is not a change of the books

    #: ``login <name>`` or ``address <ip>``
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: the window's start, in seconds since the epoch (a multiple of its length)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer)
