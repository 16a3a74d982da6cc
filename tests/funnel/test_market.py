"""The market: a Sirene establishment extract imported all or nothing, coverage per segment by
hand, and prospects never contacted turned into leads without duplicates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from plugins.funnel import deals, leads
from plugins.funnel.market import bands_within, department_of, siren_ok, siret_ok, size_label
from plugins.funnel.models import Lead, MarketCompany

pytestmark = pytest.mark.modules("funnel")

HEADER = ("siren,nic,siret,dateCreationEtablissement,trancheEffectifsEtablissement,activitePrincipaleEtablissement,"
          "etablissementSiege,denominationUsuelleEtablissement,enseigne1Etablissement,codePostalEtablissement,"
          "libelleCommuneEtablissement,etatAdministratifEtablissement,statutDiffusionEtablissement")


def luhn(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def company(n: int) -> str:
    return luhn(f"{40_000_000 + n:08d}")


def establishment(n: int, branch: int = 1, *, naf="43.21A", postal="69003", band="11", state="A", head="true",
                  name=None, created="2001-05-14") -> str:
    siren = company(n)
    siret = luhn(f"{siren}{branch:04d}")
    return (f"{siren},{siret[9:]},{siret},{created},{band},{naf},{head},{name or f'Company {n}'},,{postal},LYON,"
            f"{state},O")


#: the market of the coverage tests (companies 1..8, SIRENs company(n)):
#:   1  43.21A  69  band 11 (10-19)  active, two establishments (69003 head office, 75011)
#:   2  43.21A  69  band 12 (20-49)  active
#:   3  43.21A  75  band 12          active
#:   4  47.11F  69  band 12          active
#:   5  43.21A  69  band 11          closed (F): not in the market
#:   6  43.21A  69  band 03 (6-9)    active
#:   7  43.21A  69  band 12          active, no name
#:   8  43.21A  2A  band NN          active (Ajaccio)
MARKET = [
    establishment(1), establishment(1, 2, postal="75011", head="false"), establishment(2, band="12"),
    establishment(3, postal="75011", band="12"), establishment(4, naf="47.11F", band="12"),
    establishment(5, state="F"), establishment(6, band="03"), establishment(7, band="12", name=" "),
    establishment(8, postal="20000", band=""),
]


def write(tmp_path, rows, header=HEADER, name="StockEtablissement.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def market(crm, tmp_path):
    result = crm("market", "import", str(write(tmp_path, MARKET)), "--json").json
    assert result == {"imported": 9, "active": 8}
    return result


def test_the_import_reads_the_sirene_layout(app, market):
    with app.transaction() as session:
        one = session.get(MarketCompany, luhn(f"{company(1)}0001"))
        assert (one.siren, one.naf, one.postal_code, one.department, one.size_band, one.created_on, one.active,
                one.head_office, one.name, one.city) == (company(1), "4321A", "69003", "69", "11",
                                                        dt.date(2001, 5, 14), True, True, "Company 1", "LYON")
        corsica = session.get(MarketCompany, luhn(f"{company(8)}0001"))
        assert (corsica.department, corsica.size_band) == ("2A", "NN")
        assert session.get(MarketCompany, luhn(f"{company(7)}0001")).name is None


def with_numbers(siren: str, nic: str, siret: str) -> str:
    """A good row of company 9 carrying other identification numbers."""
    return ",".join([siren, nic, siret] + establishment(9).split(",")[3:])


BAD_KEY = company(9)[:8] + str((int(company(9)[8]) + 1) % 10)
GOOD_SIRET = luhn(company(9) + "0001")
BAD_SIRET = GOOD_SIRET[:13] + str((int(GOOD_SIRET[13]) + 1) % 10)


@pytest.mark.parametrize("row, field", [
    (with_numbers(BAD_KEY, "00019", BAD_KEY + "00019"), "siren"),                  # a wrong SIREN key
    (with_numbers(company(9), BAD_SIRET[9:], BAD_SIRET), "siret"),                 # a wrong SIRET key
    (with_numbers(company(9), "0001", company(9) + "0001"), "nic"),
    (with_numbers(company(9), "00019", luhn(company(10) + "0001")), "siret"),      # not siren + nic
    (establishment(9, naf="4321A"), "activitePrincipaleEtablissement"),           # no dot: not the register's
    (establishment(9, postal="6900"), "codePostalEtablissement"),
    (establishment(9, band="13"), "trancheEffectifsEtablissement"),
    (establishment(9, created="2026-02-30"), "dateCreationEtablissement"),
    (establishment(9, created="14/05/2001"), "dateCreationEtablissement"),
    (establishment(9, state="X"), "etatAdministratifEtablissement"),
    (establishment(9, head="oui"), "etablissementSiege"),
    (establishment(1), "siret"),                                                   # twice in the file
    ("123", "row"),
    (with_numbers(company(9)[:8] + "²", "00019", company(9)[:8] + "²00019"), "siren"),  # not an ASCII digit
    (establishment(9, postal="٦٩٠٠٣"), "codePostalEtablissement"),
])
def test_a_malformed_file_is_refused_whole_naming_the_line_and_field(crm, app, tmp_path, market, row, field):
    # line 1 is the header, the bad row is on line 4, after two good ones
    path = write(tmp_path, [establishment(1), establishment(10), row, establishment(12)], name="bad.csv")
    failed = crm("market", "import", str(path), expect=1)
    assert failed.stderr.startswith(f"error: bad.csv line 4: {field}: "), failed.stderr
    assert "nothing was imported" in failed.stderr
    as_json = crm("market", "import", str(path), "--json", expect=1).json
    assert as_json["imported"] is False and as_json["errors"][0]["record"] == "bad.csv line 4"
    with app.transaction() as session:   # the market is the one imported before, untouched, indexes too
        assert session.execute(select(func.count()).select_from(MarketCompany)).scalar() == 9
        indexes = {index["name"] for index in inspect(session.connection()).get_indexes("funnel_market_company")}
        assert indexes >= {"ix_funnel_market_naf", "ix_funnel_market_department", "ix_funnel_market_size",
                           "ix_funnel_market_siren"}


def test_every_bad_row_is_listed_and_a_missing_column_is_named(crm, tmp_path):
    path = write(tmp_path, [establishment(1, band="99"), establishment(2), establishment(3, state="?")])
    failed = crm("market", "import", str(path), expect=1)
    assert "line 2: trancheEffectifsEtablissement" in failed.stderr and "(2 bad rows; nothing was imported)" \
        in failed.stderr
    assert "line 4: etatAdministratifEtablissement" in failed.stderr
    header = HEADER.replace("siret,", "")
    failed = crm("market", "import", str(write(tmp_path, [], header=header, name="cols.csv")), expect=1)
    assert "cols.csv line 1: siret: missing column(s) siret" in failed.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.text(alphabet="0123456789", min_size=5,
                                                                        max_size=5), st.booleans())
def test_the_fast_check_digits_agree_with_python_stdnum(digits, nic, poste):
    siren = luhn(digits[:8]) if digits[0] < "5" else digits       # valid and random SIRENs alike
    assert siren_ok(siren) == stdnum_siren.is_valid(siren)
    siret = ("356000000" + nic) if poste else siren + nic
    for candidate in (siret, luhn(siret[:13])):
        assert siret_ok(candidate) == stdnum_siret.is_valid(candidate), candidate


def test_segments_sizes_and_departments():
    assert bands_within("10-49") == ["11", "12"]
    assert bands_within("250+") == ["32", "41", "42", "51", "52", "53"]
    assert bands_within("12") == ["12"] and bands_within("0-9") == ["00", "01", "02", "03"]
    assert size_label("12") == "20-49" and size_label("53") == "10000+" and size_label("NN") == "unknown"
    assert [department_of(p) for p in ("69003", "20000", "20290", "97411", "01000", None)] == [
        "69", "2A", "2B", "974", "01", None]


@pytest.fixture
def relations(app, factory, market):
    """Company 1 is our customer (a confirmed order of 300.00 + a delivered one of 200.00, a draft
    of 999 not counted); company 2 is a lead; company 3 a partner with a lost deal; company 4 a
    customer whose only order is cancelled (not a customer, no revenue)."""
    from core.services.orders import cancel_order, confirm_order, create_order, deliver_order

    product = factory.product(sku="P", list_price="100")
    one = factory.partner(name="Company 1", siren=company(1))
    three = factory.partner(name="Company 3", siren=company(3))
    four = factory.partner(name="Company 4", siren=company(4))
    with app.transaction() as session:
        for quantity, then in (("3", "confirm"), ("2", "deliver"), ("9.99", None)):
            order = create_order(app, session, {"customer": str(one.id), "lines": [
                {"sku": product.sku, "quantity": quantity}]})
            if then:
                confirm_order(app, session, order)
            if then == "deliver":
                deliver_order(app, session, order)
        order = create_order(app, session, {"customer": str(four.id), "lines": [{"sku": "P", "quantity": "1"}]})
        confirm_order(app, session, order)
        cancel_order(app, session, order, "changed their mind")
        leads.create_lead(app, session, {"name": "Company 2", "siren": company(2)})
        deal = deals.create_deal(app, session, {"name": "D", "customer": str(three.id), "value": "50",
                                                "expected_close": "2026-12-31"})
        deals.lose(app, session, deal, "price")


def test_coverage_per_segment_by_hand(crm, relations):
    data = crm("market", "coverage", "--by", "department", "--json").json
    rows = {r["segment"]: (r["companies"], r["customers"], r["leads"], r["lost"], r["revenue"], r["penetration"])
            for r in data["segments"]}
    assert rows == {
        # active companies with an establishment in 69: 1, 2, 4, 6, 7 (5 is closed)
        "69": (5, 1, 1, 0, "500.00", "20.00"),
        # 75: company 1's second establishment and company 3
        "75": (2, 1, 0, 1, "500.00", "50.00"),
        "2A": (1, 0, 0, 0, "0.00", "0.00"),
    }
    # the total counts company 1 once
    assert data["total"] == {"segment": None, "label": None, "companies": 7, "customers": 1, "leads": 1, "lost": 1,
                             "penetration": "14.29", "revenue": "500.00"}
    by_size = {r["label"]: r["companies"] for r in crm("market", "coverage", "--by", "size", "--json").json["segments"]}
    assert by_size == {"20-49": 4, "10-19": 1, "6-9": 1, "unknown": 1}
    by_naf = crm("market", "coverage", "--json").json["segments"]
    assert [(r["label"], r["companies"], r["customers"]) for r in by_naf] == [("43.21A", 6, 1), ("47.11F", 1, 0)]
    only = crm("market", "coverage", "--by", "naf", "--department", "69", "--size", "10-49", "--json").json
    assert [(r["segment"], r["companies"]) for r in only["segments"]] == [("4321A", 3), ("4711F", 1)]
    text = crm("market", "coverage", "--by", "department").stdout
    assert "Total: 7 companies, 1 customers, 1 leads, 1 lost, revenue 500.00" in text


def test_prospects_are_the_companies_never_contacted(crm, app, relations):
    # 43.21A in 69 with 10 to 49 people: companies 1 (customer), 2 (lead), 7 -> only 7 is new
    found = crm("market", "prospects", "--naf", "4321A", "--department", "69", "--size", "10-49", "--json").json
    assert [(r["siren"], r["name"], r["naf"], r["size"]) for r in found] == [(company(7), None, "43.21A", "20-49")]
    # the whole of 43.21 (prefix): 6 (6-9) and 7 and 8; company 3 is a partner, 5 is closed
    assert [r["siren"] for r in crm("market", "prospects", "--naf", "43.21", "--json").json] == [
        company(6), company(7), company(8)]
    assert len(crm("market", "prospects", "--naf", "43", "--limit", "2", "--json").json) == 2
    created = crm("market", "prospects", "--naf", "43.21A", "--create-leads", "--owner", "alice", "--json",
                  expect=1)
    assert "owner: no such user" in created.stderr   # nothing created (see below: only the next two)
    made = crm("market", "prospects", "--naf", "43.21A", "--limit", "2", "--create-leads", "--json").json
    assert [r["siren"] for r in made] == [company(6), company(7)]
    with app.transaction() as session:
        new = session.scalars(select(Lead).where(Lead.source == "Sirene").order_by(Lead.id)).all()
        assert [(lead.siren, lead.name, lead.company) for lead in new] == [
            (company(6), "Company 6", "Company 6"), (company(7), f"SIREN {company(7)}", f"SIREN {company(7)}")]
    # contacted now: they are not offered again, and a second run creates no duplicate
    assert [r["siren"] for r in crm("market", "prospects", "--naf", "43.21A", "--create-leads", "--json").json] \
        == [company(8)]
    assert crm("market", "prospects", "--naf", "43.21A", "--json").json == []
    assert "not a NAF" in crm("market", "prospects", "--naf", "XX", expect=1).stderr
    assert "headcount" in crm("market", "prospects", "--size", "many", expect=1).stderr


def test_a_file_that_is_not_csv_text_is_refused_whole(crm, tmp_path, market):
    binary = tmp_path / "binary.csv"
    binary.write_bytes((HEADER + "\n" + establishment(10) + "\n").encode() + b"\xff\xfe\x00broken\n")
    assert "binary.csv line 3: row: not UTF-8 text" in crm("market", "import", str(binary), expect=1).stderr
    nul = tmp_path / "nul.csv"
    nul.write_text(HEADER + "\n" + establishment(10) + "\nab\x00c\n", encoding="utf-8")
    assert "nul.csv line 3: row:" in crm("market", "import", str(nul), expect=1).stderr
    assert "is a directory" in crm("market", "import", str(tmp_path), expect=2).stderr
    assert crm("market", "coverage", "--json").json["total"]["companies"] == 7   # the market as it was
