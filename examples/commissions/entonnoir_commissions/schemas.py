"""The boundary for every input of the module: a commission plan as the CLI gives it."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from core.schemas import Exact
from entonnoir_commissions.models import TIER_PERIODS

RATE = validate.Range(min=Decimal(0), max=Decimal(100), error="must be between 0 and 100 (percent)")


class Tier(fields.Field):
    """``THRESHOLD:RATE`` — ``10000:7`` is "7 % on what is collected above 10,000 in the period"."""

    def _deserialize(self, value, attr, data, **kwargs):
        threshold, sep, rate = str(value).strip().partition(":")
        if not sep:
            raise ValidationError(f"{value!r}: expected THRESHOLD:RATE, e.g. 10000:7")
        try:
            threshold = Exact(2, minimum=Decimal("0.01")).deserialize(threshold)
            rate = Exact(2).deserialize(rate)
        except ValidationError as exc:
            raise ValidationError(f"{value!r}: {' '.join(map(str, exc.messages))}") from None
        RATE(rate)
        return threshold, rate


class PlanSchema(Schema):
    """A plan for one salesperson (their own, which wins) or for a team's members."""

    class Meta:
        unknown = RAISE

    salesperson = fields.String(load_default=None)
    team = fields.String(load_default=None)
    rate = Exact(2, required=True, validate=RATE)
    tiers = fields.List(Tier(), load_default=list)
    tier_period = fields.String(load_default="month", validate=validate.OneOf(TIER_PERIODS))
    valid_from = fields.Date(required=True)

    @validates_schema
    def _one_owner(self, data, **kwargs):
        if bool(data.get("salesperson")) == bool(data.get("team")):
            raise ValidationError("give either a salesperson or a team", "salesperson")
        thresholds = [threshold for threshold, _ in data.get("tiers") or []]
        if len(set(thresholds)) != len(thresholds):
            raise ValidationError("two tiers start at the same threshold", "tiers")
