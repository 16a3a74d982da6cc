"""A purchasing day through the CLI, on SQLite and PostgreSQL: sales consume stock, the forecast
crosses the minimum, a draft purchase order appears, grows, is confirmed and received in two parts."""

from __future__ import annotations

import datetime as dt
import json

import pytest

pytestmark = pytest.mark.modules("procurement")


def level(crm, sku):
    rows = {row["sku"]: row for row in crm("stock", "list", "--json").json}
    row = rows[sku]
    return {key: row[key] for key in ("on_hand", "reserved", "incoming", "forecast")}


def test_sales_drive_a_draft_purchase_order_confirmed_and_received_in_two_parts(crm, workspace):
    crm("user", "add", "paula", "Paula Achat", "--email", "achats@entonnoir.fr", "--role", "purchasing")
    crm("partner", "add", "Minoterie Dupont", "--supplier", "--no-customer", "--email", "commandes@dupont.fr")
    crm("partner", "add", "Moulin Bis", "--supplier", "--no-customer", "--email", "ventes@moulinbis.fr")
    crm("partner", "add", "Boulangerie Martin", "--email", "martin@example.fr")
    crm("product", "add", "FARINE-T55", "Farine T55 sac 25 kg", "--price", "19.90")
    crm("supplier", "price", "add", "--supplier", "Minoterie Dupont", "--sku", "FARINE-T55", "--price", "11.40",
        "--minimum", "30", "--lead-time", "4", "--preferred")
    crm("supplier", "price", "add", "--supplier", "Moulin Bis", "--sku", "FARINE-T55", "--price", "10.90")
    crm("stock", "adjust", "FARINE-T55", "50", "--reason", "inventaire d'ouverture")
    crm("reorder", "rule", "add", "FARINE-T55", "--min", "20", "--max", "60", "--multiple", "12")
    assert level(crm, "FARINE-T55") == {"on_hand": "50.000", "reserved": "0.000", "incoming": "0.000",
                                         "forecast": "50.000"}

    # A first sale: reserved, the forecast stays above the minimum, nothing is ordered.
    crm("order", "create", "--customer", "Boulangerie Martin", "--line", "FARINE-T55:20", "--confirm")
    assert level(crm, "FARINE-T55") == {"on_hand": "50.000", "reserved": "20.000", "incoming": "0.000",
                                         "forecast": "30.000"}
    assert crm("po", "list", "--json").json == []

    # The second sale crosses the minimum: forecast 14 < 20, order max − forecast = 46, rounded up to
    # the pack of 12 = 48 (above the supplier's minimum of 30), from the preferred supplier, not the cheapest.
    crm("order", "create", "--customer", "Boulangerie Martin", "--line", "FARINE-T55:16", "--confirm")
    orders = crm("po", "list", "--json").json
    assert [(o["state"], o["supplier"]["name"], o["line_count"]) for o in orders] == [
        ("draft", "Minoterie Dupont", 1)]
    number = orders[0]["number"]
    shown = crm("po", "show", number, "--json").json
    assert [(l["sku"], l["quantity"], l["unit_price"], l["expected_date"]) for l in shown["lines"]] == [
        ("FARINE-T55", "48.000", "11.4000", "2026-12-02")]
    assert shown["lines"][0]["why"]["forecast"] == "14.000"
    assert shown["lines"][0]["why"]["trigger"].endswith("confirmed")
    assert level(crm, "FARINE-T55") == {"on_hand": "50.000", "reserved": "36.000", "incoming": "48.000",
                                         "forecast": "62.000"}

    # Selling more than is available is refused (allow_negative is false by default), never silent.
    refused = crm("order", "create", "--customer", "Boulangerie Martin", "--line", "FARINE-T55:20", "--confirm",
                  expect=1)
    assert refused.stderr.strip() == (
        "error: plugin 'procurement' failed in hook 'order_confirmed': order SO2026-000003: product FARINE-T55: "
        "20.000 ordered, 14.000 available (set [procurement] allow_negative = true to sell short)")
    assert len(crm("order", "list", "--json").json) == 2  # the whole command rolled back

    # Two days later, a sale of another product of the same supplier joins the same draft.
    crm.today = dt.date(2026, 11, 30)
    crm("product", "add", "SUCRE", "Sucre semoule 10 kg", "--price", "12.00")
    crm("supplier", "price", "add", "--supplier", "Minoterie Dupont", "--sku", "SUCRE", "--price", "6.10",
        "--minimum", "10", "--lead-time", "2")
    crm("stock", "adjust", "SUCRE", "10", "--reason", "inventaire d'ouverture")
    crm("reorder", "rule", "add", "SUCRE", "--min", "5", "--max", "25", "--multiple", "5")
    crm("order", "create", "--customer", "Boulangerie Martin", "--line", "SUCRE:8", "--confirm")
    orders = crm("po", "list", "--json").json
    assert [(o["number"], o["state"], o["line_count"]) for o in orders] == [(number, "draft", 2)]
    lines = crm("po", "show", number, "--json").json["lines"]
    # SUCRE: forecast 2 < 5: 25 − 2 = 23, rounded up to the pack of 5 = 25 (above the minimum of 10)
    assert [(l["sku"], l["quantity"], l["why"]["forecast"], l["expected_date"]) for l in lines] == [
        ("FARINE-T55", "48.000", "14.000", "2026-12-02"), ("SUCRE", "25.000", "2.000", "2026-12-02")]
    assert level(crm, "SUCRE") == {"on_hand": "10.000", "reserved": "8.000", "incoming": "25.000",
                                    "forecast": "27.000"}

    # The daily run: nothing more to order, and a rerun changes nothing; purchasing got one summary.
    first = crm("reorder", "run", "--json").json
    assert (first["lines"], first["drafts_created"], first["summary_sent"]) == (0, 0, 1)
    again = crm("reorder", "run", "--json").json
    assert (again["lines"], again["drafts_created"], again["summary_sent"]) == (0, 0, 0)
    assert crm("reorder", "run", "--dry-run", "--json").json["planned"] == []
    job = crm("jobs", "run", "--only", "procurement.reorder", "--json").json
    assert [(r["outcome"], r["counts"]["lines"]) for r in job] == [("done", 0)]
    assert [o["line_count"] for o in crm("po", "list", "--json").json] == [2]
    summaries = [n for n in crm("notifications", "list", "--json").json if n["subject"].startswith("Reorder")]
    assert [(n["recipients"], n["subject"]) for n in summaries] == [
        (["achats@entonnoir.fr"], "Reorder 2026-11-30: 2 lines on 1 draft purchase order")]

    # Nothing went to the supplier while the order was a draft; confirming sends it with the document.
    assert not [n for n in crm("notifications", "list", "--json").json if "commandes@dupont.fr" in n["recipients"]]
    crm("po", "confirm", number)
    sent = [n for n in crm("notifications", "list", "--json").json if "commandes@dupont.fr" in n["recipients"]]
    po_id = crm("po", "show", number, "--json").json["id"]
    assert [(n["subject"].split(" — ")[0], n["attachments"]) for n in sent] == [
        (f"Bon de commande {number}", [f"procurement.purchase_order {po_id}"])]  # the PDF, laid out at delivery
    assert level(crm, "FARINE-T55")["incoming"] == "48.000"  # a confirmed order still counts as incoming

    # Delivery of the first two sales takes them out of stock (forecast unchanged).
    crm("order", "deliver", "SO2026-000001")
    crm("order", "deliver", "SO2026-000002")
    assert level(crm, "FARINE-T55") == {"on_hand": "14.000", "reserved": "0.000", "incoming": "48.000",
                                         "forecast": "62.000"}

    # Received in two parts.
    crm.today = dt.date(2026, 12, 2)
    crm("po", "receive", number, "--line", "FARINE-T55:30")
    shown = crm("po", "show", number, "--json").json
    assert shown["state"] == "partial"
    assert [(l["sku"], l["received_quantity"], l["remaining"]) for l in shown["lines"]] == [
        ("FARINE-T55", "30.000", "18.000"), ("SUCRE", "0.000", "25.000")]
    assert level(crm, "FARINE-T55") == {"on_hand": "44.000", "reserved": "0.000", "incoming": "18.000",
                                         "forecast": "62.000"}
    refused = crm("po", "receive", number, "--line", "FARINE-T55:20", expect=1)
    assert refused.stderr.strip() == (f"error: purchase order {number}: line FARINE-T55: "
                                      f"20.000 received but only 18.000 still due")
    crm("po", "receive", number)
    assert crm("po", "show", number, "--json").json["state"] == "received"
    assert level(crm, "FARINE-T55") == {"on_hand": "62.000", "reserved": "0.000", "incoming": "0.000",
                                         "forecast": "62.000"}
    assert level(crm, "SUCRE") == {"on_hand": "35.000", "reserved": "8.000", "incoming": "0.000",
                                    "forecast": "27.000"}

    moves = crm("stock", "moves", "FARINE-T55", "--json").json
    assert [(m["date"], m["kind"], m["quantity"], m["balance"]) for m in moves] == [
        ("2026-11-28", "adjustment", "50.000", "50.000"), ("2026-11-30", "delivery", "-20.000", "30.000"),
        ("2026-11-30", "delivery", "-16.000", "14.000"), ("2026-12-02", "receipt", "30.000", "44.000"),
        ("2026-12-02", "receipt", "18.000", "62.000")]
    assert crm("stock", "check", "--json").json == {"ok": True, "differences": []}
    assert crm("stock", "list", "--below-min", "--json").json == []
    assert json.loads(crm("reorder", "run", "--json").stdout)["lines"] == 0
