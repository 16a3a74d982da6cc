"""Every endpoint through a real ``crm serve``: the same services, rights and record rules as the CLI."""

from __future__ import annotations

import io
import json

import pytest

from core.testing import TEST_COMPANY, sample_siren

pytestmark = pytest.mark.modules("funnel", "billing", "procurement")
CUSTOMER = {"name": "Dupont SA", "email": "achats@dupont.fr", "street": "3 quai Rambaud", "postal_code": "69002",
            "city": "Lyon", "siren": sample_siren(7)}


@pytest.fixture
def shop(api_server, crm):
    crm("company", "set", "--vat-number", TEST_COMPANY["vat_number"])
    admin = api_server.client()
    admin.post("/api/v1/products/", json={"sku": "WID", "name": "Widget", "list_price": "100.00"}, expect=201)
    admin.post("/api/v1/partners/", json=CUSTOMER, expect=201)
    crm("stock", "adjust", "WID", "100", "--reason", "count")
    return admin


def test_orders_are_created_confirmed_delivered_and_cancelled(shop):
    created = shop.post("/api/v1/orders/", json={"customer": "Dupont SA", "lines": [{"sku": "WID", "quantity": "3"}]},
                        expect=201).json
    assert (created["state"], created["total_untaxed"], created["total"]) == ("draft", "300.00", "360.00")
    assert created["origin"] == "api"
    number = created["number"]
    assert shop.post(f"/api/v1/orders/{number}/confirm", expect=200).json["state"] == "confirmed"
    again = shop.post(f"/api/v1/orders/{number}/confirm")
    assert again.status == 409 and again.json["type"].endswith("/state")
    assert shop.post(f"/api/v1/orders/{number}/deliver", expect=200).json["state"] == "delivered"
    other = shop.post("/api/v1/orders/", json={"customer": "Dupont SA", "lines": [{"sku": "WID", "quantity": "1"}]},
                      expect=201).json
    cancelled = shop.post(f"/api/v1/orders/{other['id']}/cancel", json={"reason": "duplicate order"}, expect=200)
    assert (cancelled.json["state"], cancelled.json["cancel_reason"]) == ("cancelled", "duplicate order")
    assert [o["state"] for o in shop.get("/api/v1/orders/").json] == ["cancelled", "delivered"]
    assert shop.post(f"/api/v1/orders/{number}/cancel", json={}).status == 409  # delivered
    assert [o["number"] for o in shop.get("/api/v1/orders/?state=delivered").json] == [number]
    shown = shop.get(f"/api/v1/orders/{number}", expect=200).json
    assert shown["lines"][0]["quantity"] == "3.000" and shown["vat"]
    bad = shop.post("/api/v1/orders/", json={"customer": "Dupont SA", "lines": [{"sku": "WID", "quantity": "-1"}]})
    assert bad.status == 422 and bad.json["errors"][0]["field"].startswith("lines")


def test_invoices_pdf_facturx_and_a_payment_recorded(shop):
    order = shop.post("/api/v1/orders/", json={"customer": "Dupont SA", "lines": [{"sku": "WID", "quantity": "2"}],
                                               "confirm": True}, expect=201).json
    invoices = shop.get("/api/v1/invoices/", expect=200).json
    assert len(invoices) == 1 and invoices[0]["total"] == order["total"] == "240.00"
    number = invoices[0]["number"]
    shown = shop.get(f"/api/v1/invoices/{number}", expect=200).json
    assert shown["residual"] == "240.00" and shown["lines"][0]["quantity"] == "2.000"
    pdf = shop.get(f"/api/v1/invoices/{number}/pdf", expect=200)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body.startswith(b"%PDF")
    assert number in pdf.headers["content-disposition"]
    facturx = shop.get(f"/api/v1/invoices/{number}/facturx", expect=200)
    from pypdf import PdfReader

    attachments = PdfReader(io.BytesIO(facturx.body)).attachments
    assert number.encode() in attachments["factur-x.xml"][0]
    assert shop.get("/api/v1/invoices/F2099-999999/pdf").status == 404

    paid = shop.post("/api/v1/payments/", json={"amount": "100.00", "invoice": number, "reference": "VIR 1"},
                     expect=201).json
    assert paid["allocations"] == [{"invoice": number, "amount": "100.00", "state": "partially_paid",
                                    "residual": "140.00"}]
    assert paid["date"] == "2026-11-28"  # the server's business date (crm --today)
    assert shop.get("/api/v1/payments/", expect=200).json[0]["id"] == paid["id"]
    assert shop.get(f"/api/v1/invoices/?state=partially_paid").json[0]["number"] == number
    refused = shop.post("/api/v1/payments/", json={"amount": "0", "invoice": number})
    assert refused.status == 422 and refused.json["errors"][0]["field"] == "amount"


def test_leads_are_deduplicated(api_server, crm):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    alice = api_server.client("alice")
    first = alice.post("/api/v1/leads/", json={"name": "Jeanne Martin", "email": "jeanne@martin.fr",
                                               "owner": "alice"}, expect=201).json
    assert first["duplicate_of"] is None
    flagged = alice.post("/api/v1/leads/", json={"name": "J. Martin", "email": "Jeanne@Martin.fr"}, expect=201).json
    assert flagged["duplicate_of"] == first["id"] and "email" in flagged["duplicate_keys"]
    skipped = alice.post("/api/v1/leads/", json={"name": "Jeanne", "email": "jeanne@martin.fr",
                                                 "duplicates": "skip"})
    assert skipped.status == 200 and skipped.json["id"] == first["id"]
    assert [l["id"] for l in alice.get("/api/v1/leads/?duplicates=true").json] == [flagged["id"]]
    assert alice.post(f"/api/v1/leads/{first['id']}/qualify", expect=200).json["state"] == "qualified"
    assert alice.post(f"/api/v1/leads/{flagged['id']}/disqualify", json={"reason": "same person"},
                      expect=200).json["state"] == "disqualified"
    assert len(alice.get("/api/v1/leads/").json) == 2
    assert alice.get(f"/api/v1/leads/{first['id']}").json["history"]


def test_deals_move_and_another_salespersons_deal_is_not_found(api_server, crm, shop):
    for login in ("alice", "bob"):
        crm("user", "add", login, login.title(), "--role", "sales")
    alice, bob = api_server.client("alice"), api_server.client("bob")
    deal = alice.post("/api/v1/deals/", json={"name": "Dupont: widgets", "customer": "Dupont SA", "value": "5000",
                                              "expected_close": "2026-12-31", "owner": "alice"}, expect=201).json
    stages = [row["stages"] for row in crm("pipeline", "list", "--json").json][0]
    second = stages[1]["name"] if isinstance(stages[1], dict) else stages[1]
    moved = alice.post(f"/api/v1/deals/{deal['id']}/move", json={"stage": second, "note": "called"}, expect=200).json
    assert moved["stage"] == second and moved["history"][-1]["user"] == "alice"
    # Bob sees nothing of Alice's deal: not in his list, and not found (not "forbidden": no leak)
    assert bob.get("/api/v1/deals/").json == []
    hidden = bob.get(f"/api/v1/deals/{deal['id']}")
    assert hidden.status == 404 and "Dupont" not in hidden.body.decode()
    assert bob.post(f"/api/v1/deals/{deal['id']}/move", json={"stage": second}).status == 404
    assert [d["id"] for d in shop.get("/api/v1/deals/").json] == [deal["id"]]  # the admin sees every deal
    lined = alice.post(f"/api/v1/deals/{deal['id']}/lines", json={"sku": "WID", "quantity": "4"}, expect=200).json
    assert lined["value"] == "400.00" and lined["lines"][0]["sku"] == "WID"
    won = alice.post(f"/api/v1/deals/{deal['id']}/won", expect=200).json
    assert won["state"] == "won" and won["order"]["state"] == "confirmed"
    lost = alice.post("/api/v1/deals/", json={"name": "Second", "expected_close": "2026-12-31", "owner": "alice"},
                      expect=201).json
    assert alice.post(f"/api/v1/deals/{lost['id']}/lost", json={"reason": "price"}, expect=200).json["state"] == "lost"


def test_stock_levels_and_purchase_orders(api_server, crm, shop):
    crm("partner", "add", "Grossiste SA", "--supplier", "--no-customer", "--email", "orders@grossiste.fr")
    shop.post("/api/v1/products/", json={"sku": "BOLT", "name": "Bolt", "list_price": "1.00"}, expect=201)
    crm("supplier", "price", "add", "--supplier", "Grossiste SA", "--sku", "BOLT", "--price", "0.40", "--preferred")
    crm("reorder", "rule", "add", "BOLT", "--min", "5", "--max", "20")
    crm("reorder", "run")
    levels = shop.get("/api/v1/stock/", expect=200).json
    assert [(r["sku"], r["on_hand"], r["incoming"]) for r in levels] == [("BOLT", "0.000", "20.000"),
                                                                        ("WID", "100.000", "0.000")]
    assert [r["sku"] for r in shop.get("/api/v1/stock/?below_min=true").json] == []
    orders = shop.get("/api/v1/purchase-orders/", expect=200).json
    assert [o["state"] for o in orders] == ["draft"]
    number = orders[0]["number"]
    assert shop.get(f"/api/v1/purchase-orders/{number}", expect=200).json["lines"][0]["sku"] == "BOLT"
    assert shop.post(f"/api/v1/purchase-orders/{number}/confirm", expect=200).json["state"] == "confirmed"
    partial = shop.post(f"/api/v1/purchase-orders/{number}/receive", json={"lines": [{"sku": "BOLT", "quantity": "5"}]},
                        expect=200).json
    assert partial["state"] == "partial"
    assert shop.get("/api/v1/stock/").json[0]["on_hand"] == "5.000"  # BOLT
    received = shop.request("POST", f"/api/v1/purchase-orders/{number}/receive", expect=200)  # no body: the rest
    assert received.json["state"] == "received"
    crm("user", "add", "alice", "Alice", "--role", "sales")
    refused = api_server.client("alice").post(f"/api/v1/purchase-orders/{number}/cancel", json={"reason": "x"})
    assert refused.status == 403


def test_reports_pagination_and_filters(shop):
    for n in range(3):
        shop.post("/api/v1/partners/", json={"name": f"Client {n}", "email": f"c{n}@example.fr"}, expect=201)
    page = shop.get("/api/v1/partners/?page=2&page_size=2", expect=200)
    assert json.loads(page.headers["x-pagination"])["total"] == 4
    assert [p["name"] for p in page.json] == ["Client 2", "Dupont SA"]
    assert [p["name"] for p in shop.get("/api/v1/partners/?search=dupont").json] == ["Dupont SA"]
    assert [p["sku"] for p in shop.get("/api/v1/products/?search=widg").json] == ["WID"]
    assert shop.get("/api/v1/products/WID", expect=200).json["list_price"] == "100.0000"
    report = shop.get("/api/v1/reports/period?from=2026-11-01&to=2026-11-30", expect=200).json
    assert report["kind"] == "report" and {"funnel", "billing"} <= set(report["sections"])
    assert shop.get("/api/v1/reports/plan?period=2027-Q1", expect=200).json["kind"] == "plan"
    assert shop.get("/api/v1/reports/period?from=2026-11-01").status == 422


def test_a_page_is_counted_and_read_with_the_record_rules(api_server, crm, shop):
    for login in ("alice", "bob"):
        crm("user", "add", login, login.title(), "--role", "sales")
    for login, count in (("alice", 3), ("bob", 2)):
        client = api_server.client(login)
        for n in range(count):
            client.post("/api/v1/deals/", json={"name": f"{login} {n}", "expected_close": "2026-12-31",
                                                "owner": login}, expect=201)
    alice = api_server.client("alice").get("/api/v1/deals/?page=2&page_size=2", expect=200)
    assert json.loads(alice.headers["x-pagination"])["total"] == 3
    assert [d["name"] for d in alice.json] == ["alice 2"]
    bob = api_server.client("bob").get("/api/v1/deals/?page=1&page_size=10", expect=200)
    assert json.loads(bob.headers["x-pagination"])["total"] == 2 and len(bob.json) == 2
    everyone = shop.get("/api/v1/deals/?page=3&page_size=2", expect=200)
    assert json.loads(everyone.headers["x-pagination"])["total"] == 5
    assert [d["name"] for d in everyone.json] == ["bob 1"]
