"""The company's legal identity is kernel data: `crm company show|set`, `crm init` options, the
migration that moved it out of crm.toml, and the checks on each field."""

from __future__ import annotations

import pytest
from alembic import command

from core.migrate import alembic_config


def test_show_lists_every_field_and_what_posting_still_needs(crm):
    data = crm("company", "show", "--json").json
    assert (data["name"], data["legal_form"], data["siren"], data["siret"], data["trade_register"],
            data["register_city"], data["share_capital"], data["iban"], data["vat_on_debits"]) == \
        ("Entonnoir Test SAS", "SAS", "732829320", "73282932000009", "RCS", "Lyon", "50000.00",
         "FR7630006000011234567890189", False)
    assert data["missing"] == []
    text = crm("company", "show").stdout
    assert "Register city" in text and "Lyon" in text and "Missing" in text


def test_set_checks_every_field_and_changes_nothing_when_one_is_wrong(crm):
    before = crm("company", "show", "--json").json
    for args, words in [(["--iban", "FR7630006000011234567890188"], "company: iban: invalid IBAN"),
                        (["--bic", "AGRIFR"], "company: bic: invalid BIC"),
                        (["--siret", "55208131700000"], "does not belong to SIREN 732829320"),
                        (["--vat-number", "FR03552081317"], "does not match SIREN 732829320"),
                        (["--legal-form", "LLC"], "company: legal_form: must be one of SAS"),
                        (["--share-capital", "10.001"], "company: share_capital: at most 2 decimals"),
                        (["--einvoice-scheme", "9999"], "company: einvoice_scheme: must be 0225"),
                        (["--legal-form", "EI"], "a EI has no share capital")]:
        # a good field beside the bad one is not written either: one transaction
        refused = crm("company", "set", "--phone", "01 00 00 00 00", *args, expect=1).stderr
        assert words in refused, (args, refused)
        assert refused.count("\n") == 1
    assert crm("company", "show", "--json").json == before


def test_set_changes_what_is_given_and_says_what_changed(crm, workspace, tmp_path):
    logo = tmp_path / "marque.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    out = crm("company", "set", "--rcs-city", "Villeurbanne", "--vat-on-debits", "--einvoice-address",
              "732829320_FACTURES", "--logo", str(logo)).stdout
    assert out.strip() == "changed: register_city, vat_on_debits, einvoice_address, einvoice_scheme, logo"
    data = crm("company", "show", "--json").json
    assert (data["register_city"], data["vat_on_debits"], data["einvoice_address"], data["einvoice_scheme"]) == \
        ("Villeurbanne", True, "732829320_FACTURES", "0225")
    assert data["logo"].startswith("logo-") and data["logo"].endswith(".png")
    assert (workspace.folder / data["logo"]).read_bytes() == logo.read_bytes()  # copied into the workspace
    assert crm("company", "set", "--rcs-city", "Villeurbanne").stdout.strip() == "nothing changed"
    assert crm("company", "set", expect=2).exit_code == 2


def test_init_takes_the_same_options(tmp_path, monkeypatch):
    from core.testing import CrmRunner, Workspace

    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    folder = tmp_path / "office"
    runner = CrmRunner(Workspace(folder=folder, database_url="", backend="sqlite"), None)
    runner("init", str(folder), "--modules", "", "--name", "Atelier Dupont", "--legal-form", "SARL", "--siren",
           "552100554", "--vat-number", "FR96552100554", "--street", "3 rue Haute", "--postal-code", "67000",
           "--city", "Strasbourg", "--rcs-city", "Strasbourg", "--share-capital", "7500", "--locale", "en_GB")
    data = runner("company", "show", "--json").json
    assert (data["name"], data["legal_form"], data["trade_register"], data["share_capital"], data["missing"]) == \
        ("Atelier Dupont", "SARL", "RCS", "7500.00", [])
    assert 'locale = "en_GB"' in (folder / "crm.toml").read_text()
    refused = runner("init", str(tmp_path / "other"), "--iban", "FR00", expect=1).stderr
    assert "company: iban: invalid IBAN" in refused and not (tmp_path / "other").exists()


def test_migrate_moves_the_old_config_identity_into_the_database(workspace, app, crm):
    """A workspace made before core_0007 kept its identity in crm.toml [company]: `crm migrate` copies it."""
    from sqlalchemy import text

    with app.engine.begin() as connection:
        command.downgrade(alembic_config(app, connection), "core_0006")
        assert "core_company" not in app.engine.dialect.get_table_names(connection)
    config = workspace.config_path
    config.write_text(config.read_text().replace(
        "[company]\n", '[company]\nname = "Ancienne Maison SARL"\nsiren = "552100554"\nvat_number = "FR96552100554"\n'
                       'street = "5 rue Vieille"\npostal_code = "21000"\ncity = "Dijon"\n'))
    assert crm("migrate").stdout.strip().startswith("applied: core_0007")  # and the kernel's later ones
    with app.engine.connect() as connection:
        row = connection.execute(text("SELECT name, siren, vat_number, street, postal_code, city, country "
                                      "FROM core_company")).all()
    assert row == [("Ancienne Maison SARL", "552100554", "FR96552100554", "5 rue Vieille", "21000", "Dijon", "FR")]
    assert crm("migrate", "--check").stdout.strip() == "the database is up to date"
    assert crm("company", "show", "--json").json["missing"] == ["legal_form", "trade_register", "register_city",
                                                                 "share_capital"]


@pytest.mark.parametrize("kind", ["goods", "service"])
def test_products_have_a_kind_and_partners_a_language(crm, kind):
    made = crm("product", "add", f"X-{kind}", "Thing", "--kind", kind, "--json").json
    assert made["kind"] == kind
    refused = crm("product", "add", "X-bad", "Thing", "--kind", "both", expect=2)
    assert "both" in refused.stderr
    partner = crm("partner", "add", "Smith Ltd", "--country", "GB", "--language", "en", "--json").json
    assert partner["language"] == "en"
    assert "must be one of fr, en" in crm("partner", "edit", str(partner["id"]), "--language", "de", expect=1).stderr


def test_show_says_the_old_config_keys_are_no_longer_read(crm, workspace):
    config = workspace.config_path
    config.write_text(config.read_text().replace("[company]\n", '[company]\nname = "Ancien Nom"\n'))
    shown = crm("company", "show")
    assert "Entonnoir Test SAS" in shown.stdout and "Ancien Nom" not in shown.stdout
    assert shown.stderr.strip() == ("note: crm.toml [company] still has name: no longer read (deprecated); "
                                    "change the identity with `crm company set`")
