"""Marshmallow schemas: every procurement input (CLI options, CSV rows) crosses one of these."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from core.schemas import Exact, Flag, _Base

POSITIVE = validate.Range(min=Decimal("0.001"), error="must be positive")


class SupplierPriceSchema(_Base):
    """A supplier's price for a product, its minimum order quantity and lead time."""

    sku = fields.String(required=True)
    supplier = fields.String(required=True)
    price = Exact(4, required=True, minimum=Decimal(0))
    minimum_quantity = Exact(3, minimum=Decimal(0), load_default=Decimal("0.000"))
    lead_time_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=3650))
    preferred = Flag(load_default=False)


class ReorderRuleSchema(_Base):
    """Keep the forecast at least ``minimum``; order up to ``maximum`` in whole ``multiple``s."""

    sku = fields.String(required=True)
    minimum = Exact(3, required=True, minimum=Decimal(0))
    maximum = Exact(3, required=True, validate=POSITIVE)
    multiple = Exact(3, load_default=Decimal("1.000"), validate=POSITIVE)
    supplier = fields.String(load_default=None)
    lead_time_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=3650))

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("maximum") is not None and data.get("minimum") is not None and data["maximum"] < data["minimum"]:
            raise ValidationError(f"must be at least the minimum ({data['minimum']})", "maximum")


class AdjustmentSchema(_Base):
    """A stock correction: a signed quantity and the reason for it."""

    sku = fields.String(required=True)
    quantity = Exact(3, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _not_zero(self, data, **kwargs):
        if data.get("quantity") == 0:
            raise ValidationError("must not be zero", "quantity")


class ReceiptLineSchema(_Base):
    """One ``--line SKU:QTY`` of a receipt."""

    sku = fields.String(required=True)
    quantity = Exact(3, required=True, validate=POSITIVE)
