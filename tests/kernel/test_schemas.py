"""Schemas and validators: the boundary every input crosses; every refusal names the field."""

from decimal import Decimal

import pytest
from marshmallow import ValidationError as SchemaError

from core import validators
from core.errors import ValidationError
from core.schemas import (Exact, OrderLineSchema, OrderSchema, PartnerSchema, ProductSchema, UserSchema,
                          flatten_messages, load)

SIREN, SIRET, VAT = "732829320", "73282932000074", "FR44732829320"
OTHER_SIREN, OTHER_SIRET, OTHER_VAT = "552100554", "55210055400013", "FR96552100554"


def problems(schema, data):
    with pytest.raises(SchemaError) as info:
        schema.load(data)
    return dict(flatten_messages(info.value.messages))


# --- validators ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, compact", [(SIREN, SIREN), ("732 829 320", SIREN), (OTHER_SIREN, OTHER_SIREN)])
def test_valid_siren(value, compact):
    assert validators.siren(value) == compact


@pytest.mark.parametrize("value", ["732829321", "73282932", "7328293200", "ABCDEFGHI", ""])
def test_invalid_siren(value):
    with pytest.raises(SchemaError, match="invalid SIREN"):
        validators.siren(value)


@pytest.mark.parametrize("value", [SIRET, "732 829 320 00074", OTHER_SIRET])
def test_valid_siret(value):
    assert validators.siret(value) == value.replace(" ", "")


@pytest.mark.parametrize("value", ["73282932000075", "7328293200007", SIREN])
def test_invalid_siret(value):
    with pytest.raises(SchemaError, match="invalid SIRET"):
        validators.siret(value)


@pytest.mark.parametrize("value, compact", [(VAT, VAT), ("FR 44 732829320", VAT), ("DE136695976", "DE136695976"),
                                            ("BE0403170701", "BE0403170701"), ("FR40303265045", "FR40303265045")])
def test_valid_vat(value, compact):
    assert validators.vat_number(value) == compact


@pytest.mark.parametrize("value", ["FR45732829320", "732829320", "DE136695970", "XX123"])
def test_invalid_vat(value):
    with pytest.raises(SchemaError, match="invalid VAT number"):
        validators.vat_number(value)


@pytest.mark.parametrize("value", ["FR", "BE", "DE"])
def test_valid_country(value):
    assert validators.country(value) == value


@pytest.mark.parametrize("value", ["fr", "FRA", "France", "", None, "XX", "ZZ", "EU"])
def test_invalid_country(value):
    with pytest.raises(SchemaError, match="invalid country"):
        validators.country(value)


# --- partners -----------------------------------------------------------------------------------

def test_partner_with_consistent_identifiers():
    data = PartnerSchema().load({"name": " Dupont SA ", "siren": "732 829 320", "siret": SIRET, "vat_number": VAT,
                                 "country": " fr ", "email": "a@b.fr", "is_supplier": "oui"})
    assert (data["name"], data["siren"], data["siret"], data["vat_number"]) == ("Dupont SA", SIREN, SIRET, VAT)
    assert data["country"] == "FR" and data["is_customer"] is True and data["is_supplier"] is True


def test_empty_cells_are_absent_values():
    data = PartnerSchema().load({"name": "X", "siren": "", "email": "  ", "is_customer": ""})
    assert data["siren"] is None and data["email"] is None and data["is_customer"] is True


def test_siret_not_belonging_to_siren():
    assert problems(PartnerSchema(), {"name": "X", "siren": SIREN, "siret": OTHER_SIRET}) == {
        "siret": f"SIRET {OTHER_SIRET} does not belong to SIREN {SIREN}"}


def test_french_vat_not_matching_siren():
    assert problems(PartnerSchema(), {"name": "X", "siren": SIREN, "vat_number": OTHER_VAT}) == {
        "vat_number": f"French VAT number {OTHER_VAT} does not match SIREN {SIREN}"}


def test_french_vat_not_matching_siret_alone():
    assert "vat_number" in problems(PartnerSchema(), {"name": "X", "siret": SIRET, "vat_number": OTHER_VAT})


def test_foreign_vat_with_french_siren_is_not_compared():
    assert PartnerSchema().load({"name": "X", "siren": SIREN, "vat_number": "DE136695976"})["vat_number"]


@pytest.mark.parametrize("field, value", [("siren", "123456789"), ("siret", "73282932000075"),
                                          ("vat_number", "FR45732829320"), ("email", "not-an-email"),
                                          ("country", "France"), ("kind", "robot"), ("is_customer", "maybe")])
def test_bad_partner_field_is_named(field, value):
    assert field in problems(PartnerSchema(), {"name": "X", field: value})


def test_partner_is_customer_or_supplier():
    assert problems(PartnerSchema(), {"name": "X", "is_customer": "non", "is_supplier": "0"}) == {
        "is_customer": "a partner is a customer, a supplier or both"}


def test_unknown_and_missing_fields():
    found = problems(PartnerSchema(), {"nom": "X"})
    assert found == {"nom": "unknown field", "name": "required"}


def test_load_raises_one_crm_error_with_every_problem():
    with pytest.raises(ValidationError) as info:
        load(PartnerSchema(), {"name": "", "siren": "1"}, record="partners.csv: line 3")
    error = info.value
    assert str(error).startswith(f"partners.csv: line 3: {error.field}: ")
    assert {f for _, f, _ in error.errors} == {"name", "siren"}


def test_user_login():
    assert UserSchema().load({"login": "j.dupont", "name": "J"})["role"] == "sales"
    assert "login" in problems(UserSchema(), {"login": "J Dupont", "name": "J"})
    assert "role" in problems(UserSchema(), {"login": "j", "name": "J", "role": "boss"})


# --- Exact --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("12.50", "12.50"), ("12,50", "12.50"), ("1 234,5", "1234.50"), ("1\u202f234,5", "1234.50"),
    ("1\xa0234", "1234.00"), (" 7 ", "7.00"), ("-3,1", "-3.10"), ("0", "0.00"), (12, "12.00"),
    (Decimal("2.5"), "2.50"),
])
def test_exact_parses(text, value):
    out = Exact(2).deserialize(text)
    assert isinstance(out, Decimal) and str(out) == value


@pytest.mark.parametrize("text, message", [
    ("abc", "is not a number"), ("1.234,5", "is not a number"), ("1,2,3", "is not a number"),
    ("12.345", "at most 2 decimals"), ("0,001", "at most 2 decimals"), (12.5, "not a float"), (True, "not a float"),
    ("NaN", "is not a number"), ("Infinity", "is not a number"), (Decimal("NaN"), "finite"),
    (Decimal("-Infinity"), "finite"), ([1], "is not a number"),
])
def test_exact_refuses(text, message):
    with pytest.raises(SchemaError) as info:
        Exact(2).deserialize(text)
    assert message in str(info.value)


@pytest.mark.parametrize("text", ["1e999999", "12345678901234567890123456789", "1E+30", "-99999999999999999999"])
def test_exact_refuses_huge_numbers_with_a_message(text):
    with pytest.raises(SchemaError):
        Exact(2).deserialize(text)


@pytest.mark.parametrize("text", ["92233720368547758.08", "100000000000000000"])
def test_exact_refuses_what_the_column_cannot_store(text):
    # ScaledDecimal(2) keeps cents in a 64-bit integer: 2**63 cents is out of reach
    with pytest.raises(SchemaError):
        Exact(2).deserialize(text)
    assert Exact(2).deserialize("92233720368547758.07") == Decimal("92233720368547758.07")


def test_exact_minimum():
    with pytest.raises(SchemaError, match="at least 0"):
        Exact(4, minimum=Decimal(0)).deserialize("-0.01")


# --- products and orders --------------------------------------------------------------------------

@pytest.mark.parametrize("rate", ["20", "10", "5,5", "5.50", "2.1", "0"])
def test_product_french_vat_rates(rate):
    assert ProductSchema().load({"sku": "A-1", "name": "A", "vat_rate": rate})["vat_rate"] == Decimal(rate.replace(",", "."))


@pytest.mark.parametrize("rate", ["19.6", "7", "-20", "100", "5.55"])
def test_product_other_vat_rates_refused(rate):
    assert "vat_rate" in problems(ProductSchema(), {"sku": "A-1", "name": "A", "vat_rate": rate})


def test_product_defaults_and_sku():
    data = ProductSchema().load({"sku": "KG/10", "name": "Flour", "list_price": "0,1234"})
    assert data == {"sku": "KG/10", "name": "Flour", "unit": "unit", "list_price": Decimal("0.1234"),
                    "vat_rate": Decimal("20"), "stockable": True, "kind": "goods"}
    assert "sku" in problems(ProductSchema(), {"sku": "A 1", "name": "A"})
    assert "list_price" in problems(ProductSchema(), {"sku": "A", "name": "A", "list_price": "-1"})
    assert "list_price" in problems(ProductSchema(), {"sku": "A", "name": "A", "list_price": "0.12345"})


@pytest.mark.parametrize("quantity, ok", [("1", True), ("0.001", True), ("2,5", True), ("0", False),
                                          ("-1", False), ("0.0001", False)])
def test_order_line_quantity_must_be_positive(quantity, ok):
    if ok:
        assert OrderLineSchema().load({"sku": "A", "quantity": quantity})["quantity"] > 0
    else:
        assert "quantity" in problems(OrderLineSchema(), {"sku": "A", "quantity": quantity})


def test_order_line_discount_range():
    assert "discount" in problems(OrderLineSchema(), {"sku": "A", "quantity": "1", "discount": "100.5"})
    assert "discount" in problems(OrderLineSchema(), {"sku": "A", "quantity": "1", "discount": "-1"})


def test_nested_errors_have_dotted_names():
    found = problems(OrderSchema(), {"customer": "1", "lines": [
        {"sku": "A", "quantity": "1"}, {"sku": "B", "quantity": "0"}, {"quantity": "1", "colour": "red"}]})
    assert found == {"lines.1.quantity": "must be positive", "lines.2.sku": "required",
                     "lines.2.colour": "unknown field"}


def test_order_needs_a_line():
    assert problems(OrderSchema(), {"customer": "1", "lines": []}) == {"lines": "an order needs at least one line"}


def test_crm_error_names_the_nested_field():
    with pytest.raises(ValidationError) as info:
        load(OrderSchema(), {"customer": "1", "lines": [{"sku": "A", "quantity": "-2"}]}, record="order")
    assert info.value.field == "lines.0.quantity"
    assert str(info.value) == "order: lines.0.quantity: must be positive"


def test_flatten_messages_schema_level_and_lists():
    assert list(flatten_messages({"_schema": ["Invalid input type."]})) == [("_schema", "Invalid input type")]
    assert list(flatten_messages({"a": {"_schema": ["bad"]}, "b": ["x.", "y"]})) == [
        ("a", "bad"), ("b", "x"), ("b", "y")]


@pytest.mark.parametrize("text", ["1e3", "1E3", "1_000", "0x10", "12.5.1", "+", "."])
def test_exact_refuses_non_plain_notation(text):
    with pytest.raises(SchemaError, match="is not a number"):
        Exact(2).deserialize(text)


def test_nul_character_refused_naming_the_field():
    assert problems(PartnerSchema(), {"name": "a\x00b"}) == {"name": "must not contain a NUL character"}
    assert "lines.0.description" in problems(OrderSchema(), {"customer": "1", "lines": [
        {"sku": "A", "quantity": "1", "description": "\x00"}]})
