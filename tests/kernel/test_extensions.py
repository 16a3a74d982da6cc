"""Extension fields (core.extensions): a module's fields on partners, products, orders and invoices.

The module is ``tests/kernel/fakeplugins/fk_extend``, installed for the test through an entry point
like any third-party module, and enabled with ``crm modules enable``.
"""

import sys
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


def test_bad_extension_value_names_the_field_and_writes_nothing(enabled):
    crm = enabled
    result = crm("partner", "add", "Dupont SA", "--set", "fk_extend.limit=-1", expect=1)
    assert result.stderr.strip() == "error: partner 'Dupont SA': fk_extend.limit: must be at least 0"
    result = crm("partner", "add", "Dupont SA", "--set", "fk_extend.colour=red", expect=1)
    assert "fk_extend.colour: no such field of partner (fields: fk_extend.limit, fk_extend.segment)" in result.stderr
    assert crm("partner", "list", "--json").json == []
