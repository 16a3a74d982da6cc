"""The ``[procurement]`` section of ``crm.toml``: its schema, checked when the config loads.

```toml
[procurement]
allow_negative = false     # sell, deliver or adjust below zero available (reported to purchasing)
ship_on_confirm = false    # goods leave when the order is confirmed, not when it is delivered
confirm_generated = false  # orders raised by the reorder rules are confirmed (sent) at once
```
"""

from __future__ import annotations

from core.configschema import Boolean, SettingsSchema


class ProcurementSettings(SettingsSchema):
    """``[procurement]``: how stock moves and generated purchase orders behave."""

    allow_negative = Boolean(load_default=False)
    ship_on_confirm = Boolean(load_default=False)
    confirm_generated = Boolean(load_default=False)
