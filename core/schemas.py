"""Marshmallow schemas: the boundary every input crosses (CLI options, CSV rows, config).

Each schema loads plain strings or values into clean Python values (exact decimals, compact
identifiers) and refuses anything else with a message naming the field.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from core import validators
from core.models import LANGUAGES, PARTNER_KINDS, PRODUCT_KINDS, ROLES, VAT_RATES

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
#: a plain decimal as people write it (no exponent, no underscores: Decimal() accepts both).
NUMBER_TEXT_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
#: the largest integer the scaled columns (BigInteger) can hold.
MAX_SCALED = 2**63 - 1
#: "1,234": a comma then exactly three digits, no other separator: 1.234 or 1234? ("0,001" is not: no
#: thousands start with 0)
AMBIGUOUS_RE = re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")
#: the decimal separator a file declares (``--decimal-separator``), for the Exact fields loaded meanwhile
_DECIMAL_SEPARATOR: ContextVar[str | None] = ContextVar("decimal_separator", default=None)


@contextmanager
def decimal_separator(separator: str | None):
    """Read numbers with this declared decimal separator ("," or ".") inside the block."""
    if separator not in (None, ",", "."):
        raise ValueError(f"decimal separator {separator!r}: expected ',' or '.'")
    token = _DECIMAL_SEPARATOR.set(separator)
    try:
        yield
    finally:
        _DECIMAL_SEPARATOR.reset(token)


class Exact(fields.Field):
    """An exact decimal from text ("12.50", "12,50", "1 234,5") or int/Decimal; floats refused.

    "1,234" (a comma then exactly three digits, no other separator) reads as 1.234 in France and
    1234 in England: it is refused as ambiguous unless a decimal separator was declared (see
    :func:`decimal_separator`); then the other mark is a thousands separator ("1.234,50" with ",").
    """

    def __init__(self, places: int, *, minimum: Decimal | None = None, **kwargs):
        super().__init__(**kwargs)
        self.places = places
        self.minimum = minimum

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) or isinstance(value, bool):
            raise ValidationError("must be written as an exact decimal, not a float")
        if isinstance(value, str):
            text = value.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
            declared = _DECIMAL_SEPARATOR.get()
            if declared == ".":
                text = text.replace(",", "")
            elif declared == ",":
                text = text.replace(".", "").replace(",", ".")
            elif AMBIGUOUS_RE.match(text):
                raise ValidationError(f"{value!r} is ambiguous (1.234 or 1234?): write {text.replace(',', '.')} "
                                      f"or {text.replace(',', '')}, or declare the file's decimal separator")
            elif text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")
            if not NUMBER_TEXT_RE.match(text):
                raise ValidationError(f"{value!r} is not a number")
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise ValidationError(f"{value!r} is not a number") from None
        try:
            value = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise ValidationError(f"{value!r} is not a number") from None
        if not value.is_finite():
            raise ValidationError("must be a finite number")
        if abs(value) > Decimal(MAX_SCALED).scaleb(-self.places):
            raise ValidationError("is too large")
        if value != value.quantize(Decimal(1).scaleb(-self.places)):
            raise ValidationError(f"at most {self.places} decimals")
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(f"must be at least {self.minimum}")
        return value.quantize(Decimal(1).scaleb(-self.places))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class _Checked(fields.String):
    """A string checked and normalised by a python-stdnum validator; empty means none."""

    check = staticmethod(lambda v: v)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        return type(self).check(text) if text else None


class Siren(_Checked):
    check = staticmethod(validators.siren)


class Siret(_Checked):
    check = staticmethod(validators.siret)


class VatNumber(_Checked):
    check = staticmethod(validators.vat_number)


class Day(fields.Date):
    """A date (YYYY-MM-DD) within the business range, 2000-01-01 to 2099-12-31."""

    def _deserialize(self, value, attr, data, **kwargs):
        return validators.business_date(super()._deserialize(value, attr, data, **kwargs))


class Flag(fields.Boolean):
    """A yes/no cell: true/false, yes/no, oui/non, 1/0, x/empty."""

    truthy = fields.Boolean.truthy | {"oui", "Oui", "OUI", "x", "X"}
    falsy = fields.Boolean.falsy | {"non", "Non", "NON", ""}


#: Control characters: C0 (line breaks, tabs, escape...), DEL, C1, and the bidirectional embeddings,
#: overrides and isolates that make a name read backwards in a table or a letter.
CONTROLS_RE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: In free text (notes), line breaks and tabs are text; the other controls are not.
TEXT_CONTROLS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_controls(value: str, multiline: bool = False) -> bool:
    """Whether ``value`` holds a character :class:`_Base` refuses (line breaks are fine in free text)."""
    return (TEXT_CONTROLS_RE if multiline else CONTROLS_RE).search(value) is not None


def _controls(key, value, pattern) -> None:
    if "\x00" in value:  # PostgreSQL refuses NUL in text columns
        raise ValidationError("must not contain a NUL character", str(key))
    found = pattern.search(value)
    if found:
        raise ValidationError(f"must not contain control characters (found U+{ord(found.group()):04X}: line "
                              f"breaks, tabs, escapes and bidirectional marks are refused)", str(key))


class _Base(Schema):
    class Meta:
        unknown = RAISE

    #: the free-text fields, where line breaks and tabs are allowed
    multiline = frozenset({"note", "notes"})

    @pre_load
    def _strip(self, data, **kwargs):
        """CSV cells and options arrive as text: trim them; an empty cell is an absent value.

        Names and text refuse control characters, naming the field: a CR/LF or a bidi override
        in a name breaks tables, CSV exports and the letters a customer reads.
        """
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            pattern = TEXT_CONTROLS_RE if key in self.multiline else CONTROLS_RE
            if isinstance(value, str):
                value = value.strip()
                _controls(key, value, pattern)
                if value == "":
                    continue
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, str):
                        _controls(key, item.strip(), pattern)
            cleaned[key] = value
        return cleaned


def _optional_text(length: int):
    return fields.String(load_default=None, validate=validate.Length(max=length))


class PartnerSchema(_Base):
    """A customer and/or supplier; identifiers validated and stored in compact form."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="company", validate=validate.OneOf(PARTNER_KINDS))
    is_customer = Flag(load_default=True)
    is_supplier = Flag(load_default=False)
    email = fields.Email(load_default=None, validate=validate.Length(max=254))
    phone = _optional_text(40)
    street = _optional_text(200)
    postal_code = _optional_text(20)
    city = _optional_text(100)
    country = fields.String(load_default="FR", validate=validators.country)
    siren = Siren(load_default=None)
    siret = Siret(load_default=None)
    vat_number = VatNumber(load_default=None)
    language = fields.String(load_default=None, validate=validate.OneOf(
        LANGUAGES, error="must be one of fr, en (the language of what the partner reads)"))
    salesperson = fields.String(load_default=None)

    @pre_load
    def _upper_country(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("country"), str):
            data["country"] = data["country"].strip().upper()
        if isinstance(data, dict) and isinstance(data.get("language"), str):
            data["language"] = data["language"].strip().lower()
        return data

    @validates_schema
    def _consistent(self, data, **kwargs):
        siren, siret, vat = data.get("siren"), data.get("siret"), data.get("vat_number")
        if siret and siren and not siret.startswith(siren):
            raise ValidationError(f"SIRET {siret} does not belong to SIREN {siren}", "siret")
        if vat and vat.startswith("FR") and (siren or siret) and vat[4:] != (siren or siret[:9]):
            raise ValidationError(f"French VAT number {vat} does not match SIREN {siren or siret[:9]}",
                                  "vat_number")
        if not data.get("is_customer") and not data.get("is_supplier"):
            raise ValidationError("a partner is a customer, a supplier or both", "is_customer")


class ContactSchema(_Base):
    """A person at a partner."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None)
    phone = _optional_text(40)
    function = _optional_text(100)


class UserSchema(_Base):
    """A CRM user and the role that decides which notifications reach them."""

    login = fields.String(required=True, validate=validate.Regexp(
        LOGIN_RE, error="use lower-case letters, digits, '.', '_' or '-' (at most 64)"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None)
    role = fields.String(load_default="sales", validate=validate.OneOf(ROLES))


class TeamSchema(_Base):
    """A team: a name, an optional leader and members, by login."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    leader = fields.String(load_default=None)
    members = fields.List(fields.String(), load_default=list)


class ProductSchema(_Base):
    """A product; the VAT rate is one of the French rates."""

    sku = fields.String(required=True, validate=validate.Regexp(
        SKU_RE, error="letters, digits, '.', '_', '/' or '-', at most 64, no spaces"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    unit = fields.String(load_default="unit", validate=validate.Length(min=1, max=20))
    list_price = Exact(4, minimum=Decimal(0), load_default=Decimal("0.0000"))
    vat_rate = Exact(2, load_default=Decimal("20.00"), validate=validate.OneOf(
        VAT_RATES, error="must be one of 20, 10, 5.5, 2.1 or 0 (French VAT rates)"))
    stockable = Flag(load_default=True)
    kind = fields.String(load_default="goods", validate=validate.OneOf(
        PRODUCT_KINDS, error="must be goods or service (the invoice says which: CGI art. 242 nonies A)"))


class OrderLineSchema(_Base):
    """One line: a product by SKU, a quantity, and optionally a price and a discount."""

    sku = fields.String(required=True)
    quantity = Exact(3, required=True, validate=validate.Range(min=Decimal("0.001"), error="must be positive"))
    unit_price = Exact(4, minimum=Decimal(0), load_default=None)
    discount = Exact(2, load_default=Decimal("0.00"), validate=validate.Range(
        min=Decimal(0), max=Decimal(100), error="must be between 0 and 100"))
    description = _optional_text(200)


class OrderSchema(_Base):
    """A sales order: the customer, who sells it, its lines."""

    customer = fields.String(required=True)
    salesperson = fields.String(load_default=None)
    team = fields.String(load_default=None)
    order_date = Day(load_default=None)
    origin = _optional_text(100)
    note = fields.String(load_default=None)
    delivery_street = _optional_text(200)
    delivery_postal_code = _optional_text(20)
    delivery_city = _optional_text(100)
    delivery_country = fields.String(load_default=None, validate=validators.country)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True,
                        validate=validate.Length(min=1, error="an order needs at least one line"))

    @pre_load
    def _upper_country(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("delivery_country"), str):
            data["delivery_country"] = data["delivery_country"].strip().upper()
        return data

    @validates_schema
    def _whole_delivery_address(self, data, **kwargs):
        given = [key for key in DELIVERY_FIELDS if data.get(key)]
        for key in ("delivery_street", "delivery_city"):
            if given and not data.get(key):
                raise ValidationError("a delivery address needs a street and a city", key)


#: legal forms (the ones people write after the name); EI and EIRL have no share capital
LEGAL_FORMS = ("SAS", "SASU", "SARL", "EURL", "SA", "SNC", "SCS", "SCA", "SCOP", "SCI", "SELARL", "SELAS",
               "EI", "EIRL")
WITHOUT_CAPITAL = ("EI", "EIRL")
REGISTRIES = ("RCS", "RM", "RNE")
#: electronic address schemes (EAS code list) the French platforms route on
EINVOICE_SCHEMES = ("0225", "0009", "0002", "0088", "EM")

class Iban(_Checked):
    check = staticmethod(validators.iban)


class Bic(_Checked):
    check = staticmethod(validators.bic)


class CompanySchema(_Base):
    """The company's legal identity (``crm company set``, ``crm init``): every field optional, checked.

    The posting check (:func:`core.services.company.missing_mentions`) says which ones an invoice
    needs; this schema only refuses what is wrong.
    """

    name = _optional_text(200)
    legal_form = fields.String(load_default=None, validate=validate.OneOf(
        LEGAL_FORMS, error=f"must be one of {', '.join(LEGAL_FORMS)}"))
    street = _optional_text(200)
    postal_code = _optional_text(20)
    city = _optional_text(100)
    country = fields.String(load_default="FR", validate=validators.country)
    siren = Siren(load_default=None)
    siret = Siret(load_default=None)
    trade_register = fields.String(load_default=None, validate=validate.OneOf(
        REGISTRIES, error="must be RCS (trade register), RM (crafts) or RNE (national register)"))
    register_city = _optional_text(100)
    share_capital = Exact(2, minimum=Decimal(0), load_default=None)
    vat_number = VatNumber(load_default=None)
    iban = Iban(load_default=None)
    bic = Bic(load_default=None)
    bank = _optional_text(100)
    vat_on_debits = Flag(load_default=False)
    vat_franchise = Flag(load_default=False)
    einvoice_address = _optional_text(100)
    einvoice_scheme = fields.String(load_default=None, validate=validate.OneOf(
        EINVOICE_SCHEMES, error="must be 0225 (SIREN-based French address), 0009 (SIRET), 0002 (SIREN), "
                                "0088 (GLN) or EM (e-mail)"))
    email = fields.Email(load_default=None, validate=validate.Length(max=254))
    phone = _optional_text(40)
    logo = _optional_text(200)

    @pre_load
    def _normalise_codes(self, data, **kwargs):
        if isinstance(data, dict):
            for key in ("country", "legal_form", "trade_register"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].strip().upper()
        return data

    @validates_schema
    def _consistent(self, data, **kwargs):
        siren, siret, vat = data.get("siren"), data.get("siret"), data.get("vat_number")
        if siret and siren and not siret.startswith(siren):
            raise ValidationError(f"SIRET {siret} does not belong to SIREN {siren}", "siret")
        if vat and vat.startswith("FR") and (siren or siret) and vat[4:] != (siren or siret[:9]):
            raise ValidationError(f"French VAT number {vat} does not match SIREN {siren or siret[:9]}",
                                  "vat_number")
        if data.get("legal_form") in WITHOUT_CAPITAL and data.get("share_capital"):
            raise ValidationError(f"a {data['legal_form']} has no share capital", "share_capital")


#: the fields of an order's delivery address (all empty: the goods go to the customer's address)
DELIVERY_FIELDS = ("delivery_street", "delivery_postal_code", "delivery_city", "delivery_country")


def load(schema: Schema, data: dict, record: str | None = None) -> dict:
    """Validate ``data`` with ``schema``; the first problem becomes one :class:`core.errors.ValidationError`."""
    from core.errors import ValidationError as CrmValidationError

    try:
        return schema.load(data)
    except ValidationError as exc:
        problems = list(flatten_messages(exc.messages))
        field, message = problems[0]
        raise CrmValidationError(message, record=record, field=field,
                                 errors=[(record, f, m) for f, m in problems]) from None


def flatten_messages(messages, prefix: str = ""):
    """Yield ``(dotted.field, message)`` from marshmallow's nested error dict."""
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, (dict, list)):
                yield from flatten_messages(message, prefix)
            else:
                text = "unknown field" if message == "Unknown field." else str(message).rstrip(".")
                yield prefix.rstrip(".") or "_schema", text.replace("Missing data for required field", "required")
        return
    for key, value in messages.items():
        name = prefix if key == "_schema" else f"{prefix}{key}."
        yield from flatten_messages(value, name)
