"""Extension fields (core.extensions): a module's fields on partners, products, orders and invoices.

The module is ``tests/kernel/fakeplugins/fk_extend``, installed for the test through an entry point
like any third-party module, and enabled with ``crm modules enable``.
"""

import sys
from decimal import Decimal
from pathlib import Path

import pytest

FAKES = Path(__file__).parent / "fakeplugins"


@pytest.fixture
def fk_extend(tmp_path, monkeypatch, workspace):
    """fk_extend installed (an entry point in a site folder on sys.path), not yet enabled."""
    site = tmp_path / "site"
    dist = site / "fk_extend-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fk-extend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[entonnoir.plugins]\nfk_extend = fk_extend\n")

    # its tables join the shared metadata once: the package is imported once per process and put
    # back for each test (other tests forget every fk_* module)
    sys.modules.update(IMPORTED)
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.syspath_prepend(str(site))
    yield
    IMPORTED.update({n: m for n, m in sys.modules.items() if n == "fk_extend" or n.startswith("fk_extend.")})


IMPORTED: dict = {}


@pytest.fixture
def enabled(fk_extend, crm):
    assert crm("modules", "enable", "fk_extend").stdout.strip() == "enabled: fk_extend"
    return crm


def test_the_module_tables_match_its_migration_and_no_kernel_table_changes(enabled, workspace):
    from sqlalchemy import inspect

    assert enabled("migrate", "--check").stdout.strip() == "the database is up to date"
    app = workspace.app()
    try:
        partner_columns = [c["name"] for c in inspect(app.engine).get_columns("core_partner")]
        assert not any("limit" in name or "segment" in name for name in partner_columns)
    finally:
        app.close()


pytestmark = pytest.mark.modules("billing")


def test_partner_fields_through_add_edit_show_list_and_json(enabled):
    crm = enabled
    added = crm("partner", "add", "Dupont SA", "--set", "fk_extend.limit=5000", "--set", "fk_extend.segment=key",
                "--json").json
    assert added["fk_extend"] == {"limit": "5000.00", "segment": "key", "ordered": None}
    crm("partner", "add", "Martin SARL")
    shown = crm("partner", "show", "Dupont SA", "--json").json
    assert shown["fk_extend"] == {"limit": "5000.00", "segment": "key", "ordered": None}
    text = crm("partner", "show", "Dupont SA").stdout
    assert "Plafond de crédit" in text and "5000.00" in text and "Segment" in text
    assert crm("partner", "edit", "Dupont SA", "--set", "fk_extend.limit=7500.5").stdout.strip() \
        == "changed: fk_extend.limit"
    listed = {row["name"]: row for row in crm("partner", "list", "--json").json}
    # only the listed fields, in one query for the whole list
    assert listed["Dupont SA"]["fk_extend"] == {"limit": "7500.50", "segment": "key"}
    assert listed["Martin SARL"]["fk_extend"] == {"limit": None, "segment": None}
    table = crm("partner", "list").stdout
    assert "Plafond de crédit" in table and "7500.50" in table
    # a searchable field filters the list in SQL; one not marked searchable is refused
    assert [p["name"] for p in crm("partner", "list", "--where", "fk_extend.segment=key", "--json").json] \
        == ["Dupont SA"]
    assert crm("partner", "list", "--where", "fk_extend.segment=smb", "--json").json == []
    refused = crm("partner", "list", "--where", "fk_extend.limit=7500.50", expect=1)
    assert refused.stderr.strip() == ("error: --where: fk_extend.limit: cannot be searched "
                                      "(the module does not mark it searchable)")


def test_bad_extension_value_names_the_field_and_writes_nothing(enabled):
    crm = enabled
    result = crm("partner", "add", "Dupont SA", "--set", "fk_extend.limit=-1", expect=1)
    assert result.stderr.strip() == "error: partner 'Dupont SA': fk_extend.limit: must be at least 0"
    result = crm("partner", "add", "Dupont SA", "--set", "fk_extend.colour=red", expect=1)
    assert "fk_extend.colour: no such field of partner (fields: fk_extend.limit, fk_extend.segment)" in result.stderr
    assert crm("partner", "list", "--json").json == []


def test_product_order_and_invoice_fields_reach_json_lists_and_the_invoice_document(enabled, workspace):
    crm = enabled
    crm("partner", "add", "Dupont SA", "--siren", "732829320", "--street", "1 rue Haute", "--postal-code", "75001",
        "--city", "Paris", "--set", "fk_extend.limit=10000")
    product = crm("product", "add", "CHAIR", "Chair", "--price", "100", "--set", "fk_extend.warranty_months=24",
                  "--json").json
    assert product["fk_extend"] == {"warranty_months": 24}
    # the declared default fills a product created without it
    assert crm("product", "add", "DESK", "Desk", "--price", "300", "--json").json["fk_extend"] == {"warranty_months": 12}
    assert {p["sku"]: p["fk_extend"] for p in crm("product", "list", "--json").json} == {
        "CHAIR": {"warranty_months": 24}, "DESK": {"warranty_months": 12}}
    order = crm("order", "create", "--customer", "Dupont SA", "--line", "CHAIR:10", "--set", "fk_extend.project=P-42",
                "--confirm", "--json").json
    assert order["fk_extend"] == {"project": "P-42"}
    assert crm("order", "show", order["number"], "--json").json["fk_extend"] == {"project": "P-42"}
    assert [o["fk_extend"] for o in crm("order", "list", "--json").json] == [{"project": "P-42"}]
    assert "P-42" in crm("order", "list").stdout
    # the computed field: the confirmed orders' total, 10 x 100 + 20 % VAT
    assert crm("partner", "show", "Dupont SA", "--json").json["fk_extend"]["ordered"] == "1200.00"
    invoices = crm("invoice", "list", "--json").json
    number = invoices[0]["number"]
    assert crm("invoice", "show", number, "--json").json["fk_extend"] == {"cost_centre": "P-42"}
    # the document's context: what the invoice's template receives
    from plugins.billing.documents import invoice_context
    from plugins.billing.services_invoices import get_invoice

    app = workspace.app()
    with app.transaction() as session:
        context = invoice_context(app, session, get_invoice(session, number), "en_GB")
    assert context["extensions"] == {"fk_extend": {"cost_centre": "P-42"}}
    assert context["customer_extensions"]["fk_extend"]["limit"] == Decimal("10000.00")
    assert context["customer_extensions"]["fk_extend"]["ordered"] == Decimal("1200.00")
    assert "segment" not in context["customer_extensions"]["fk_extend"]  # not marked printed


def test_a_refused_change_names_the_module_and_rolls_back(enabled):
    crm = enabled
    crm("partner", "add", "Dupont SA", "--siren", "732829320", "--street", "1 rue Haute", "--postal-code", "75001",
        "--city", "Paris", "--set", "fk_extend.limit=5000")
    crm("product", "add", "CHAIR", "Chair", "--price", "100")
    crm("order", "create", "--customer", "Dupont SA", "--line", "CHAIR:10", "--confirm")
    result = crm("partner", "edit", "Dupont SA", "--set", "fk_extend.limit=1000", "--email", "new@dupont.fr",
                 expect=1)
    assert result.stderr.strip() == ("error: plugin 'fk_extend' refused partner \"Dupont SA\": fk_extend.limit: "
                                     "1000.00 is below the confirmed orders' total 1200.00")
    shown = crm("partner", "show", "Dupont SA", "--json").json
    assert shown["fk_extend"]["limit"] == "5000.00" and shown["email"] is None
    crm("partner", "edit", "Dupont SA", "--set", "fk_extend.limit=1200")
    crm("partner", "edit", "Dupont SA", "--set", "fk_extend.limit=")  # an empty value clears it
    assert crm("partner", "show", "Dupont SA", "--json").json["fk_extend"]["limit"] is None


def test_csv_import_and_export_map_the_fields_as_columns(enabled, tmp_path):
    crm = enabled
    good = tmp_path / "partners.csv"
    good.write_text("name,siren,fk_extend.limit,fk_extend.segment\n"
                    "Dupont SA,732829320,5000,key\nMartin SARL,,,\n", encoding="utf-8")
    crm("import", "partners", good)
    listed = {row["name"]: row["fk_extend"] for row in crm("partner", "list", "--json").json}
    assert listed == {"Dupont SA": {"limit": "5000.00", "segment": "key"},
                      "Martin SARL": {"limit": None, "segment": None}}
    exported = crm("export", "partners").stdout.splitlines()
    header = exported[0].split(",")
    assert header[-2:] == ["fk_extend.limit", "fk_extend.segment"]
    assert exported[1].split(",")[-2:] == ["5000.00", "key"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,fk_extend.segment\nDurand,vip\n", encoding="utf-8")
    result = crm("import", "partners", bad, expect=1)
    assert "bad.csv: line 2: fk_extend.segment: Must be one of: smb, key, public (nothing was imported)" \
        in result.stderr
    updated = tmp_path / "update.csv"
    updated.write_text("name,siren,fk_extend.limit\nDupont SA,732829320,6000\n", encoding="utf-8")
    crm("import", "partners", updated, "--update")
    assert crm("partner", "show", "Dupont SA", "--json").json["fk_extend"]["limit"] == "6000.00"
    assert crm("partner", "show", "Dupont SA", "--json").json["fk_extend"]["segment"] == "key"


def test_disabling_keeps_the_values_and_enabling_brings_them_back(enabled):
    crm = enabled
    crm("partner", "add", "Dupont SA", "--set", "fk_extend.limit=5000")
    crm("modules", "disable", "fk_extend")
    shown = crm("partner", "show", "Dupont SA", "--json").json
    assert "fk_extend" not in shown
    assert "fk_extend.limit" not in crm("export", "partners").stdout
    crm("partner", "edit", "Dupont SA", "--email", "a@dupont.fr")
    crm("modules", "enable", "fk_extend")
    assert crm("partner", "show", "Dupont SA", "--json").json["fk_extend"]["limit"] == "5000.00"


def test_entity_schema_gives_every_extension_to_other_doors(enabled, workspace):
    from core.extensions import entity_schema
    from core.schemas import PartnerSchema

    schema = entity_schema(workspace.app(), "partner", PartnerSchema)()
    assert "fk_extend" in schema.fields
    assert schema.load({"name": "X", "fk_extend": {"limit": "12.50"}})["fk_extend"] == {"limit": Decimal("12.50")}


def test_a_required_field_is_refused_at_creation_not_at_a_change(app):
    from marshmallow import fields

    from core.errors import ValidationError
    from core.extensions import KERNEL_ENTITIES, Extension, Field, Registry, load

    ext = Extension("partner", None, key="partner_id", module="acme",
                    fields=(Field("code", fields.String(), required=True), Field("note", fields.String())))
    app.__dict__["_extensions"] = Registry(dict(KERNEL_ENTITIES), {"partner": [ext]})
    with pytest.raises(ValidationError) as refused:
        load(app, "partner", {"acme": {"note": "x"}}, "partner 'Dupont SA'", creating=True)
    assert str(refused.value) == "partner 'Dupont SA': acme.code: required"
    assert load(app, "partner", {"acme": {"note": "x"}}, "partner 1", creating=False) == {"acme": {"note": "x"}}
    assert load(app, "partner", {"acme": {"code": "C1"}}, "partner 'X'", creating=True) == {"acme": {"code": "C1"}}


def test_a_long_list_of_ids_is_read_in_chunks(enabled, workspace, monkeypatch):
    from core import extensions

    crm = enabled
    for n in range(5):
        crm("product", "add", f"P{n}", f"Product {n}", "--set", f"fk_extend.warranty_months={n}")
    monkeypatch.setattr(extensions, "CHUNK", 2)
    app = workspace.app()
    try:
        with app.transaction() as session:
            values = extensions.read(app, session, "product", [1, 2, 3, 4, 5])
        assert {key: value["fk_extend"]["warranty_months"] for key, value in values.items()} == {
            1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
    finally:
        app.close()
