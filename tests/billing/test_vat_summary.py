"""``crm vat summary``: a month's bases and VAT per category, hand-computed, on the receipts and the debits basis."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.modules("billing")


@pytest.fixture
def november(books):
    from core.services.catalog import create_product

    with books.tx() as session:
        create_product(session, {"sku": "CONSEIL", "name": "Conseil", "list_price": "90", "kind": "service"})
    durand = books.customer("Durand SA", siren="552081317", vat_number="FR03552081317")
    brussels = books.customer("Brussels Trading SA", country="BE", vat_number="BE0403019261",
                              street="Rue Neuve 1", postal_code="1000", city="Bruxelles")
    geneva = books.customer("Genève SA", country="CH", street="Rue du Rhône 5", postal_code="1204", city="Genève")
    numbers = {
        "october": books.confirm("2026-10-30", durand, [("CONSEIL", "1", "100")]),    # 100 + 20 = 120
        "goods": books.confirm("2026-11-02", durand, [("P20", "1", "100")]),          # 100 + 20
        "services": books.confirm("2026-11-03", durand, [("CONSEIL", "2", "90")]),    # 180 + 36 = 216
        "eu_goods": books.confirm("2026-11-04", brussels, [("P20", "1", "300")]),     # K 300
        "eu_services": books.confirm("2026-11-05", brussels, [("CONSEIL", "1", "90")]),  # AE 90
        "export": books.confirm("2026-11-06", geneva, [("P20", "2", "100")]),         # G 200
    }
    # half the services invoice (108 = 90 + 18) and all of October's services (120) paid in November
    books.pay("2026-11-20", "108", invoice=numbers["services"])
    books.pay("2026-11-21", "120", invoice=numbers["october"])
    return numbers


def _rows(crm, *args):
    data = crm("vat", "summary", "--period", "2026-11", "--json", *args).json
    return data, {(r["category"], r["rate"]): (r["base"], r["vat"]) for r in data["rows"]}


def test_services_on_receipts_goods_on_invoices(crm, november):
    data, rows = _rows(crm, "--details")
    # goods 100 (invoice) + services received: 108 x 180/216 = 90 and 120 x 100/120 = 100
    assert rows == {("S", "20.00"): ("290.00", "58.00"), ("K", "0.00"): ("300.00", "0.00"),
                    ("AE", "0.00"): ("90.00", "0.00"), ("G", "0.00"): ("200.00", "0.00")}
    taxable = next(r for r in data["rows"] if r["category"] == "S")
    assert taxable["documents"] == [
        {"number": november["october"], "basis": "receipt", "base": "100.00"},
        {"number": november["goods"], "basis": "invoice", "base": "100.00"},
        {"number": november["services"], "basis": "receipt", "base": "90.00"}]
    assert data["vat_total"] == "58.00" and data["basis"].startswith("receipts")


def test_on_the_debits_option_services_count_on_their_invoices(crm, november):
    crm("company", "set", "--vat-on-debits")
    data, rows = _rows(crm)
    assert rows[("S", "20.00")] == ("280.00", "56.00")  # 100 + 180, October's invoice not in November
    assert "documents" not in data["rows"][0]


def test_a_month_is_checked(crm, books):
    result = crm("vat", "summary", "--period", "2026-13", expect=None)
    assert result.exit_code != 0 and "'2026-13' is not a month (YYYY-MM)" in result.stderr
