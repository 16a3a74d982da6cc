"""Partners (customers, suppliers) and their contacts."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from core.errors import NotFound, ValidationError
from core.models import Contact, Partner
from core.schemas import ContactSchema, PartnerSchema, load
from core.services.people import get_user

EDITABLE = tuple(f for f in PartnerSchema().fields if f != "salesperson")


def get_partner(session, ref) -> Partner:
    """A partner by id or by exact name (case-insensitive); an ambiguous name is refused."""
    text = str(ref).strip()
    if text.isdigit():
        partner = session.get(Partner, int(text))
        if partner is None:
            raise NotFound(f"partner {text}: no such partner")
        return partner
    # The exact name first: SQLite's lower() folds only ASCII, so "Établissements X" must match as typed.
    found = session.scalars(select(Partner).where(Partner.name == text).limit(2)).all() or \
        session.scalars(select(Partner).where(func.lower(Partner.name) == text.lower()).limit(2)).all()
    if not found:
        raise NotFound(f"partner {text!r}: no such partner")
    if len(found) > 1:
        raise ValidationError("several partners have this name; use the id", record=f"partner {text!r}")
    return found[0]


def find_duplicate(session, data: dict) -> Partner | None:
    """An existing partner with the same SIREN, or the same e-mail (case-insensitive)."""
    conditions = []
    if data.get("siren"):
        conditions.append(Partner.siren == data["siren"])
    if data.get("email"):
        conditions.append(func.lower(Partner.email) == data["email"].lower())
    if not conditions:
        return None
    return session.scalars(select(Partner).where(or_(*conditions)).order_by(Partner.id).limit(1)).first()


def _apply(session, partner: Partner, data: dict) -> dict:
    changes = {}
    if not data.get("siren") and data.get("siret"):
        data["siren"] = data["siret"][:9]
    for field in EDITABLE:
        if field in data and getattr(partner, field) != data[field]:
            changes[field] = (getattr(partner, field), data[field])
            setattr(partner, field, data[field])
    if data.get("salesperson"):
        user = get_user(session, data["salesperson"])
        if partner.salesperson_id != user.id:
            changes["salesperson"] = (partner.salesperson_id, user.id)
            partner.salesperson_id = user.id
    return changes


def create_partner(app, session, raw: dict, *, record: str | None = None, allow_duplicate: bool = False,
                   validated: bool = False) -> Partner:
    """Validate and create a partner, then call ``partner_created``.

    A partner with the same SIREN or e-mail as an existing one is refused unless
    ``allow_duplicate``: the message names the existing partner.
    """
    record = record or f"partner {str(raw.get('name', '')).strip()!r}"
    data = raw if validated else load(PartnerSchema(), raw, record)
    if not allow_duplicate:
        existing = find_duplicate(session, data)
        if existing is not None:
            field = "siren" if data.get("siren") and existing.siren == data["siren"] else "email"
            raise ValidationError(f"already used by partner {existing.id} ({existing.name})",
                                  record=record, field=field)
    partner = Partner()
    _apply(session, partner, data)
    session.add(partner)
    session.flush()
    app.call("partner_created", app=app, session=session, partner=partner)
    return partner


def update_partner(app, session, partner: Partner, raw: dict, *, record: str | None = None) -> dict:
    """Change the fields given in ``raw`` (the result is validated as a whole), then call ``partner_updated``.

    :returns: ``{field: (old, new)}``, empty if nothing changed (and then no hook is called).
    """
    current = {f: getattr(partner, f) for f in EDITABLE if getattr(partner, f) is not None}
    current = {k: (str(v) if not isinstance(v, bool) else v) for k, v in current.items()}
    data = load(PartnerSchema(), {**current, **raw}, record or f"partner {partner.id}")
    changes = _apply(session, partner, data)
    if changes:
        session.flush()
        app.call("partner_updated", app=app, session=session, partner=partner, changes=changes)
    return changes


def list_partners(session, *, role: str | None = None, search: str | None = None, limit: int | None = None):
    """Partners ordered by name; ``role`` is ``customer`` or ``supplier``."""
    query = select(Partner).where(Partner.active.is_(True)).order_by(Partner.name, Partner.id)
    if role == "customer":
        query = query.where(Partner.is_customer.is_(True))
    elif role == "supplier":
        query = query.where(Partner.is_supplier.is_(True))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Partner.name).like(pattern), func.lower(Partner.email).like(pattern),
                                Partner.siren == search.replace(" ", "")))
    if limit:
        query = query.limit(limit)
    return session.scalars(query).all()


def add_contact(session, partner: Partner, raw: dict) -> Contact:
    """Add a contact person to a partner."""
    data = load(ContactSchema(), raw, f"partner {partner.id}")
    contact = Contact(partner=partner, **data)
    session.add(contact)
    session.flush()
    return contact


def partner_dict(partner: Partner) -> dict:
    """Stable JSON shape of a partner."""
    return {
        "id": partner.id, "name": partner.name, "kind": partner.kind,
        "is_customer": partner.is_customer, "is_supplier": partner.is_supplier,
        "email": partner.email, "phone": partner.phone, "street": partner.street,
        "postal_code": partner.postal_code, "city": partner.city, "country": partner.country,
        "siren": partner.siren, "siret": partner.siret, "vat_number": partner.vat_number,
        "salesperson": partner.salesperson.login if partner.salesperson else None,
        "contacts": [{"id": c.id, "name": c.name, "email": c.email, "phone": c.phone, "function": c.function}
                     for c in partner.contacts],
        "created_at": partner.created_at.isoformat() if partner.created_at else None,
    }
