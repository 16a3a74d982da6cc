"""Validators shared by the config and the schemas: identifiers checked with python-stdnum.

The business-date bounds are read by every command (``--today``): marshmallow, whose error the
validators raise, is imported only when a value is refused.
"""

from __future__ import annotations

import datetime as dt
import re

#: Business dates Entonnoir accepts: far enough either way for any real replay, and clear of the
#: calendar's end, where a due date 60 days later would not exist (OverflowError).
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def _refused(message: str) -> Exception:
    """marshmallow's ValidationError saying ``message`` (what a schema reports for its field)."""
    from marshmallow import ValidationError

    return ValidationError(message)


def _stdnum(module, label: str, value: str) -> str:
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        return module.validate(value)
    except StdnumError as exc:
        raise _refused(f"invalid {label} {value!r} ({exc.message.rstrip('.').lower()})") from None


def siren(value: str) -> str:
    """A French SIREN: 9 digits with a valid Luhn key; spaces are dropped."""
    from stdnum.fr import siren as mod

    return _stdnum(mod, "SIREN", value)


def siret(value: str) -> str:
    """A French SIRET: 14 digits (SIREN + establishment number) with a valid key."""
    from stdnum.fr import siret as mod

    return _stdnum(mod, "SIRET", value)


def vat_number(value: str) -> str:
    """An EU VAT number with its country prefix (FR40303265045, DE136695976...)."""
    from stdnum.eu import vat as mod

    return _stdnum(mod, "VAT number", value)


def iban(value: str) -> str:
    """An IBAN with a valid check (spaces dropped, upper case)."""
    from stdnum import iban as mod

    return _stdnum(mod, "IBAN", value)


def bic(value: str) -> str:
    """A BIC (SWIFT code): 8 or 11 characters naming a bank, a country and a place."""
    from stdnum import bic as mod

    return _stdnum(mod, "BIC", value)


def country(value: str) -> str:
    """An ISO 3166 alpha-2 country code that names a country (FR, BE, DE...; not XX)."""
    if not COUNTRY_RE.match(value or "") or value not in _countries():
        raise _refused(f"invalid country {value!r} (expected an ISO code such as FR)")
    return value


def _countries() -> frozenset:
    """The countries Unicode CLDR knows (through babel), without the European Union and the unknown region."""
    from babel.core import get_global

    return frozenset(get_global("territory_currencies")) - {"EU", "ZZ"}


def business_date(value: dt.date) -> dt.date:
    """A date within :data:`FIRST_DATE` .. :data:`LAST_DATE`."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise _refused(f"{value} is out of range (dates run from {FIRST_DATE} to {LAST_DATE})")
    return value
