"""Partners (customers, suppliers) and their contacts."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from core.errors import NotFound, ValidationError
from core.models import Contact, Partner
from core.security import require
from core.services.people import get_user

@functools.cache
def editable() -> tuple[str, ...]:
    """The partner's fields a create or an edit sets as given (its schema's, but the salesperson)."""
    from core.schemas import PartnerSchema

    return tuple(f for f in PartnerSchema().fields if f != "salesperson")


def get_partner(session, ref) -> Partner:
    """The partner ``ref`` names: every command that takes a partner finds it here.

    In order: an id (digits), a SIREN (9 digits, spaces allowed), the exact name, the name without
    regard to case or accents, then a part of the name (case- and accent-insensitive) that only
    one partner's name contains. Several matches are refused, listing them ("martin matches 3
    partners: 12 Martin SARL, 40 Martin & Fils, ...") so the operator can pick the id.
    """
    text = str(ref).strip()
    if not text:
        raise NotFound("partner '': give an id, a name or a SIREN")
    digits = text.replace(" ", "")
    if digits.isdigit():
        partner = session.get(Partner, int(digits)) if text.isdigit() else None
        if partner is None and len(digits) == 9:
            _one(text, session.scalars(select(Partner).where(Partner.siren == digits).order_by(Partner.id)).all())
            partner = session.scalars(select(Partner).where(Partner.siren == digits)).first()
        if partner is None:
            raise NotFound(f"partner {text}: no such partner (no id{' or SIREN' if len(digits) == 9 else ''} {digits})")
        return partner
    exact = session.scalars(select(Partner).where(Partner.name == text).order_by(Partner.id)).all()
    if exact:
        return _one(text, exact)
    # SQLite's lower() folds only ASCII: the names are folded here (few rows: id and name only)
    wanted = fold(text)
    names = sorted(session.execute(select(Partner.id, Partner.name)).all(), key=lambda row: (fold(row[1]), row[0]))
    same = [partner_id for partner_id, name in names if fold(name) == wanted]
    found = same or [partner_id for partner_id, name in names if wanted in fold(name)]
    if not found:
        raise NotFound(f"partner {text!r}: no such partner")
    if len(found) == 1:
        return session.get(Partner, found[0])
    shown = set(found[:MATCHES_SHOWN])
    raise _ambiguous(text, len(found), [(pid, name) for pid, name in names if pid in shown])


MATCHES_SHOWN = 10


def fold(text: str) -> str:
    """A name as it is matched: accents removed, case folded, blanks made single spaces."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _one(text: str, found: list) -> Partner | None:
    if len(found) > 1:
        raise _ambiguous(text, len(found), [(p.id, p.name) for p in found])
    return found[0] if found else None


def _ambiguous(text: str, count: int, shown: list[tuple[int, str]]) -> ValidationError:
    listed = ", ".join(f"{pid} {name}" for pid, name in shown[:MATCHES_SHOWN])
    more = ", ..." if count > len(shown[:MATCHES_SHOWN]) else ""
    return ValidationError(f"{text} matches {count} partners: {listed}{more} (use the id)")


def find_duplicate(session, data: dict) -> Partner | None:
    """An existing partner with the same SIREN, or the same e-mail (case-insensitive)."""
    conditions = []
    if data.get("siren"):
        conditions.append(Partner.siren == data["siren"])
    if data.get("email"):
        conditions.append(func.lower(Partner.email) == data["email"].lower())
    if not conditions:
        return None
    from core.recordrules import every_record

    with every_record(session):  # another salesperson's customer is a duplicate all the same
        return session.scalars(select(Partner).where(or_(*conditions)).order_by(Partner.id).limit(1)).first()


def _apply(session, partner: Partner, data: dict) -> dict:
    changes = {}
    if not data.get("siren") and data.get("siret"):
        data["siren"] = data["siret"][:9]
    for field in editable():
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
                   validated: bool = False, extensions: dict | None = None) -> Partner:
    """Validate and create a partner with its extension fields, then call ``partner_created``.

    A partner with the same SIREN or e-mail as an existing one is refused unless
    ``allow_duplicate``: the message names the existing partner. ``extensions`` holds the
    modules' fields (``{"credit_hold": {"limit": "5000"}}``, see :mod:`core.extensions`).
    """
    from core.schemas import PartnerSchema, load
    from core import extensions as ext

    require(app, session, "core.partner.write")
    record = record or f"partner {str(raw.get('name', '')).strip()!r}"
    data = raw if validated else load(PartnerSchema(), raw, record)
    values = ext.load(app, "partner", extensions, record, creating=True)
    if not allow_duplicate:
        existing = find_duplicate(session, data)
        if existing is not None:
            from core.recordrules import sees

            field = "siren" if data.get("siren") and existing.siren == data["siren"] else "email"
            whose = f"partner {existing.id} ({existing.name})" if sees(app, session, existing) else \
                "a partner another salesperson owns (a sales manager can hand it to you)"
            raise ValidationError(f"already used by {whose}", record=record, field=field)
    partner = Partner()
    changes = _apply(session, partner, data)
    session.add(partner)
    session.flush()
    ext.save(app, session, "partner", partner, values, changes=changes)
    app.call("partner_created", app=app, session=session, partner=partner)
    return partner


def update_partner(app, session, partner: Partner, raw: dict, *, record: str | None = None,
                   extensions: dict | None = None) -> dict:
    """Change the fields given in ``raw`` and ``extensions`` (the result is validated as a whole),
    let the extending modules check the change, then call ``partner_updated``.

    :returns: ``{field: (old, new)}`` (extension fields as ``module.field``), empty if nothing
        changed (and then no hook is called).
    """
    from core.schemas import PartnerSchema, load
    from core import extensions as ext

    require(app, session, "core.partner.write")
    record = record or f"partner {partner.id}"
    current = {f: getattr(partner, f) for f in editable() if getattr(partner, f) is not None}
    current = {k: (str(v) if not isinstance(v, bool) else v) for k, v in current.items()}
    data = load(PartnerSchema(), {**current, **raw}, record)
    values = ext.load(app, "partner", extensions, record, creating=False)
    changes = _apply(session, partner, data)
    if changes:
        session.flush()
    changes.update(ext.save(app, session, "partner", partner, values, changes=changes))
    if changes:
        app.call("partner_updated", app=app, session=session, partner=partner, changes=changes)
    return changes


def list_partners(session, *, role: str | None = None, search: str | None = None, limit: int | None = None,
                  columns=None, where=()):
    """Partners ordered by name; ``role`` is ``customer`` or ``supplier``.

    ``columns`` (e.g. ``[Partner.id]``) selects those instead of whole partners: the same filters,
    for an extension read (:func:`core.extensions.read`) of exactly the listed partners. ``where``
    adds SQL conditions (a module's searchable field: :func:`core.extensions.conditions`).
    """
    query = partners_query(role=role, search=search, columns=columns, where=where)
    if limit:
        query = query.limit(limit)
    if columns:
        return query
    return load_partners(session, query)


def partners_query(*, role: str | None = None, search: str | None = None, columns=None, where=()):
    """The ``Select`` of :func:`list_partners`, for a caller that reads it a page at a time."""
    query = (select(*columns) if columns else select(Partner)).where(Partner.active.is_(True)).order_by(Partner.name, Partner.id)
    if role == "customer":
        query = query.where(Partner.is_customer.is_(True))
    elif role == "supplier":
        query = query.where(Partner.is_supplier.is_(True))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Partner.name).like(pattern), func.lower(Partner.email).like(pattern),
                                Partner.siren == search.replace(" ", "")))
    if where:
        query = query.where(*where)
    return query


def load_partners(session, query) -> list[Partner]:
    """The partners of ``query`` with their contacts and salesperson (one query each, not one per partner)."""
    return session.scalars(query.options(selectinload(Partner.contacts), selectinload(Partner.salesperson))).all()


def add_contact(session, partner: Partner, raw: dict) -> Contact:
    """Add a contact person to a partner."""
    from core.schemas import ContactSchema, load

    require(session.info["app"], session, "core.partner.write")
    data = load(ContactSchema(), raw, f"partner {partner.id}")
    contact = Contact(partner=partner, **data)
    session.add(contact)
    session.flush()
    return contact


def partner_dict(partner: Partner, extensions: dict | None = None) -> dict:
    """Stable JSON shape of a partner; ``extensions`` (``{module: {field: value}}``) nested by module."""
    data = {
        "id": partner.id, "name": partner.name, "kind": partner.kind,
        "is_customer": partner.is_customer, "is_supplier": partner.is_supplier,
        "email": partner.email, "phone": partner.phone, "street": partner.street,
        "postal_code": partner.postal_code, "city": partner.city, "country": partner.country,
        "siren": partner.siren, "siret": partner.siret, "vat_number": partner.vat_number,
        "language": partner.language,
        "salesperson": partner.salesperson.login if partner.salesperson else None,
        "contacts": [{"id": c.id, "name": c.name, "email": c.email, "phone": c.phone, "function": c.function}
                     for c in partner.contacts],
        "created_at": partner.created_at.isoformat() if partner.created_at else None,
    }
    data.update({module: values for module, values in (extensions or {}).items() if module not in data})
    return data


# --- the customer's account: one section per module (hook ``partner_account``) ---------------------

@dataclass
class AccountSection:
    """One module's part of a partner's account (see the ``partner_account`` hook).

    :param key: stable name, the section's key in the JSON (``"billing"``).
    :param title: what the terminal shows above it.
    :param data: the figures, JSON-ready.
    :param summary: ``(label, value)`` pairs for the terminal.
    :param tables: ``(title, rows, columns)`` for the terminal, ``columns`` as ``[(key, header)]``.
    :param documents: document kinds offered for the partner, by role (``{"statement": "billing.statement"}``).
    """

    key: str
    title: str
    data: dict
    order: int = 50
    summary: list[tuple[str, str]] = field(default_factory=list)
    tables: list[tuple[str, list[dict], list[tuple[str, str]]]] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)


def account_sections(app, session, partner: Partner) -> list[AccountSection]:
    """Every enabled module's section of ``partner``'s account, in ``order``."""
    from core.errors import ModuleError

    found = []
    for result in app.call("partner_account", app=app, session=session, partner=partner):
        for section in result if isinstance(result, list) else [result]:
            if not isinstance(section, AccountSection):
                raise ModuleError(f"partner_account returned {section!r}, not an AccountSection")
            found.append(section)
    return sorted(found, key=lambda s: (s.order, s.key))


def account_dict(app, partner: Partner, sections: list[AccountSection]) -> dict:
    """The stable JSON of ``crm partner account``."""
    return {"partner": {"id": partner.id, "name": partner.name, "siren": partner.siren, "email": partner.email},
            "as_of": app.today.isoformat(), "sections": {s.key: s.data for s in sections}}
