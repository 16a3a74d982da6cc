"""Marshmallow schemas: every billing input (CLI options, CSV rows, crm.toml) crosses one of these."""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from core.schemas import Day, Exact, Flag, OrderLineSchema, _Base
from plugins.billing.models import CHANNELS, PAYMENT_METHODS

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
INSTALMENT_RE = re.compile(r"^(?:(?P<percent>\d+(?:[.,]\d{1,2})?)%?:)?(?P<method>[a-z_]+)(?::(?P<days>\d+))?$")
RECIPIENTS = ("customer", "owner", "collections")


class Instalment(fields.Field):
    """``[PERCENT:]METHOD[:DAYS]`` — ``50:days:30``, ``days_end_of_month:45``, ``immediate``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (list, tuple)) and len(value) == 3:
            percent, method, days = value
            return (None if percent is None else Decimal(str(percent)), method, int(days))
        match = INSTALMENT_RE.match(str(value).strip())
        if not match:
            raise ValidationError(f"{value!r}: expected [PERCENT:]METHOD[:DAYS], e.g. 50:days:30 or "
                                  f"days_end_of_month:45")
        percent = match["percent"]
        return (Decimal(percent.replace(",", ".")) if percent else None, match["method"], int(match["days"] or 0))


class TermSchema(_Base):
    """A payment term: a code, a name, instalments, an optional early-payment discount."""

    code = fields.String(required=True, validate=validate.Regexp(
        CODE_RE, error="upper-case letters, digits, '_' or '-' (at most 20)"))
    name = fields.String(load_default=None, validate=validate.Length(max=100))
    lines = fields.List(Instalment(), required=True, validate=validate.Length(min=1, error="at least one instalment"))
    discount_percent = Exact(2, load_default=Decimal("0.00"), validate=validate.Range(
        min=Decimal(0), max=Decimal(100), error="must be between 0 and 100"))
    discount_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=365))
    beyond_legal_maximum = Flag(load_default=False)

    @post_load
    def _upper(self, data, **kwargs):
        data["code"] = data["code"].upper()
        return data


class ReminderLevelSchema(_Base):
    """One level of the reminder policy."""

    level = fields.Integer(required=True, validate=validate.Range(min=1, max=20))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    delay_days = fields.Integer(required=True, validate=validate.Range(min=0, max=3650))
    channel = fields.String(load_default="email", validate=validate.OneOf(CHANNELS))
    recipients = fields.String(load_default="customer")
    template = fields.String(load_default="billing/reminder_friendly", validate=validate.Length(min=1, max=100))
    interest = Flag(load_default=False)
    indemnity = Flag(load_default=False)
    handover = Flag(load_default=False)
    attach_invoices = Flag(load_default=False)

    @validates_schema
    def _recipients(self, data, **kwargs):
        if "recipients" in data:
            names = [r.strip() for r in data["recipients"].split(",") if r.strip()]
            unknown = [r for r in names if r not in RECIPIENTS]
            if not names or unknown:
                raise ValidationError(f"a comma-separated list of {', '.join(RECIPIENTS)}", "recipients")
            data["recipients"] = ",".join(names)


class InvoiceSchema(_Base):
    """An invoice typed by hand: the customer, lines (as order lines), optionally a term and a date."""

    customer = fields.String(required=True)
    term = fields.String(load_default=None)
    invoice_date = Day(load_default=None)
    salesperson = fields.String(load_default=None)
    note = fields.String(load_default=None)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True,
                        validate=validate.Length(min=1, error="an invoice needs at least one line"))


class PaymentSchema(_Base):
    """A payment received: from the CLI or one row of a bank export (``crm payment import``)."""

    date = Day(required=True)
    amount = Exact(2, required=True, validate=validate.Range(min=Decimal("0.01"), error="must be positive"))
    customer = fields.String(load_default=None)
    method = fields.String(load_default="transfer", validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(load_default=None, validate=validate.Length(max=140))
    invoice = fields.String(load_default=None)

    @validates_schema
    def _who(self, data, **kwargs):
        if not data.get("customer") and not data.get("invoice") and not data.get("reference"):
            raise ValidationError("give the customer, an invoice number or a reference naming one", "customer")


class RefundSchema(_Base):
    """Customer credit paid back (``crm payment refund``): to whom, how much, when, how."""

    customer = fields.String(required=True, validate=validate.Length(min=1))
    amount = Exact(2, required=True, validate=validate.Range(min=Decimal("0.01"), error="must be positive"))
    date = Day(required=True)
    method = fields.String(load_default="transfer", validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(load_default=None, validate=validate.Length(max=140))
