"""The schema of ``[billing]`` in ``crm.toml`` (registered by ``register_settings``), with its defaults;
the services read the checked section with :func:`plugins.billing.settings.settings`."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from core.configschema import Amount, Boolean, ChannelName, SettingsSchema, Text, WholeNumber
from plugins.billing.settings import ACCOUNTS

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
