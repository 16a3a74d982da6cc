"""The ``[billing]`` section of ``crm.toml``, with its defaults.

```toml
[billing]
post_on_confirm = true        # post the invoice of a confirmed order at once (false: leave a draft)
default_term = "30J"          # term of customers without one of their own
operation_category = "goods"  # goods, services or mixed (a mention on every invoice)
penalty_margin = "10"         # points over the ECB refinancing rate (L441-10)
recovery_indemnity = "40"     # euros per late invoice, business customers only (D441-5)
collections = "role:collections"  # who collections is (outbox recipient specs, comma-separated)
dso_days = 90                 # period of sales the DSO is computed on
case_assignment = "round_robin"  # who works a new collection case: round_robin, salesperson or user:LOGIN
overpayment = "oldest_open"   # what a payment leaves over: the customer's other open invoices, or "credit"
write_off_threshold = "1.00"  # an invoice left open by at most this is written off (0: never)
```
"""

from __future__ import annotations

from decimal import Decimal

from core.errors import ConfigError

DEFAULTS = {
    "post_on_confirm": True,
    "default_term": "30J",
    "operation_category": "goods",
    "penalty_margin": "10",
    "recovery_indemnity": "40",
    "collections": "role:collections",
    "dso_days": 90,
    "case_assignment": "round_robin",
    "overpayment": "oldest_open",
    "write_off_threshold": "1.00",
}
OVERPAYMENT = ("oldest_open", "credit")
CATEGORIES = ("goods", "services", "mixed")


def settings(app) -> dict:
    """The billing section merged over the defaults, checked (a bad key names itself)."""
    section = dict(app.config.section("billing"))
    result = {**DEFAULTS, **{k: v for k, v in section.items() if k in DEFAULTS}}
    if not isinstance(result["post_on_confirm"], bool):
        raise ConfigError("crm.toml: billing.post_on_confirm: must be true or false")
    if result["operation_category"] not in CATEGORIES:
        raise ConfigError(f"crm.toml: billing.operation_category: must be one of {', '.join(CATEGORIES)}")
    if result["overpayment"] not in OVERPAYMENT:
        raise ConfigError(f"crm.toml: billing.overpayment: must be one of {', '.join(OVERPAYMENT)}")
    for key in ("penalty_margin", "recovery_indemnity", "write_off_threshold"):
        value = result[key]
        if isinstance(value, float):
            raise ConfigError(f"crm.toml: billing.{key}: write it as a string (\"{value}\"), money is exact")
        try:
            result[key] = Decimal(str(value))
        except Exception:
            raise ConfigError(f"crm.toml: billing.{key}: {value!r} is not a number") from None
    if result["write_off_threshold"] < 0:
        raise ConfigError("crm.toml: billing.write_off_threshold: must be 0 (no write-off) or more")
    if not isinstance(result["dso_days"], int) or result["dso_days"] <= 0:
        raise ConfigError("crm.toml: billing.dso_days: must be a positive number of days")
    rule = result["case_assignment"]
    if not isinstance(rule, str) or not (rule in ("round_robin", "salesperson") or
                                         (rule.startswith("user:") and rule[5:].strip())):
        raise ConfigError(f"crm.toml: billing.case_assignment: {rule!r}: must be round_robin, salesperson "
                          "or user:LOGIN")
    return result


def collections_specs(app) -> list[str]:
    return [s.strip() for s in str(settings(app)["collections"]).split(",") if s.strip()]
