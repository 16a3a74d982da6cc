"""``crm payment credit``: what each customer has to their credit, and what was paid back."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from plugins.billing.models import Invoice, Payment, Refund

ZERO = Decimal("0.00")


def credit_summary(session, customer=None) -> list[dict]:
    """Per customer with credit or refunds: unallocated payments, unused credit notes, refunded, available."""
    from sqlalchemy import literal, union_all

    from core.models import Partner
    from core.services.partners import get_partner

    parts = union_all(
        select(Payment.partner_id.label("partner_id"), Payment.unallocated.label("payments"),
               literal(ZERO, Payment.unallocated.type).label("notes"),
               literal(ZERO, Payment.unallocated.type).label("refunded")),
        select(Invoice.partner_id, literal(ZERO, Invoice.residual.type), Invoice.residual,
               literal(ZERO, Invoice.residual.type)).where(Invoice.kind == "credit_note", Invoice.state != "draft"),
        select(Refund.partner_id, literal(ZERO, Refund.amount.type), literal(ZERO, Refund.amount.type),
               Refund.amount)).subquery()
    query = (select(Partner.id, Partner.name, func.sum(parts.c.payments), func.sum(parts.c.notes),
                    func.sum(parts.c.refunded)).join(parts, parts.c.partner_id == Partner.id)
             .group_by(Partner.id, Partner.name).order_by(Partner.name, Partner.id))
    partner = get_partner(session, customer) if customer is not None else None
    if partner is not None:
        query = query.where(Partner.id == partner.id)
    found = [(partner_id, name, *(Decimal(v or 0).quantize(ZERO) for v in amounts))
             for partner_id, name, *amounts in session.execute(query)]
    if partner is not None and not found:
        found = [(partner.id, partner.name, ZERO, ZERO, ZERO)]
    return [{"customer": name, "customer_id": partner_id, "payments": str(payments), "credit_notes": str(notes),
             "refunded": str(refunded), "available": str(payments + notes)}
            for partner_id, name, payments, notes, refunded in found
            if partner is not None or payments + notes > 0 or refunded > 0]
