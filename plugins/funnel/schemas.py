"""Marshmallow schemas of the funnel: every lead, deal, activity and target crosses one of these."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from core.schemas import Day, Exact, LOGIN_RE, Siren, _Base
from plugins.funnel.models import ACTIVITY_KINDS, PERIOD_KINDS


def _text(length: int, **kwargs):
    return fields.String(load_default=None, validate=validate.Length(max=length), **kwargs)




class LeadSchema(_Base):
    """A lead as typed or imported: a name, and whatever else is known about them."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    company = _text(200)
    email = fields.Email(load_default=None, validate=validate.Length(max=254))
    phone = _text(40)
    siren = Siren(load_default=None)
    website = _text(200)
    source = _text(100)
    campaign = _text(100)
    owner = fields.String(load_default=None, validate=validate.Regexp(LOGIN_RE, error="not a user login"))
    team = _text(100)
    notes = fields.String(load_default=None, validate=validate.Length(max=10000))
    created_on = Day(load_default=None)


LEAD_FIELDS = tuple(LeadSchema().fields)


class DealLineSchema(_Base):
    """A product line of a deal (the order's line once won)."""

    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = Exact(3, required=True, validate=validate.Range(min=Decimal("0.001"), error="must be positive"))
    unit_price = Exact(4, minimum=Decimal(0), load_default=None)
    discount = Exact(2, load_default=Decimal("0.00"), validate=validate.Range(
        min=Decimal(0), max=Decimal(100), error="must be between 0 and 100"))


class DealSchema(_Base):
    """An opportunity: what, for whom, how much, when, who."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    customer = _text(200)
    value = Exact(2, minimum=Decimal(0), load_default=None)
    probability = Exact(2, load_default=None, validate=validate.Range(
        min=Decimal(0), max=Decimal(100), error="must be between 0 and 100"))
    expected_close = Day(required=True)
    owner = fields.String(load_default=None, validate=validate.Regexp(LOGIN_RE, error="not a user login"))
    team = _text(100)
    pipeline = _text(100)
    stage = _text(100)


class ActivitySchema(_Base):
    """A call, meeting, e-mail or task, due on a date, linked to one lead, deal or partner."""

    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner = fields.String(required=True, validate=validate.Regexp(LOGIN_RE, error="not a user login"))
    due_date = Day(required=True)
    lead = fields.Integer(load_default=None, strict=False)
    deal = fields.Integer(load_default=None, strict=False)
    partner = _text(200)
    note = fields.String(load_default=None)

    @validates_schema
    def _one_link(self, data, **kwargs):
        links = [k for k in ("lead", "deal", "partner") if data.get(k) is not None]
        if len(links) > 1:
            raise ValidationError("link an activity to one lead, deal or partner, not several", links[1])


class TargetSchema(_Base):
    """A revenue target (and optionally a number of done activities) for a user or a team."""

    user = fields.String(load_default=None)
    team = _text(100)
    period = fields.String(required=True, validate=validate.Length(min=4, max=22))
    revenue = Exact(2, required=True, minimum=Decimal(0))
    activities = fields.Integer(load_default=None, strict=False, validate=validate.Range(min=0))

    @validates_schema
    def _user_or_team(self, data, **kwargs):
        if bool(data.get("user")) == bool(data.get("team")):
            raise ValidationError("give a user or a team (one of them)", "user")


__all__ = ["LeadSchema", "DealSchema", "DealLineSchema", "ActivitySchema", "TargetSchema", "PERIOD_KINDS",
           "LEAD_FIELDS"]
