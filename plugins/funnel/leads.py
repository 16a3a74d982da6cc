"""Leads: entry, duplicates, qualification, conversion into a deal, merge.

State machine (one place, one function per transition)::

    new --qualify--> qualified
    new|qualified --disqualify(reason)--> disqualified
    new|qualified --convert--> converted      (creates or links the partner, creates the deal)
    new|qualified|disqualified --merge into another--> merged
    disqualified --requalify--> qualified
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, or_, select

from core.errors import NotFound, StateError, ValidationError
from core.models import Contact, Partner
from core.schemas import load
from core.services.people import get_team, get_user
from plugins.funnel.models import Activity, Lead, LeadEvent, Opportunity
from plugins.funnel.schemas import LeadSchema

TRANSITIONS = {
    "qualify": ("new", "disqualified"),
    "disqualify": ("new", "qualified"),
    "convert": ("new", "qualified"),
    "merge": ("new", "qualified", "disqualified"),
}
EDITABLE = ("name", "company", "email", "phone", "source", "campaign", "notes")
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Case-, accent- and space-insensitive form of a name ("  Café  Dupont " -> "cafe dupont")."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text.casefold()).strip()


def email_key(email: str | None) -> str | None:
    """The normalised e-mail a duplicate is matched on (trimmed, lower-case)."""
    return email.strip().lower() if email and email.strip() else None


def company_key(company: str | None, name: str | None) -> str | None:
    """``company|name`` folded, or None without a company (a name alone matches too many people)."""
    if not company or not fold(company):
        return None
    return f"{fold(company)}|{fold(name)}"[:402]


def _move(lead: Lead, action: str) -> None:
    if lead.state not in TRANSITIONS[action]:
        raise StateError(f"lead {lead.id}: cannot {action} a lead that is {lead.state} "
                         f"(only from {' or '.join(TRANSITIONS[action])})")


def record_event(app, session, lead: Lead, action: str, detail: str | None = None, user=None) -> None:
    session.add(LeadEvent(lead_id=lead.id, action=action, detail=detail, happened_on=app.today,
                          user_id=user.id if user is not None else None))


def find_duplicate(session, email: str | None, company: str | None, name: str | None,
                   *, exclude: int | None = None) -> tuple[int | None, int | None]:
    """``(lead id, partner id)`` of the first lead and partner with the same normalised e-mail, or
    the same company and name (a partner named like the company with a contact of that name)."""
    ekey, ckey = email_key(email), company_key(company, name)
    lead_id = partner_id = None
    conditions = []
    if ekey:
        conditions.append(Lead.email_key == ekey)
    if ckey:
        conditions.append(Lead.company_key == ckey)
    if conditions:
        query = select(func.min(Lead.id)).where(or_(*conditions), Lead.state != "merged")
        if exclude is not None:
            query = query.where(Lead.id != exclude)
        lead_id = session.execute(query).scalar()
    if ekey:
        partner_id = session.execute(select(func.min(Partner.id)).where(func.lower(Partner.email) == ekey)).scalar()
        if partner_id is None:
            partner_id = session.execute(select(func.min(Contact.partner_id)).where(
                func.lower(Contact.email) == ekey)).scalar()
    if partner_id is None and company and fold(company):
        rows = session.execute(select(Partner.id, Partner.name, Contact.name).join(
            Contact, Contact.partner_id == Partner.id).where(
            func.lower(Partner.name) == company.strip().lower())).all()
        partner_id = next((pid for pid, _, contact in rows if fold(contact) == fold(name)), None)
    return lead_id, partner_id


def resolve_people(session, data: dict) -> dict:
    """Owner and team logins/names -> ids (unknown ones are errors naming the field)."""
    ids = {}
    if data.get("owner"):
        ids["owner_id"] = get_user(session, data["owner"]).id
    if data.get("team"):
        ids["team_id"] = get_team(session, data["team"]).id
    return ids


def create_lead(app, session, raw: dict, *, user=None, record: str | None = None, validated: bool = False) -> Lead:
    """Validate and create a lead, flagging it if it duplicates a lead or a partner."""
    record = record or f"lead {str(raw.get('name', '')).strip()!r}"
    data = raw if validated else load(LeadSchema(), raw, record)
    try:
        people = resolve_people(session, data)
    except NotFound as exc:
        raise ValidationError(str(exc).split(": ", 1)[-1], record=record,
                              field="owner" if "user" in str(exc) else "team") from None
    lead = Lead(**{k: data.get(k) for k in EDITABLE}, **people, created_on=data.get("created_on") or app.today,
                email_key=email_key(data.get("email")), company_key=company_key(data.get("company"), data["name"]))
    lead.duplicate_of_id, lead.duplicate_partner_id = find_duplicate(session, data.get("email"),
                                                                     data.get("company"), data["name"])
    session.add(lead)
    session.flush()
    record_event(app, session, lead, "created", user=user)
    return lead


def update_lead(app, session, lead: Lead, raw: dict, *, user=None, record: str | None = None) -> dict:
    """Change the given fields (validated with the whole lead); the match keys follow."""
    record = record or f"lead {lead.id}"
    current = {k: getattr(lead, k) for k in EDITABLE if getattr(lead, k) is not None}
    data = load(LeadSchema(), {**current, **{k: v for k, v in raw.items() if k not in ("owner", "team")}}, record)
    changes = {}
    for field in EDITABLE:
        if field in raw and getattr(lead, field) != data.get(field):
            changes[field] = (getattr(lead, field), data.get(field))
            setattr(lead, field, data.get(field))
    for field, attr, getter in (("owner", "owner_id", get_user), ("team", "team_id", get_team)):
        if raw.get(field):
            new = getter(session, raw[field]).id
            if getattr(lead, attr) != new:
                changes[field] = (getattr(lead, attr), new)
                setattr(lead, attr, new)
    if changes:
        lead.email_key = email_key(lead.email)
        lead.company_key = company_key(lead.company, lead.name)
        lead.duplicate_of_id, lead.duplicate_partner_id = find_duplicate(session, lead.email, lead.company,
                                                                         lead.name, exclude=lead.id)
        if lead.duplicate_of_id and lead.duplicate_of_id > lead.id:
            lead.duplicate_of_id = None  # the older record is the original, not this one
        session.flush()
        record_event(app, session, lead, "edited", ", ".join(sorted(changes)), user=user)
    return changes


def get_lead(session, ref) -> Lead:
    text = str(ref).strip()
    lead = session.get(Lead, int(text)) if text.isdigit() else None
    if lead is None:
        raise NotFound(f"lead {text}: no such lead")
    return lead


def qualify(app, session, lead: Lead, *, user=None) -> Lead:
    _move(lead, "qualify")
    lead.state = "qualified"
    lead.disqualify_reason = None
    record_event(app, session, lead, "qualified", user=user)
    session.flush()
    return lead


def disqualify(app, session, lead: Lead, reason: str, *, user=None) -> Lead:
    _move(lead, "disqualify")
    if not reason or not reason.strip():
        raise ValidationError("a reason is required to disqualify a lead", record=f"lead {lead.id}", field="reason")
    lead.state = "disqualified"
    lead.disqualify_reason = reason.strip()
    record_event(app, session, lead, "disqualified", reason.strip(), user=user)
    session.flush()
    return lead


def convert(app, session, lead: Lead, *, partner_ref=None, create_partner_always: bool = False, user=None,
            deal: dict | None = None) -> Opportunity:
    """Lead -> deal, in the caller's one transaction: link or create the customer (and contact), then the deal.

    The partner is ``partner_ref`` if given, else the partner the lead duplicates, else a new one
    (a company with the lead as its contact, or a person).
    """
    from core.services.partners import create_partner, get_partner
    from plugins.funnel.deals import create_deal

    _move(lead, "convert")
    record = f"lead {lead.id}"
    if partner_ref is not None:
        partner = get_partner(session, partner_ref)
    elif lead.duplicate_partner_id and not create_partner_always:
        partner = session.get(Partner, lead.duplicate_partner_id)
    else:
        partner = create_partner(app, session, {
            "name": lead.company or lead.name, "kind": "company" if lead.company else "person",
            "email": lead.email, "phone": lead.phone,
            "salesperson": lead.owner.login if lead.owner else None}, record=record, allow_duplicate=True)
    contact = None
    if lead.company:
        contact = next((c for c in partner.contacts if fold(c.name) == fold(lead.name)), None)
        if contact is None:
            contact = Contact(partner=partner, name=lead.name, email=lead.email, phone=lead.phone)
            session.add(contact)
            session.flush()
    values = {"name": lead.company or lead.name, "customer": str(partner.id),
              "owner": lead.owner.login if lead.owner else None, "team": lead.team.name if lead.team else None,
              **(deal or {})}
    values.setdefault("expected_close", None)
    opportunity = create_deal(app, session, values, user=user, record=record, lead=lead,
                              contact_id=contact.id if contact else None)
    lead.state = "converted"
    lead.partner_id = partner.id
    record_event(app, session, lead, "converted", f"deal {opportunity.id}, partner {partner.id}", user=user)
    session.flush()
    return opportunity


def merge(app, session, keep: Lead, other: Lead, *, user=None) -> Lead:
    """Merge ``other`` into ``keep``: empty fields of ``keep`` are filled, activities and history move,
    ``other`` stays as a ``merged`` record pointing at ``keep`` (nothing is deleted)."""
    if keep.id == other.id:
        raise ValidationError("cannot merge a lead into itself", record=f"lead {keep.id}")
    _move(other, "merge")
    if keep.state == "merged":
        raise StateError(f"lead {keep.id}: cannot merge into a lead that is {keep.state}")
    filled = []
    for field in (*EDITABLE, "owner_id", "team_id"):
        if getattr(keep, field) in (None, "") and getattr(other, field) not in (None, ""):
            setattr(keep, field, getattr(other, field))
            filled.append(field)
    if other.notes and keep.notes and other.notes not in keep.notes:
        keep.notes = f"{keep.notes}\n{other.notes}"
    keep.email_key = email_key(keep.email)
    keep.company_key = company_key(keep.company, keep.name)
    for activity in session.scalars(select(Activity).where(Activity.lead_id == other.id)):
        activity.lead_id = keep.id
    for event in session.scalars(select(LeadEvent).where(LeadEvent.lead_id == other.id)):
        event.lead_id = keep.id
        event.detail = f"[from lead {other.id}] {event.detail or ''}".strip()
    for dup in session.scalars(select(Lead).where(Lead.duplicate_of_id == other.id, Lead.id != keep.id)):
        dup.duplicate_of_id = keep.id
    if keep.duplicate_of_id == other.id:
        keep.duplicate_of_id = None
    other.state = "merged"
    other.merged_into_id = keep.id
    session.flush()
    record_event(app, session, keep, "merged", f"lead {other.id} merged in"
                 + (f" (filled {', '.join(filled)})" if filled else ""), user=user)
    record_event(app, session, other, "merged", f"merged into lead {keep.id}", user=user)
    session.flush()
    return keep


def list_leads(session, *, state: str | None = None, owner=None, duplicates: bool = False, search: str | None = None,
               limit: int | None = 200):
    query = select(Lead).order_by(Lead.id)
    if state:
        query = query.where(Lead.state == state)
    elif not duplicates:
        query = query.where(Lead.state != "merged")
    if owner is not None:
        query = query.where(Lead.owner_id == owner.id)
    if duplicates:
        query = query.where(or_(Lead.duplicate_of_id.is_not(None), Lead.duplicate_partner_id.is_not(None)),
                            Lead.state.not_in(("merged", "converted")))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Lead.name).like(pattern), func.lower(Lead.company).like(pattern),
                                Lead.email_key.like(pattern)))
    if limit:
        query = query.limit(limit)
    return session.scalars(query).all()


def lead_dict(session, lead: Lead, *, history: bool = False) -> dict:
    result = {
        "id": lead.id, "name": lead.name, "company": lead.company, "email": lead.email, "phone": lead.phone,
        "source": lead.source, "campaign": lead.campaign, "owner": lead.owner.login if lead.owner else None,
        "team": lead.team.name if lead.team else None, "notes": lead.notes, "state": lead.state,
        "disqualify_reason": lead.disqualify_reason, "duplicate_of": lead.duplicate_of_id,
        "duplicate_partner": lead.duplicate_partner_id, "partner": lead.partner_id,
        "merged_into": lead.merged_into_id, "created_on": lead.created_on.isoformat(),
    }
    if history:
        events = session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id))
        result["history"] = [{"on": e.happened_on.isoformat(), "action": e.action, "detail": e.detail,
                              "user": e.user.login if e.user else None} for e in events]
        result["deals"] = list(session.scalars(select(Opportunity.id).where(Opportunity.lead_id == lead.id)))
    return result
