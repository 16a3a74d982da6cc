"""fk_extend's declarations: what it adds to the kernel's records and to billing's invoice."""

from decimal import Decimal

from marshmallow import fields, validate
from sqlalchemy import func, select

from core.errors import ValidationError
from core.extensions import Computed, Extension, Field
from fk_extend.models import InvoiceCostCentre, OrderProject, PartnerCredit, ProductWarranty


def confirmed_total():
    """Every customer's confirmed and delivered orders' total, in one query."""
    from core.models import SalesOrder

    return (select(SalesOrder.customer_id.label("record_id"), func.sum(SalesOrder.total).label("value"))
            .where(SalesOrder.state.in_(("confirmed", "delivered"))).group_by(SalesOrder.customer_id))


def check_limit(app, session, partner, changes):
    """A credit limit below what the customer already ordered is refused."""
    if "fk_extend.limit" not in changes:
        return
    limit = changes["fk_extend.limit"][1]
    from core.models import SalesOrder

    ordered = session.scalar(select(func.sum(SalesOrder.total)).where(
        SalesOrder.customer_id == partner.id, SalesOrder.state.in_(("confirmed", "delivered"))))
    if limit is not None and ordered and Decimal(limit) < Decimal(ordered):
        raise ValidationError(f"{limit} is below the confirmed orders' total {ordered}", field="fk_extend.limit")


def extensions():
    money = dict(places=2, as_string=True)
    return [
        Extension("partner", PartnerCredit, key="partner_id", check=check_limit, fields=(
            Field("limit", fields.Decimal(**money, validate=validate.Range(min=0, error="must be at least {min}")),
                  label={"en": "Credit limit", "fr": "Plafond de crédit"},
                  help={"en": "Most we let the customer owe", "fr": "Encours maximal autorisé"},
                  listed=True, printed=True, column="credit_limit"),
            Field("segment", fields.String(validate=validate.OneOf(["smb", "key", "public"])),
                  label={"en": "Segment", "fr": "Segment"}, listed=True, searchable=True),
        ), computed=(
            Computed("ordered", confirmed_total, fields.Decimal(**money),
                     label={"en": "Confirmed orders", "fr": "Commandes confirmées"}, printed=True),
        )),
        Extension("product", ProductWarranty, key="product_id", fields=(
            Field("warranty_months", fields.Integer(validate=validate.Range(min=0, max=120), load_default=12),
                  label={"en": "Warranty (months)", "fr": "Garantie (mois)"}, listed=True, printed=True),
        )),
        Extension("order", OrderProject, key="order_id", fields=(
            Field("project", fields.String(validate=validate.Length(max=20)), label={"en": "Project"},
                  listed=True, printed=True, column="project_code"),
        )),
        Extension("invoice", InvoiceCostCentre, key="invoice_id", fields=(
            Field("cost_centre", fields.String(validate=validate.Length(max=20)), label={"en": "Cost centre"},
                  printed=True),
        )),
    ]
