"""CSV import and export: validate every row first, name line and field, write all or nothing."""

import csv
import io
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.errors import CrmError, NotFound, ValidationError
from core.importexport import DataKind, get_kind, neutralise, read_csv, run_import, write_export
from core.models import Partner, Product

SIREN, VAT = "732829320", "FR44732829320"
PARTNER_HEADER = "name,email,siren,vat_number,salesperson\n"


def write(tmp_path, text, name="partners.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def count(app, model):
    with app.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def products(app):
    with app.transaction() as session:
        return {p.sku: p for p in session.scalars(select(Product))}


# --- all or nothing -----------------------------------------------------------------------------

BAD_PARTNERS = (PARTNER_HEADER
                + "Dupont SA,contact@dupont.fr,,,\n"
                + "Martin SARL,martin@example.com,123456789,,\n"
                + "Durand,durand@example.com,,,\n"
                + "Petit,not-an-email,,,\n")


def test_bad_rows_write_nothing_and_are_all_listed(app, tmp_path):
    path = write(tmp_path, BAD_PARTNERS)
    with pytest.raises(ValidationError) as info:
        run_import(app, get_kind(app, "partners"), path)
    error = info.value
    assert str(error).startswith("partners.csv: line 3: siren: invalid SIREN '123456789'")
    assert str(error).endswith("(and 1 more bad row; nothing was imported)")
    assert [(record, field) for record, field, _ in error.errors] == [("line 3", "siren"), ("line 5", "email")]
    assert count(app, Partner) == 0
    assert not (tmp_path / "partners.rejected.csv").exists()


def test_bad_rows_through_the_cli(crm, app, tmp_path):
    path = write(tmp_path, BAD_PARTNERS)
    result = crm("import", "partners", path, expect=1)
    lines = [line.strip() for line in result.stderr.strip().splitlines()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: partners.csv: line 3: siren: invalid SIREN")
    assert "nothing was imported" in errors[0]
    assert any(line.startswith("line 5: email:") for line in lines)
    assert count(app, Partner) == 0


def test_good_file_imports_everything(crm, app, tmp_path):
    path = write(tmp_path, PARTNER_HEADER + f"Dupont SA,contact@dupont.fr,{SIREN},{VAT},\nMartin,m@example.com,,,\n")
    result = crm("import", "partners", path, "--json")
    assert result.json["created"] == 2 and result.json["rejected"] == 0
    rows = crm("partner", "list", "--json").json
    assert sorted(r["name"] for r in rows) == ["Dupont SA", "Martin"]


def test_write_time_failure_without_skip_rolls_back_earlier_rows(app, factory, tmp_path):
    factory.user(login="alice")
    path = write(tmp_path, PARTNER_HEADER + "A,a@example.com,,,alice\nB,b@example.com,,,ghost\nC,c@example.com,,,\n")
    with pytest.raises(ValidationError) as info:
        run_import(app, get_kind(app, "partners"), path)
    assert str(info.value).startswith("partners.csv: line 3: _row: user 'ghost': no such user")
    assert count(app, Partner) == 0


# --- file format ----------------------------------------------------------------------------------

def test_semicolon_file_with_bom(crm, app, tmp_path):
    path = write(tmp_path, "\ufeffsku;name;list_price;vat_rate\nA-1;Pommes, golden;1 234,5;5,5\nB-2;Poires;0,1234;20\n",
                 name="products.csv")
    result = crm("import", "products", path, "--json")
    assert result.json["created"] == 2
    found = products(app)
    assert found["A-1"].name == "Pommes, golden"
    assert found["A-1"].list_price == Decimal("1234.5") and found["A-1"].vat_rate == Decimal("5.5")
    assert found["B-2"].list_price == Decimal("0.1234")


def test_quoted_cells_with_commas_and_newlines(app, tmp_path):
    path = write(tmp_path, 'sku,name\nA,"Pommes, poires"\nB,"deux\nlignes"\nC,x\n', name="products.csv")
    header, rows = read_csv(path, ("sku", "name"))
    assert [line for line, _ in rows] == [2, 3, 5]  # a row is named by the line it starts on
    assert rows[1][1]["name"] == "deux\nlignes"


def test_unknown_column_is_named(crm, app, tmp_path):
    path = write(tmp_path, "sku,name,colour\nA,B,red\n", name="products.csv")
    result = crm("import", "products", path, expect=1)
    assert "products.csv: line 1: unknown column 'colour'" in result.stderr
    assert "--map" in result.stderr
    assert count(app, Product) == 0


def test_repeated_column_refused(app, tmp_path):
    path = write(tmp_path, "sku,name,sku\nA,B,C\n", name="products.csv")
    with pytest.raises(CrmError, match="line 1: column sku appears twice"):
        run_import(app, get_kind(app, "products"), path)


def test_map_renames_columns(crm, app, tmp_path):
    path = write(tmp_path, "Raison sociale;SIREN;Courriel\nDupont SA;732 829 320;c@dupont.fr\n")
    result = crm("import", "partners", path, "--map", "Raison sociale=name", "--map", "SIREN=siren",
                 "--map", "Courriel=email", "--json")
    assert result.json["created"] == 1
    with app.transaction() as session:
        partner = session.scalars(select(Partner)).one()
        assert (partner.name, partner.siren, partner.email) == ("Dupont SA", SIREN, "c@dupont.fr")


def test_bad_map_option(crm, tmp_path):
    path = write(tmp_path, "name\nX\n")
    assert crm("import", "partners", path, "--map", "nomapping", expect=2).exit_code == 2


def test_lines_count_blank_lines_and_multiline_cells(app, tmp_path):
    path = write(tmp_path, 'sku,name\n\nA,"x\ny"\n\nB,ok\nC,"bad\nname",z\n', name="products.csv")
    with pytest.raises(ValidationError) as info:
        run_import(app, get_kind(app, "products"), path)
    # a line break in a name is refused (it would break tables and letters); the lines still count
    assert info.value.errors == [
        ("line 3", "name", "must not contain control characters (found U+000A: line breaks, tabs, escapes and "
                           "bidirectional marks are refused)"),
        ("line 7", "_row", "3 cells for 2 columns")]


def test_wrong_number_of_cells_names_the_line(app, tmp_path):
    path = write(tmp_path, "sku,name\nA,B\nC,D,E\n", name="products.csv")
    with pytest.raises(ValidationError, match=r"products\.csv: line 3: _row: 3 cells for 2 columns"):
        run_import(app, get_kind(app, "products"), path)
    assert count(app, Product) == 0


def test_duplicate_key_inside_the_file(crm, app, tmp_path):
    path = write(tmp_path, "sku,name\nA-1,First\nB,Other\na-1,Again\n", name="products.csv")
    result = crm("import", "products", path, expect=1)
    assert "products.csv: line 4: sku: same sku as line 2" in result.stderr
    assert count(app, Product) == 0


def test_non_utf8_file_names_the_line(crm, app, tmp_path):
    path = write(tmp_path, "sku,name\nA,Pommes\nB,Crème brûlée\n", name="products.csv", encoding="latin-1")
    result = crm("import", "products", path, expect=1)
    assert result.stderr.strip().splitlines() == [f"error: {path}: line 3: not UTF-8 text"]
    assert count(app, Product) == 0


@pytest.mark.parametrize("text", ["", "  \n\n", "\ufeff"])
def test_empty_file(crm, tmp_path, text):
    path = write(tmp_path, text, name="products.csv")
    result = crm("import", "products", path, expect=1)
    assert "the file is empty" in result.stderr


def test_missing_file(app, tmp_path):
    with pytest.raises(CrmError, match="no such file"):
        run_import(app, get_kind(app, "products"), tmp_path / "nope.csv")


def test_header_only_imports_nothing(app, tmp_path):
    result = run_import(app, get_kind(app, "products"), write(tmp_path, "sku,name\n", name="p.csv"))
    assert result.total == 0 and result.counts["created"] == 0


def test_unknown_kind(crm, tmp_path):
    result = crm("import", "widgets", write(tmp_path, "a\n"), expect=1)
    assert "unknown kind 'widgets'" in result.stderr and "partners" in result.stderr


# --- skip invalid ---------------------------------------------------------------------------------

def test_skip_invalid_writes_good_rows_and_the_rejects_file(crm, app, tmp_path):
    path = write(tmp_path, BAD_PARTNERS)
    result = crm("import", "partners", path, "--skip-invalid", "--json").json
    assert (result["created"], result["rejected"]) == (2, 2)
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(3, "siren"), (5, "email")]
    assert result["rejects_file"] == str(tmp_path / "partners.rejected.csv")
    with app.transaction() as session:
        assert sorted(session.scalars(select(Partner.name))) == ["Dupont SA", "Durand"]
    rows = list(csv.reader(open(tmp_path / "partners.rejected.csv", encoding="utf-8")))
    assert rows[0] == ["line", "name", "email", "siren", "vat_number", "salesperson", "error"]
    assert rows[1][:4] == ["3", "Martin SARL", "martin@example.com", "123456789"]
    assert rows[1][-1].startswith("siren: invalid SIREN")
    assert rows[2][:3] == ["5", "Petit", "not-an-email"] and rows[2][-1].startswith("email: ")
    assert len(rows) == 3


def test_skip_invalid_with_explicit_rejects_path(crm, tmp_path):
    rejects = tmp_path / "out" / "bad.csv"
    rejects.parent.mkdir()
    crm("import", "partners", write(tmp_path, BAD_PARTNERS), "--skip-invalid", "--rejects", rejects)
    assert len(list(csv.reader(open(rejects, encoding="utf-8")))) == 3


def test_rejects_file_neutralises_formulas(app, tmp_path):
    path = write(tmp_path, "sku,name,vat_rate\n=HYPERLINK(1),x,7\n", name="products.csv")
    result = run_import(app, get_kind(app, "products"), path, skip_invalid=True)
    rows = list(csv.reader(open(result.rejects_file, encoding="utf-8")))
    assert rows[1][1] == "'=HYPERLINK(1)"


def test_skip_invalid_rejects_a_write_time_failure_alone(crm, app, factory, tmp_path):
    factory.user(login="alice")
    path = write(tmp_path, PARTNER_HEADER + "A,a@example.com,,,alice\nB,b@example.com,,,ghost\nC,c@example.com,,,\n")
    result = crm("import", "partners", path, "--skip-invalid", "--json").json
    assert (result["created"], result["rejected"]) == (2, 1)
    assert result["errors"] == [{"line": 3, "field": "_row", "message": "user 'ghost': no such user (see `crm user list`)"}]
    with app.transaction() as session:
        assert sorted(session.scalars(select(Partner.name))) == ["A", "C"]


def test_savepoint_undoes_what_a_failing_row_flushed(app, tmp_path):
    from core.schemas import ProductSchema
    from core.services.catalog import create_product

    def write_then_fail(app, session, data, *, update, record, provided):
        create_product(session, data, record=record, validated=True)  # flushed
        if data["name"] == "fail":
            raise NotFound("refused after writing")
        return "created"

    kind = DataKind(name="products", schema=ProductSchema, write=write_then_fail, export=None,
                    columns=("sku", "name"), key="sku")
    path = write(tmp_path, "sku,name\nA,ok\nB,fail\nC,ok\n", name="products.csv")
    result = run_import(app, kind, path, skip_invalid=True)
    assert result.counts["created"] == 2 and result.rejected == [(3, "_row", "refused after writing")]
    assert sorted(products(app)) == ["A", "C"]
    with pytest.raises(ValidationError):
        run_import(app, kind, write(tmp_path, "sku,name\nD,ok\nE,fail\n", name="more.csv"))
    assert sorted(products(app)) == ["A", "C"]


def test_duplicate_with_existing_record_in_skip_mode(crm, app, factory, tmp_path):
    factory.partner(name="Existing", email="a@example.com")
    path = write(tmp_path, PARTNER_HEADER + "A,a@example.com,,,\nB,b@example.com,,,\n")
    result = crm("import", "partners", path, "--skip-invalid", "--json").json
    assert (result["created"], result["rejected"]) == (1, 1)
    assert result["errors"][0]["field"] == "email" and "use --update" in result["errors"][0]["message"]


# --- update ---------------------------------------------------------------------------------------

def test_update_an_existing_product(crm, app, factory, tmp_path):
    factory.product(sku="A-1", name="Old", list_price="10.00")
    path = write(tmp_path, "sku,name,list_price\nA-1,New,12.50\nB-2,Other,1\n", name="products.csv")
    refused = crm("import", "products", path, expect=1)
    assert "products.csv: line 2: sku: already exists; use --update to update it" in refused.stderr
    assert products(app)["A-1"].name == "Old" and "B-2" not in products(app)
    result = crm("import", "products", path, "--update", "--json").json
    assert (result["created"], result["updated"], result["skipped"]) == (1, 1, 0)
    found = products(app)
    assert found["A-1"].name == "New" and found["A-1"].list_price == Decimal("12.5")
    again = crm("import", "products", path, "--update", "--json").json
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 2)


def test_update_an_existing_partner_by_siren(crm, app, factory, tmp_path):
    factory.partner(name="Dupont", siren=SIREN, email="compta@dupont.fr", is_supplier=True, country="BE")
    path = write(tmp_path, f"name,siren,city\nDupont SA,{SIREN},Lyon\n")
    assert crm("import", "partners", path, "--update", "--json").json["updated"] == 1
    with app.transaction() as session:
        partner = session.scalars(select(Partner)).one()
        assert (partner.name, partner.city) == ("Dupont SA", "Lyon")
        # columns the file does not have keep their values: no schema default overwrites them
        assert (partner.email, partner.is_supplier, partner.country) == ("compta@dupont.fr", True, "BE")


def test_update_with_the_product_columns_given_only(crm, app, factory, tmp_path):
    factory.product(sku="A-1", name="Old", list_price="10.00", vat_rate="5.5", stockable=False)
    path = write(tmp_path, "sku,name,list_price\nA-1,Old,11.00\n", name="products.csv")
    assert crm("import", "products", path, "--update", "--json").json["updated"] == 1
    product = products(app)["A-1"]
    assert (product.name, product.list_price, product.vat_rate, product.stockable) == (
        "Old", Decimal("11.00"), Decimal("5.5"), False)


# --- export ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, shown", [
    ("=cmd()", "'=cmd()"), ("+1", "'+1"), ("@x", "'@x"), ("-1+2", "'-1+2"), ("\t=1", "'\t=1"),
    ("-12.50", "-12.50"), ("-3", "-3"), ("12.50", "12.50"), ("Dupont", "Dupont"), ("", ""), (None, ""),
    (True, "true"), (False, "false"), (Decimal("-1.5"), "-1.5"),
])
def test_neutralise(value, shown):
    assert neutralise(value) == shown


def test_export_neutralises_formulas(app, factory):
    factory.partner(name="=cmd()", phone="+1 555 0100", street="@x", city="-12.50", siren=SIREN)
    out = io.StringIO()
    assert write_export(app, get_kind(app, "partners"), out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["name"] == "'=cmd()"
    assert rows[0]["phone"] == "'+1 555 0100"
    assert rows[0]["street"] == "'@x"
    assert rows[0]["city"] == "-12.50"
    assert rows[0]["siren"] == SIREN and rows[0]["is_customer"] == "true"


def test_export_then_import_round_trips_products(app, factory, tmp_path):
    factory.product(sku="A-1", name="Apples", list_price="0.1234", vat_rate="5.5")
    factory.product(sku="B-2", name="Pears", list_price="12.50", stockable="non")
    path = tmp_path / "products.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        assert write_export(app, get_kind(app, "products"), handle) == 2
    result = run_import(app, get_kind(app, "products"), path, update=True)
    assert result.counts == {"created": 0, "updated": 0, "skipped": 2}


def test_export_to_file_through_the_cli(crm, factory, tmp_path):
    factory.product(sku="A-1", list_price="3.10")
    factory.product(sku="B-2", name="=SUM(A1)", list_price="0")
    result = crm("export", "products", "--output", tmp_path / "p.csv")
    assert "2 products written" in result.stderr
    rows = list(csv.DictReader(open(tmp_path / "p.csv", encoding="utf-8")))
    assert rows[0]["sku"] == "A-1" and Decimal(rows[0]["list_price"]) == Decimal("3.10")
    assert rows[1]["name"] == "'=SUM(A1)"


# --- property: whatever the file holds, a clear error or a clean import ---------------------------

COLUMNS = ["sku", "name", "unit", "list_price", "vat_rate", "stockable"]
cell = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
                 st.sampled_from(["A-1", "a-1", "12,50", "5.5", "20", "-1", "1e9", "99999999999999999", "oui",
                                  '"', '""', ";", ",", "\n", "\r", "\x00", "=1+1", "é"]))


@st.composite
def csv_texts(draw):
    if draw(st.booleans()):
        return draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=80))
    header = draw(st.lists(st.sampled_from(COLUMNS + ["colour"]), min_size=1, max_size=5))
    sep = draw(st.sampled_from([",", ";"]))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=6), max_size=4))
    return "\n".join(sep.join(r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n", "\r\n"]))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_texts(), skip=st.booleans())
def test_property_import_never_crashes_nor_half_writes(app, tmp_path, text, skip):
    kind = get_kind(app, "products")
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_text(text, encoding="utf-8")
    before = count(app, Product)
    try:
        result = run_import(app, kind, path, skip_invalid=skip, rejects_path=tmp_path / "rejects.csv")
    except CrmError:
        assert count(app, Product) == before
    else:
        assert count(app, Product) == before + result.counts["created"]


def test_nul_character_is_refused_with_line_and_field(app, tmp_path):
    path = write(tmp_path, "sku,name\nA,ok\nB,x\x00y\n", name="products.csv")
    with pytest.raises(ValidationError, match=r"products\.csv: line 3: name: must not contain a NUL character"):
        run_import(app, get_kind(app, "products"), path)
    assert count(app, Product) == 0
    result = run_import(app, get_kind(app, "products"), path, skip_invalid=True)
    assert result.counts["created"] == 1 and result.rejected == [(3, "name", "must not contain a NUL character")]


def test_too_large_amount_is_a_validation_error(app, tmp_path):
    path = write(tmp_path, "sku,name,list_price\nA,x,99999999999999999\nB,y,1e3\n", name="products.csv")
    with pytest.raises(ValidationError) as info:
        run_import(app, get_kind(app, "products"), path)
    assert [(r, f) for r, f, _ in info.value.errors] == [("line 2", "list_price"), ("line 3", "list_price")]
