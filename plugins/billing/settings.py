"""The ``[billing]`` section of ``crm.toml``: its schema (checked when the config loads) and its defaults.

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
letters_folder = "letters"    # where the letter channel writes formal notices (relative to crm.toml)
iban = "FR76 3000 6000 0112 3456 7890 189"   # bank details printed on invoices (checked)
bic = "AGRIFRPP"
bank = "Crédit Agricole"
legal_footer = "SAS au capital de 10 000 €"
distance_selling_threshold = "10000"  # EU distance sales to consumers a year, then the customer country's VAT
# [billing.accounts]  the chart of accounts of the FEC export (PCG defaults: see ACCOUNTS)
# [[billing.reminder_levels]]  the reminder policy seeded when the module is enabled
```
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from core.configschema import Amount, Boolean, ChannelName, SettingsSchema, Text, WholeNumber

OVERPAYMENT = ("oldest_open", "credit")
CATEGORIES = ("goods", "services", "mixed")


def _iban(value: str) -> None:
    from stdnum import iban

    if not iban.is_valid(value):
        raise ValidationError(f"{value!r} is not a valid IBAN")


def _case_assignment(value: str) -> None:
    if not (value in ("round_robin", "salesperson") or (value.startswith("user:") and value[5:].strip())):
        raise ValidationError(f"{value!r}: must be round_robin, salesperson or user:LOGIN")


def _level_schema():
    from plugins.billing.models import CHANNELS
    from plugins.billing.schemas import ReminderLevelSchema

    class ReminderLevelSettings(ReminderLevelSchema):
        """One ``[[billing.reminder_levels]]`` table: numbered by its place, its channel a real one."""

        level = WholeNumber(minimum=1, maximum=20)
        name = Text(required=True, validate=validate.Length(min=1, max=100))
        delay_days = WholeNumber(required=True, minimum=0, maximum=3650)
        channel = ChannelName(load_default="email", aliases=("email",), choices=CHANNELS)
        recipients = Text(load_default="customer")
        template = Text(load_default="billing/reminder_friendly", validate=validate.Length(min=1, max=100))
        interest = Boolean(load_default=False)
        indemnity = Boolean(load_default=False)
        handover = Boolean(load_default=False)
        attach_invoices = Boolean(load_default=False)

    return ReminderLevelSettings


#: the FEC export's accounts (Plan comptable général), ``[billing.accounts]`` overrides any of them
ACCOUNTS = {
    "customers": "411000", "bank": "512000", "write_off": "658000",
    "sales_goods": "707000", "sales_services": "706000",
    "sales_goods_eu": "707100", "sales_services_eu": "706100",
    "sales_goods_export": "707200", "sales_services_export": "706200",
    "sales_goods_distance": "707300", "penalties": "763100",
    "vat_20": "445712", "vat_10": "445711", "vat_5_5": "445713", "vat_2_1": "445714", "vat_other": "445718",
}


def _account(value: str) -> None:
    if not (3 <= len(value) <= 20 and value[:3].isdigit() and value.isalnum()):
        raise ValidationError(f"{value!r}: an account number starts with 3 digits (PCG), letters and digits only")


#: ``[billing.accounts]``: the account numbers the FEC export writes (each checked, unknown keys refused)
AccountsSettings = SettingsSchema.from_dict(
    {name: Text(load_default=default, validate=_account) for name, default in ACCOUNTS.items()},
    name="AccountsSettings")


class BillingSettings(SettingsSchema):
    """``[billing]``: how invoices are made and customers reminded."""

    post_on_confirm = Boolean(load_default=True)
    default_term = Text(load_default="30J", validate=validate.Length(min=1, max=20))
    operation_category = Text(load_default="goods", choices=CATEGORIES)
    penalty_margin = Amount(load_default=Decimal("10"))
    recovery_indemnity = Amount(load_default=Decimal("40"))
    collections = Text(load_default="role:collections", validate=validate.Length(min=1))
    dso_days = WholeNumber(minimum=1, maximum=3660, load_default=90)
    case_assignment = Text(load_default="round_robin", validate=_case_assignment)
    overpayment = Text(load_default="oldest_open", choices=OVERPAYMENT)
    write_off_threshold = Amount(load_default=Decimal("1.00"))
    letters_folder = Text(load_default="letters", validate=validate.Length(min=1))
    iban = Text(load_default=None, validate=_iban)
    bic = Text(load_default=None)
    bank = Text(load_default=None)
    legal_footer = Text(load_default=None)
    reminder_levels = fields.List(fields.Nested(_level_schema), load_default=None)
    distance_selling_threshold = Amount(load_default=Decimal("10000"))
    accounts = fields.Nested(AccountsSettings, load_default=lambda: AccountsSettings().load({}))


def settings(app) -> dict:
    """The billing section, checked when the config loaded, with its defaults."""
    return app.settings("billing")


def collections_specs(app) -> list[str]:
    return [s.strip() for s in str(settings(app)["collections"]).split(",") if s.strip()]
