"""Leads: entry, duplicates, qualification, conversion into a deal, merge.

State machine (one place, one function per transition)::

    new --qualify--> qualified
    new|qualified --disqualify(reason)--> disqualified
    new|qualified --convert--> converted      (creates or links the partner, creates the deal)
    new|qualified|disqualified --merge into another--> merged
    disqualified --requalify--> qualified
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from core.errors import NotFound, StateError, ValidationError
from core.models import Contact, Partner
from core.recordrules import every_record
from core.security import require
from core.services.people import get_team, get_user
from plugins.funnel.matching import company_key, email_domain, email_key, fold, lead_keys, matched_keys, phone_key
from plugins.funnel.models_leads import Lead, LeadEvent

if TYPE_CHECKING:
    from plugins.funnel.models_deals import Opportunity

TRANSITIONS = {
    "qualify": ("new", "disqualified"),
    "disqualify": ("new", "qualified"),
    "convert": ("new", "qualified"),
    "merge": ("new", "qualified", "disqualified"),
}
EDITABLE = ("name", "company", "email", "phone", "siren", "website", "source", "campaign", "notes")
MATCHED_FIELDS = ("name", "company", "email", "phone", "siren", "website")
__all__ = ["company_key", "email_key", "fold"]   # the match keys, re-exported where they were first defined


def _move(lead: Lead, action: str) -> None:
    if lead.state not in TRANSITIONS[action]:
        raise StateError(f"lead {lead.id}: cannot {action} a lead that is {lead.state} "
                         f"(only from {' or '.join(TRANSITIONS[action])})")


def record_event(app, session, lead: Lead, action: str, detail: str | None = None, user=None) -> None:
    session.add(LeadEvent(lead_id=lead.id, action=action, detail=detail, happened_on=app.today,
                          user_id=user.id if user is not None else None))


LEAD_KEY_COLUMNS = {"email": Lead.email_key, "phone": Lead.phone_key, "siren": Lead.siren,
                    "company_name": Lead.company_key, "domain": Lead.domain_key}


def set_keys(lead: Lead) -> None:
    """Recompute the lead's stored match keys from its fields."""
    keys = lead_keys(**{f: getattr(lead, f) for f in MATCHED_FIELDS})
    lead.email_key, lead.phone_key = keys["email"], keys["phone"]
    lead.company_key, lead.domain_key = keys["company_name"], keys["domain"]


def find_duplicate(session, values: dict, *, older_than: int | None = None) -> tuple[int | None, int | None, str | None]:
    """``(lead id, partner id, matched keys)`` for a lead with ``values`` (name, company, e-mail, phone,
    SIREN, website): the oldest lead (not merged; older than ``older_than`` if given) and the first
    partner sharing one of its match keys, and which keys matched (``"email,domain"``)."""
    keys = lead_keys(**{f: values.get(f) for f in MATCHED_FIELDS})
    matches: dict = {}
    lead_id = None
    for key, column in LEAD_KEY_COLUMNS.items():
        if not keys[key]:
            continue
        query = select(func.min(Lead.id)).where(column == keys[key], Lead.state != "merged")
        if older_than is not None:
            query = query.where(Lead.id < older_than)
        with every_record(session):  # a colleague's lead is the same person all the same
            found = session.execute(query).scalar()
        if found is not None:
            matches[key] = True
            lead_id = found if lead_id is None else min(lead_id, found)
    partner_id = None
    for key in ("email", "phone", "siren", "company_name", "domain"):
        if keys[key]:
            with every_record(session):  # another salesperson's customer is the same company all the same
                found = PARTNER_MATCHERS[key](session, keys[key], values)
            if found is not None:
                matches[key] = True
                partner_id = found if partner_id is None else partner_id
    return lead_id, partner_id, matched_keys(keys, matches)


def _partner_by_email(session, key, values):
    found = session.execute(select(func.min(Partner.id)).where(func.lower(Partner.email) == key)).scalar()
    if found is None:
        found = session.execute(select(func.min(Contact.partner_id)).where(func.lower(Contact.email) == key)).scalar()
    return found


def _digits(column):
    """The column without the usual phone separators (SQL), to narrow the candidates before the exact key."""
    for separator in (" ", ".", "-", "(", ")", "/", "+"):
        column = func.replace(column, separator, "")
    return column


def _partner_by_phone(session, key, values):
    tail = f"%{key[-8:]}"
    rows = session.execute(select(Partner.id, Partner.phone).where(_digits(Partner.phone).like(tail)).union_all(
        select(Contact.partner_id, Contact.phone).where(_digits(Contact.phone).like(tail)))).all()
    return min((pid for pid, phone in rows if phone_key(phone) == key), default=None)


def _partner_by_siren(session, key, values):
    return session.execute(select(func.min(Partner.id)).where(Partner.siren == key)).scalar()


def _partner_by_company_name(session, key, values):
    company, name = values.get("company"), values.get("name")
    rows = session.execute(select(Partner.id, Contact.name).join(Contact, Contact.partner_id == Partner.id).where(
        func.lower(Partner.name) == company.strip().lower()).order_by(Partner.id)).all()
    return next((pid for pid, contact in rows if fold(contact) == fold(name)), None)


def _partner_by_domain(session, key, values):
    pattern = f"%@{key}"
    rows = session.execute(select(Partner.id, Partner.email).where(func.lower(Partner.email).like(pattern)).union_all(
        select(Contact.partner_id, Contact.email).where(func.lower(Contact.email).like(pattern)))).all()
    return min((pid for pid, email in rows if email_domain(email) == key), default=None)


PARTNER_MATCHERS = {"email": _partner_by_email, "phone": _partner_by_phone, "siren": _partner_by_siren,
                    "company_name": _partner_by_company_name, "domain": _partner_by_domain}


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
    from core.schemas import load
    from plugins.funnel.schemas import LeadSchema

    require(app, session, "funnel.lead.write")
    record = record or f"lead {str(raw.get('name', '')).strip()!r}"
    data = raw if validated else load(LeadSchema(), raw, record)
    try:
        people = resolve_people(session, data)
    except NotFound as exc:
        raise ValidationError(str(exc).split(": ", 1)[-1], record=record,
                              field="owner" if "user" in str(exc) else "team") from None
    lead = Lead(**{k: data.get(k) for k in EDITABLE}, **people, created_on=data.get("created_on") or app.today)
    set_keys(lead)
    lead.duplicate_of_id, lead.duplicate_partner_id, lead.duplicate_keys = find_duplicate(session, data)
    session.add(lead)
    session.flush()
    record_event(app, session, lead, "created", user=user)
    return lead


def update_lead(app, session, lead: Lead, raw: dict, *, user=None, record: str | None = None) -> dict:
    """Change the given fields (validated with the whole lead); the match keys follow."""
    from core.schemas import load
    from plugins.funnel.schemas import LeadSchema

    require(app, session, "funnel.lead.write")
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
        set_keys(lead)
        # only an older record can be the original of this one
        lead.duplicate_of_id, lead.duplicate_partner_id, lead.duplicate_keys = find_duplicate(
            session, {f: getattr(lead, f) for f in MATCHED_FIELDS}, older_than=lead.id)
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
    require(app, session, "funnel.lead.write")
    _move(lead, "qualify")
    lead.state = "qualified"
    lead.disqualify_reason = None
    record_event(app, session, lead, "qualified", user=user)
    session.flush()
    return lead


def disqualify(app, session, lead: Lead, reason: str, *, user=None) -> Lead:
    require(app, session, "funnel.lead.write")
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
    require(app, session, "funnel.lead.write")
    from core.services.partners import create_partner, get_partner
    from plugins.funnel.deals import create_deal

    _move(lead, "convert")
    record = f"lead {lead.id}"
    if partner_ref is not None:
        partner = get_partner(session, partner_ref)
    elif lead.duplicate_partner_id and not create_partner_always:
        partner = session.get(Partner, lead.duplicate_partner_id)
        if partner is None:  # the record rules hide it: another salesperson's customer
            from core.security import PermissionDenied

            raise PermissionDenied(
                f"lead {lead.id}: its company is already partner {lead.duplicate_partner_id}, a customer of another "
                f"salesperson: their manager converts the lead or hands you the customer (crm partner edit "
                f"{lead.duplicate_partner_id} --salesperson LOGIN)")
    else:
        partner = create_partner(app, session, {
            "name": lead.company or lead.name, "kind": "company" if lead.company else "person",
            "email": lead.email, "phone": lead.phone, "siren": lead.siren,
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
    from plugins.funnel.models import Activity

    require(app, session, "funnel.lead.write")
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
    set_keys(keep)
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
    """The leads matching the filters, oldest first, each with its owner and team (read in the same statement)."""
    query = leads_query(state=state, owner=owner, duplicates=duplicates, search=search)
    return load_leads(session, query.limit(limit) if limit else query)


def load_leads(session, query) -> list[Lead]:
    """The leads of ``query`` with their owner and team, in one statement (the API reads a page of
    :func:`leads_query` with it)."""
    from sqlalchemy.orm import joinedload

    return session.scalars(query.options(joinedload(Lead.owner), joinedload(Lead.team))).all()


def leads_query(*, state: str | None = None, owner=None, duplicates: bool = False, search: str | None = None):
    """The ``Select`` of :func:`list_leads` (the API reads it a page at a time)."""
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
    return query


def lead_dict(session, lead: Lead, *, history: bool = False) -> dict:
    result = {
        "id": lead.id, "name": lead.name, "company": lead.company, "email": lead.email, "phone": lead.phone,
        "source": lead.source, "campaign": lead.campaign, "owner": lead.owner.login if lead.owner else None,
        "team": lead.team.name if lead.team else None, "notes": lead.notes, "state": lead.state,
        "siren": lead.siren, "website": lead.website,
        "disqualify_reason": lead.disqualify_reason, "duplicate_of": lead.duplicate_of_id,
        "duplicate_partner": lead.duplicate_partner_id, "duplicate_keys": lead.duplicate_keys, "partner": lead.partner_id,
        "merged_into": lead.merged_into_id, "created_on": lead.created_on.isoformat(),
    }
    if history:
        events = session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id))
        result["history"] = [{"on": e.happened_on.isoformat(), "action": e.action, "detail": e.detail,
                              "user": e.user.login if e.user else None} for e in events]
        from plugins.funnel.models_deals import Opportunity  # a list of leads needs no deal model

        result["deals"] = list(session.scalars(select(Opportunity.id).where(Opportunity.lead_id == lead.id)))
    return result
