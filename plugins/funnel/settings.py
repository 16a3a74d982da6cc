"""The ``[funnel]`` section of ``crm.toml``: its schema, checked when the config loads.

```toml
[funnel]
default_pipeline = "Sales"   # name of the pipeline seeded when the module is enabled
default_close_days = 30      # a deal without an expected close date is expected this many days on
```
"""

from __future__ import annotations

from marshmallow import validate

from core.configschema import SettingsSchema, Text, WholeNumber


class FunnelSettings(SettingsSchema):
    """``[funnel]``: the default pipeline and close date."""

    default_pipeline = Text(load_default="Sales", validate=validate.Length(min=1, max=100))
    default_close_days = WholeNumber(minimum=0, maximum=3650, load_default=30)
