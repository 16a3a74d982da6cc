"""The partner's credit fields (``register_fields``): a limit, the hold's state, the open orders.

- ``credit_hold.limit`` (stored in ``credit_hold_partner_credit``): the most a customer may have
  in open orders (confirmed, not yet delivered); empty means no limit. Listed and printed.
- ``credit_hold.on_hold_since`` (computed from the hold history): the date of the active hold.
- ``credit_hold.open_orders`` (computed): the customer's open orders' total incl. VAT.

A limit below the open orders is refused (``check_limit``); confirming an order that would take the
open orders above the limit is refused too (:func:`entonnoir_credit_hold.services.check_order`).
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import fields, validate
from sqlalchemy import func, select

from core.errors import ValidationError
from core.extensions import Computed, Extension, Field

OPEN = ("confirmed",)


def open_orders_query():
    """Every customer's open orders' total, in one query (``record_id, value``)."""
    from core.models import SalesOrder

    return (select(SalesOrder.customer_id.label("record_id"), func.sum(SalesOrder.total).label("value"))
            .where(SalesOrder.state.in_(OPEN)).group_by(SalesOrder.customer_id))


def on_hold_query():
    """The date of each partner's active hold."""
    from entonnoir_credit_hold.models import PartnerHold

    return select(PartnerHold.partner_id.label("record_id"), PartnerHold.placed_on.label("value")) \
        .where(PartnerHold.released_on.is_(None))


def open_orders(session, partner_id: int) -> Decimal:
    from core.models import SalesOrder

    return session.scalar(select(func.coalesce(func.sum(SalesOrder.total), 0)).where(
        SalesOrder.customer_id == partner_id, SalesOrder.state.in_(OPEN))) or Decimal("0")


def check_limit(app, session, partner, changes) -> None:
    """Refuse a credit limit below what the customer already has in open orders."""
    if "credit_hold.limit" not in changes:
        return
    limit = changes["credit_hold.limit"][1]
    if limit is None:
        return
    owed = Decimal(open_orders(session, partner.id))
    if Decimal(limit) < owed:
        raise ValidationError(f"{limit} is below the open orders' total {owed:.2f}", field="credit_hold.limit")


def partner_extension():
    from entonnoir_credit_hold.models import PartnerCredit

    return Extension("partner", PartnerCredit, key="partner_id", check=check_limit, fields=(
        Field("limit", fields.Decimal(places=2, as_string=True,
                                      validate=validate.Range(min=0, error="must be at least {min}")),
              label={"en": "Credit limit", "fr": "Plafond de crédit"},
              help={"en": "Most the customer may have in open orders (empty: no limit)",
                    "fr": "Encours maximal de commandes ouvertes (vide : sans plafond)"},
              listed=True, printed=True, column="credit_limit"),
    ), computed=(
        Computed("on_hold_since", on_hold_query, fields.Date(),
                 label={"en": "On credit hold since", "fr": "En blocage depuis"}, listed=True, printed=True),
        Computed("open_orders", open_orders_query, fields.Decimal(places=2, as_string=True),
                 label={"en": "Open orders", "fr": "Commandes ouvertes"}),
    ))
