"""The ``[procurement]`` section of ``crm.toml``: its schema, checked when the config loads.

```toml
[procurement]
allow_negative = false     # sell, deliver or adjust below zero available (reported to purchasing)
ship_on_confirm = false    # goods leave when the order is confirmed, not when it is delivered
confirm_generated = false  # orders raised by the reorder rules are confirmed (sent) at once
bill_price_tolerance = "0"     # percent a billed unit price may exceed the ordered one
bill_amount_tolerance = "0.05" # euros a bill's line or total may differ from its re-computation
bill_payment_days = 30         # a bill's due date when neither it nor its terms give one
bills_schematron = false       # also run the EN 16931 Schematron on each imported e-invoice (needs saxonche)
```
"""

from __future__ import annotations

from decimal import Decimal

from core.configschema import Amount, Boolean, SettingsSchema, WholeNumber


class ProcurementSettings(SettingsSchema):
    """``[procurement]``: how stock moves and generated purchase orders behave."""

    allow_negative = Boolean(load_default=False)
    ship_on_confirm = Boolean(load_default=False)
    confirm_generated = Boolean(load_default=False)
    bill_price_tolerance = Amount(load_default=Decimal("0"))
    bill_amount_tolerance = Amount(load_default=Decimal("0.05"))
    bill_payment_days = WholeNumber(minimum=0, maximum=365, load_default=30)
    bills_schematron = Boolean(load_default=False)
