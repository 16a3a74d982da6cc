"""The procurement.bills_inbox job: bills dropped in bills/inbox/ imported, bad ones rejected with a reason."""

from __future__ import annotations


import pytest
from bills_support import SELLER, cii, facturx_pdf, ubl

pytestmark = pytest.mark.modules("procurement")


def test_the_inbox_job_imports_good_files_and_rejects_bad_ones(crm, shop, factory, workspace):
    supplier = factory.partner(name="Grossiste SA Lyon", siren=SELLER["siren"], vat_number=SELLER["vat"],
                               is_customer=False, is_supplier=True, email="ventes@grossiste.fr")
    shop.product("A", stock="30", rule=("10", "50", "1"), supplier=supplier, price="2.00")
    shop.sell(("A", 25))
    crm("po", "confirm", "PO2026-000001")
    crm("po", "receive", "PO2026-000001")
    bills = workspace.config_path.parent / "bills"
    inbox = bills / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "a.pdf").write_bytes(facturx_pdf(cii("F-1", [("A", "20", "2.00")])))
    (inbox / "b.xml").write_bytes(ubl("U-1", [("A", "5", "3.00")]))
    (inbox / "c.xml").write_bytes(cii("F-1", [("A", "20", "2.00")]))   # F-1 again: a duplicate
    (inbox / "d.pdf").write_bytes(b"scanned paper")
    ran = crm("jobs", "run", "--only", "procurement.bills_inbox", "--json").json
    assert [(r["job"], r["counts"]) for r in ran if r["job"] == "procurement.bills_inbox"] == [
        ("procurement.bills_inbox", {"imported": 2, "held": 1, "rejected": 2})]
    assert sorted(p.name for p in inbox.iterdir()) == []
    assert sorted(p.name for p in (bills / "imported").iterdir()) == ["a.pdf", "b.xml"]
    assert sorted(p.name for p in (bills / "rejected").iterdir()) == ["c.xml", "c.xml.reason.txt", "d.pdf",
                                                                       "d.pdf.reason.txt"]
    assert (bills / "rejected" / "c.xml.reason.txt").read_text() == (
        "c.xml: duplicate: bill F-1 of Grossiste SA Lyon is recorded already (bill #1)\n")
    assert (bills / "rejected" / "d.pdf.reason.txt").read_text() == "d.pdf: not a PDF nor an XML e-invoice\n"
    assert {b["number"]: b["state"] for b in crm("bill", "list", "--json").json} == {"F-1": "approved",
                                                                                     "U-1": "held"}
    listed = {job["name"]: job["catch_up"] for job in crm("jobs", "list", "--json").json}
    assert listed["procurement.bills_inbox"] == "latest"
