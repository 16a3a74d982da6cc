"""Lead capture from websites: a configured form's posts become leads, owned and notified.

A form is configured in ``crm.toml`` (``[funnel.forms.NAME]``, see :mod:`plugins.funnel.settings`)
and posts, without a token, to ``/api/v1/forms/KEY`` (:mod:`plugins.funnel.api_capture`). A post
is refused, in this order, when the key is unknown (404), its page's origin is not one of the
form's ``origins`` (403), its source address posted more than ``rate_limit`` times in the current
``rate_window`` (429, with the seconds left), the body or a field is too large (413), or the
honeypot field is filled (422: a person never sees that field). Otherwise the lead is created by the
funnel's own :func:`plugins.funnel.leads.create_lead` (so it is flagged when it duplicates a lead or
a partner) and its owner (or team) is told through the outbox.

The posts are counted per (form, address, window) in ``funnel_capture_hit``: in the database, so
that every server worker counts the same posts; a refused post counts too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from core.errors import NotFound, ValidationError
from core.security import Actor
from plugins.funnel.models import CaptureHit, Lead

__all__ = ["Form", "Refused", "capture", "count_post", "find_form", "form_rows", "list_forms"]


@dataclass(frozen=True)
class Form:
    """One ``[funnel.forms.NAME]`` with its defaults."""

    name: str
    key: str
    owner: str | None
    team: str | None
    source: str
    campaign: str | None
    origins: tuple
    mapping: dict
    honeypot: str
    rate_limit: int
    rate_window: int
    max_body: int
    max_field: int
    redirect: str | None

    @property
    def actor(self) -> Actor:
        """Who a post acts as: the form itself, which may only add leads (and sees every lead, to find duplicates)."""
        return Actor(login=f"form:{self.name}", user_id=None, roles=frozenset(),
                     rights=frozenset({"funnel.lead.write"}), scope="all")

    def as_dict(self) -> dict:
        return {"name": self.name, "key": self.key, "owner": self.owner, "team": self.team, "source": self.source,
                "campaign": self.campaign, "origins": list(self.origins), "fields": self.mapping,
                "honeypot": self.honeypot, "rate_limit": self.rate_limit, "rate_window": self.rate_window,
                "max_body": self.max_body, "max_field": self.max_field, "redirect": self.redirect}


class Refused(Exception):
    """A post refused before any lead is written: the HTTP status, the one-line reason, extra headers."""

    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.headers = headers or {}


def list_forms(app) -> list[Form]:
    """The configured forms, by name."""
    forms = app.config.section("funnel").get("forms") or {}
    return [Form(name=name, key=f["key"], owner=f.get("owner"), team=f.get("team"),
                 source=f.get("source") or f"web form {name}", campaign=f.get("campaign"),
                 origins=tuple(f.get("origins") or ()), mapping=dict(f.get("mapping") or {}),
                 honeypot=f.get("honeypot") or "hp", rate_limit=f.get("rate_limit", 5),
                 rate_window=f.get("rate_window", 3600), max_body=f.get("max_body", 16384),
                 max_field=f.get("max_field", 2000), redirect=f.get("redirect"))
            for name, f in sorted(forms.items())]


def form_rows(app, session) -> list[dict]:
    """``crm form list``: each form with its URL path and its ``problems`` (an unknown owner or team)."""
    from core.models import Team, User

    rows = []
    for form in list_forms(app):
        problems = []
        if form.owner and session.scalars(select(User.id).where(User.login == form.owner.lower())).first() is None:
            problems.append(f"owner {form.owner}: no such user")
        if form.team and session.scalars(select(Team.id).where(Team.name == form.team)).first() is None:
            problems.append(f"team {form.team}: no such team")
        rows.append(form.as_dict() | {"url": f"/api/v1/forms/{form.key}", "problems": problems})
    return rows


def find_form(app, key: str) -> Form:
    """The form of ``key``; an unknown key is not found (404), whatever it looks like."""
    for form in list_forms(app):
        if form.key == key:
            return form
    raise NotFound("no such form")


def check_origin(form: Form, origin: str | None) -> None:
    """A browser's post names its page's origin: it must be one of the form's (when it lists some)."""
    if form.origins and origin is not None and origin not in form.origins:
        raise Refused(403, f"form {form.name}: origin {origin} may not post to it")


def count_post(session, form: Form, address: str, *, now: float | None = None) -> None:
    """Count one post from ``address`` (:func:`core.dbutil.count_in_window`, concurrent posts each
    counted once); :raises Refused: 429 once it is over the form's limit."""
    from core.dbutil import count_in_window

    now = time.time() if now is None else now
    window = int(now) // form.rate_window * form.rate_window
    address = (address or "unknown")[:64]
    # the form's windows are its own length: only its own earlier windows are forgotten
    hits, = count_in_window(session, CaptureHit.__table__, "hits", [{"form": form.name, "address": address}], window,
                            scope={"form": form.name})
    if hits > form.rate_limit:
        retry = max(1, window + form.rate_window - int(now))
        raise Refused(429, f"form {form.name}: more than {form.rate_limit} posts from {address} in "
                           f"{form.rate_window} seconds; retry in {retry} seconds", {"Retry-After": str(retry)})


def lead_values(form: Form, posted: dict) -> dict:
    """The lead's fields from the posted ones (``fields`` maps a lead field to the form's field name).

    :raises Refused: 413 for a field longer than ``max_field``, 422 when the honeypot is filled.
    """
    for name, value in posted.items():
        if not isinstance(value, str):
            raise ValidationError("must be text", record=f"form {form.name}", field=str(name)[:100])
        if len(value) > form.max_field:
            raise Refused(413, f"form {form.name}: field {str(name)[:100]} is longer than {form.max_field} characters")
    if posted.get(form.honeypot, "").strip():
        raise Refused(422, f"form {form.name}: refused as spam")
    values = {}
    for field in ("name", "company", "email", "phone", "siren", "website", "notes", "campaign"):
        text = posted.get(form.mapping.get(field, field), "").strip()
        if text:
            values[field] = text
    values.setdefault("campaign", form.campaign)
    values = {k: v for k, v in values.items() if v is not None}
    values.update(source=form.source, owner=form.owner, team=form.team)
    return {k: v for k, v in values.items() if v is not None}


def capture(app, session, form: Form, posted: dict) -> Lead:
    """Create the lead of one accepted post (flagged if a duplicate) and tell its owner or team."""
    from plugins.funnel.leads import create_lead

    lead = create_lead(app, session, lead_values(form, posted), record=f"form {form.name}")
    _notify(app, session, form, lead)
    return lead


def _notify(app, session, form: Form, lead: Lead) -> None:
    from core.outbox import notify, resolve_recipients

    specs = [f"user:{form.owner}"] if form.owner else [f"team:{form.team}"] if form.team else []
    recipients = resolve_recipients(session, specs) if specs else []
    if not recipients:
        return
    lines = [f"{label}: {value}" for label, value in (("Name", lead.name), ("Company", lead.company),
                                                        ("E-mail", lead.email), ("Phone", lead.phone),
                                                        ("Message", lead.notes)) if value]
    if lead.duplicate_of_id or lead.duplicate_partner_id:
        lines.append(f"Possible duplicate ({lead.duplicate_keys}) of "
                     + (f"lead {lead.duplicate_of_id}" if lead.duplicate_of_id
                        else f"partner {lead.duplicate_partner_id}")
                     + ": see `crm lead list --duplicates`.")
    notify(app, session, recipients=recipients, subject=f"New lead from the web form {form.name}: {lead.name}",
           text="\n".join(lines) + f"\n\nSee it with `crm lead show {lead.id}`.\n",
           related=f"funnel_lead:{lead.id}", dedup_key=f"funnel:capture:{lead.id}")
