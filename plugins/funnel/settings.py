"""The ``[funnel]`` section of ``crm.toml``: its schema, checked when the config loads.

```toml
[funnel]
default_pipeline = "Sales"   # name of the pipeline seeded when the module is enabled
default_close_days = 30      # a deal without an expected close date is expected this many days on
learn_months = 12            # the learned probabilities read the deals closed in the last 12 months
learn_min_sample = 30        # below this many closed deals a stage (or segment) keeps its configured probability
learn_amount_bands = [1000, 10000]   # amount bands of the learned probabilities: < 1000, 1000-10000, >= 10000
```
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates

from core.configschema import Amount, SettingsSchema, Text, WholeNumber


class FunnelSettings(SettingsSchema):
    """``[funnel]``: the default pipeline and close date, and what the probabilities learn from."""

    default_pipeline = Text(load_default="Sales", validate=validate.Length(min=1, max=100))
    default_close_days = WholeNumber(minimum=0, maximum=3650, load_default=30)
    learn_months = WholeNumber(minimum=1, maximum=120, load_default=12)
    learn_min_sample = WholeNumber(minimum=1, maximum=1000000, load_default=30)
    learn_amount_bands = fields.List(Amount(), load_default=lambda: [Decimal(1000), Decimal(10000)])

    @validates("learn_amount_bands")
    def _increasing(self, value, **kwargs):
        if not value or any(low >= high for low, high in zip(value, value[1:])) or value[0] <= 0:
            raise ValidationError("give one or more amounts above 0 in increasing order, such as [1000, 10000]")
