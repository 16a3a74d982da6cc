"""No incomplete invoice leaves: posting is refused while a mandatory mention is missing.

Code de commerce L441-9 and R123-237, CGI art. 242 nonies A: the seller's name, legal form,
address, SIREN, registry and share capital, VAT number; the buyer's name and address, and (2026
reform) a French business buyer's SIREN. Refused by hand, on order confirmation (the plain-SQL path
and the general one) and for a credit note, with one line naming every missing field and the
command that sets it; nothing is numbered and nothing is written (the next number is the same).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

pytestmark = pytest.mark.modules("billing")


def _counts(app) -> tuple:
    from plugins.billing.models import Invoice, Sequence

    with app.transaction() as session:
        return (session.scalar(select(func.count()).select_from(Invoice)),
                tuple(session.execute(select(Sequence.series, Sequence.last_value).order_by(Sequence.series)).all()))


def _blank_company(app, *fields):
    with app.transaction() as session:
        session.execute(text(f"UPDATE core_company SET {', '.join(f'{f} = NULL' for f in fields)}"))
    app.__dict__.pop("_company_identity", None)


def test_a_company_without_legal_form_rcs_and_capital_cannot_post(books, crm, app):
    customer = books.customer("Durand SA")
    _blank_company(app, "legal_form", "register_city", "share_capital")
    before = _counts(app)
    refused = crm("invoice", "create", "--customer", "Durand SA", "--line", "P20:1", "--post", expect=1)
    line = refused.stderr.strip()
    assert "\n" not in line
    assert line.startswith("error: invoice draft #")
    assert "company legal form, register city, share capital" in line
    assert "(`crm company set --legal-form ... --rcs-city ... --share-capital ...`)" in line
    assert _counts(app) == before  # no draft, no number: the transaction was rolled back whole
    # a refused order confirmation leaves the order a draft and takes no number either
    order = crm("order", "create", "--customer", str(customer), "--line", "P20:1", "--json").json
    assert "company legal form" in crm("order", "confirm", order["number"] or str(order["id"]), expect=1).stderr
    assert _counts(app) == before
    crm("company", "set", "--legal-form", "SAS", "--rcs-city", "Lyon", "--share-capital", "50000")
    posted = crm("invoice", "create", "--customer", "Durand SA", "--line", "P20:1", "--post", "--json").json
    assert posted["number"] == "F2026-000001"  # the refused attempts consumed no number


def test_order_confirmation_names_the_customer_fields_missing_on_both_paths(books, crm, app):
    complete = books.customer("Durand SA")
    first = books.confirm("2026-11-02", complete)  # the year's first number: the series row exists now
    assert first == "F2026-000001"
    person = crm("partner", "add", "Atelier Sans Adresse", "--json").json  # a French company without SIREN
    before = _counts(app)
    order = crm("order", "create", "--customer", str(person["id"]), "--line", "P20:1", "--json").json
    refused = crm("order", "confirm", str(order["id"]), expect=1).stderr.strip()
    assert f"customer {person['id']} (Atelier Sans Adresse) street, postal code, city, SIREN" in refused
    assert f"(`crm partner edit {person['id']} --street ... --postal-code ... --city ... --siren ...`)" in refused
    assert "company" not in refused.split("mentions missing:")[1]  # the seller is complete: only the buyer named
    assert _counts(app) == before
    assert crm("order", "show", str(order["id"]), "--json").json["state"] == "draft"
    crm("partner", "edit", str(person["id"]), "--street", "2 rue Haute", "--postal-code", "69001", "--city", "Lyon",
        "--siren", "552081317")
    crm("order", "confirm", str(order["id"]))
    assert _counts(app)[1] == (("F2026", 2),)


def test_a_consumer_needs_an_address_but_no_siren(books, crm):
    jean = books.customer("Jean Dupont", kind="person", street=None, postal_code=None, city=None)
    refused = crm("invoice", "create", "--customer", "Jean Dupont", "--line", "P20:1", "--post", expect=1).stderr
    assert f"customer {jean} (Jean Dupont) street, postal code, city (" in refused and "SIREN" not in refused
    crm("partner", "edit", str(jean), "--street", "5 rue Basse", "--postal-code", "75004", "--city", "Paris")
    assert crm("invoice", "create", "--customer", "Jean Dupont", "--line", "P20:1", "--post", "--json").json["number"]


def test_a_business_buyer_elsewhere_in_the_eu_gives_its_vat_number(books, crm):
    books.customer("Brussels Trading", country="BE", street="Rue Neuve 1", postal_code="1000", city="Bruxelles")
    refused = crm("invoice", "create", "--customer", "Brussels Trading", "--line", "P20:1", "--post", expect=1).stderr
    assert "VAT number" in refused and "SIREN" not in refused


def test_a_credit_note_is_refused_too_and_writes_nothing(books, crm, app):
    number = books.confirm("2026-11-02", books.customer("Durand SA"))
    _blank_company(app, "vat_number")
    before = _counts(app)
    refused = crm("invoice", "credit", number, expect=1).stderr.strip()
    assert refused.startswith("error: credit note draft #") and "company vat number" in refused
    assert "(`crm company set --vat-number ...`)" in refused
    assert _counts(app) == before
    assert crm("invoice", "show", number, "--json").json["state"] == "posted"


def test_company_show_lists_what_posting_still_needs(crm, app):
    _blank_company(app, "share_capital", "trade_register", "register_city")
    data = crm("company", "show", "--json").json
    assert data["missing"] == ["trade_register", "register_city", "share_capital"]
    crm("company", "set", "--trade-register", "RNE", "--legal-form", "EI")
    assert crm("company", "show", "--json").json["missing"] == []  # a sole trader: no capital, RNE has no city
