"""The mandatory mentions an invoice cannot be posted without, and the nature of its operation.

Code de commerce L441-9, R123-237 and CGI art. 242 nonies A (and, from the 2026 e-invoicing
reform, the customer's SIREN): the seller's name, legal form, address, SIREN, registry and share
capital, VAT number; the buyer's name and address, the SIREN of a French business buyer, the VAT
number of a business buyer elsewhere in the EU. Both posting paths (``posting``'s and
the order confirmation's in ``order_invoices``) ask :func:`refusal` before a
number is taken, so a refused invoice consumes no number and writes nothing.
"""

from __future__ import annotations

from core.errors import ValidationError

#: EU member states (intra-EU business buyers give their VAT number: CGI art. 242 nonies A)
EU = frozenset("AT BE BG CY CZ DE DK EE EL ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
BUYER_LABELS = {"name": "name", "street": "street", "postal_code": "postal code", "city": "city",
                "siren": "SIREN", "vat_number": "VAT number"}


def buyer_missing(buyer: dict) -> list[str]:
    """The buyer's mandatory fields still empty (``buyer``: name, kind, street, postal_code, city,
    country, siren, vat_number)."""
    needed = ["name", "street", "postal_code", "city"]
    country = buyer.get("country") or "FR"
    if buyer.get("kind", "company") == "company":
        if country == "FR":
            needed.append("siren")  # the customer's SIREN: a mention of the 2026 reform
        elif country in EU:
            needed.append("vat_number")
    return [field for field in needed if not buyer.get(field)]


def refusal(company, buyer: dict, partner_id: int) -> str | None:
    """One line naming every missing mention and the command that sets it; None when complete."""
    from core.services.company import company_hint, missing_mentions

    parts = []
    seller = missing_mentions(company)
    if seller:
        parts.append(company_hint(seller))
    missing = buyer_missing(buyer)
    if missing:
        labels = ", ".join(BUYER_LABELS[field] for field in missing)
        options = " ".join(f"--{field.replace('_', '-')} ..." for field in missing)
        parts.append(f"customer {partner_id} ({buyer.get('name')}) {labels} "
                     f"(`crm partner edit {partner_id} {options}`)")
    return "; ".join(parts) or None


def check_mentions(session, invoice, partner) -> dict:
    """Refuse posting ``invoice`` while a mandatory mention is missing; returns the seller's identity."""
    from core.services.company import get_company, identity

    company = get_company(session)
    buyer = {field: getattr(partner, field) for field in ("name", "kind", "street", "postal_code", "city",
                                                           "country", "siren", "vat_number")}
    refused = refusal(company, buyer, partner.id)
    if refused:
        heading = "credit note" if invoice.kind == "credit_note" else "invoice"
        raise ValidationError(f"cannot be posted, mandatory mentions missing: {refused}",
                              record=f"{heading} {invoice.number or f'draft #{invoice.id}'}")
    return identity(company)


def operation_category(kinds, default: str = "goods") -> str:
    """goods, services or mixed, from the kinds of the products invoiced (``goods``/``service``)."""
    found = {kind for kind in kinds if kind}
    if not found:
        return default
    if found == {"service"}:
        return "services"
    return "goods" if found == {"goods"} else "mixed"
