"""Sales orders through ``crm order``: totals to the cent, VAT per rate, the state machine."""

from __future__ import annotations

import datetime as dt

import pytest

from core.testing import CrmRunner

ORDER_KEYS = {"id", "number", "state", "customer", "salesperson", "team", "order_date", "confirmed_at", "delivered_at",
              "cancelled_at", "cancel_reason", "origin", "currency", "delivery_address", "total_untaxed",
              "total_tax", "total", "lines", "vat"}
LINE_KEYS = {"sequence", "sku", "description", "quantity", "unit_price", "discount", "vat_rate", "subtotal"}


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def shop(crm):
    """A customer, a supplier and three products, as the sales desk finds them in the morning."""
    crm("partner", "add", "Dupont SA", "--siren", "552100554")
    crm("partner", "add", "Acier Fournisseur", "--no-customer", "--supplier")
    crm("product", "add", "WID", "Widget", "--price", "12.50")
    crm("product", "add", "BOOK", "Book", "--price", "75", "--vat-rate", "5.5")
    crm("product", "add", "PIN", "Pin", "--price", "0.05", "--vat-rate", "10")
    return crm


def create(crm, *args, expect=0):
    return crm("order", "create", "--customer", "Dupont SA", *args, "--json", expect=expect)


def counts(crm) -> tuple[int, list]:
    return len(crm("order", "list", "--json").json), crm("partner", "list", "--json").json


def test_totals_with_discount_and_two_vat_rates(shop):
    # 3 x 12.50 = 37.50 at 20 %: VAT 7.50; 1.5 x 75 less 10 % = 101.25 at 5.5 %: VAT 5.56875 -> 5.57.
    data = create(shop, "--line", "WID:3", "--line", "BOOK:1.5::10").json
    assert (data["total_untaxed"], data["total_tax"], data["total"]) == ("138.75", "13.07", "151.82")
    assert [(l["sku"], l["quantity"], l["unit_price"], l["discount"], l["vat_rate"], l["subtotal"])
            for l in data["lines"]] == [("WID", "3.000", "12.5000", "0.00", "20.00", "37.50"),
                                        ("BOOK", "1.500", "75.0000", "10.00", "5.50", "101.25")]
    assert data["vat"] == [{"rate": "20.00", "base": "37.50", "tax": "7.50"},
                           {"rate": "5.50", "base": "101.25", "tax": "5.57"}]
    assert shop("order", "show", data["number"], "--json").json == data
    text = shop("order", "show", data["number"]).stdout
    vat_rows = [line.split() for line in text.splitlines() if "101.25" in line or "37.50" in line]
    assert ["5.50", "101.25", "5.57"] in [[c for c in row if c not in "│┃|"] for row in vat_rows]
    assert ["20.00", "37.50", "7.50"] in [[c for c in row if c not in "│┃|"] for row in vat_rows]


def test_vat_is_rounded_per_rate_not_per_line(shop):
    # Three lines of 0.05 at 10 %: per line 0.005 -> 0.01 each (0.03); per rate 0.15 -> 0.015 -> 0.02.
    data = create(shop, "--line", "PIN:1", "--line", "PIN:1", "--line", "PIN:1").json
    assert (data["total_untaxed"], data["total_tax"], data["total"]) == ("0.15", "0.02", "0.17")
    assert data["vat"] == [{"rate": "10.00", "base": "0.15", "tax": "0.02"}]


def test_line_subtotal_is_rounded_half_up_to_the_cent(shop):
    # 0.125 -> 0.13 (half away from zero), 3 x 0.0415 = 0.1245 -> 0.12.
    shop("product", "add", "NUT", "Nut", "--price", "0.0415")
    data = create(shop, "--line", "WID:0.01", "--line", "NUT:3").json
    assert [l["subtotal"] for l in data["lines"]] == ["0.13", "0.12"]
    assert (data["total_untaxed"], data["total_tax"], data["total"]) == ("0.25", "0.05", "0.30")


def test_price_defaults_to_list_price_and_can_be_given(shop):
    data = create(shop, "--line", "WID:2", "--line", "WID:1:9.99").json
    assert [l["unit_price"] for l in data["lines"]] == ["12.5000", "9.9900"]
    assert [l["description"] for l in data["lines"]] == ["Widget", "Widget"]
    assert data["total_untaxed"] == "34.99"


def test_order_is_dated_today_and_numbered_by_year(workspace, shop):
    march = CrmRunner(workspace, dt.date(2027, 3, 1))
    data = march("order", "create", "--customer", "Dupont SA", "--line", "WID:1", "--json").json
    assert data["order_date"] == "2027-03-01"
    assert data["number"] == f"SO2027-{data['id']:06d}"
    assert (data["state"], data["confirmed_at"], data["origin"], data["currency"]) == ("draft", None, "cli", "EUR")


def test_create_and_confirm_in_one_command(shop):
    data = create(shop, "--line", "WID:1", "--confirm").json
    assert (data["state"], data["confirmed_at"]) == ("confirmed", "2026-11-28")
    out = shop("order", "create", "--customer", "Dupont SA", "--line", "WID:2").stdout
    assert out.strip().endswith("(draft): 30.00 EUR incl. VAT")


def test_confirm_twice_is_a_state_error(shop):
    number = create(shop, "--line", "WID:1").json["number"]
    assert shop("order", "confirm", number).stdout.strip() == f"order {number} confirmed"
    result = shop("order", "confirm", number, expect=1)
    assert one_line(result.stderr) == (f"error: order {number}: cannot confirm an order that is confirmed "
                                       f"(only from draft)")
    assert shop("order", "show", number, "--json").json["state"] == "confirmed"


def test_deliver_only_a_confirmed_order_once_and_never_cancel_it(shop, workspace):
    draft = create(shop, "--line", "WID:1").json["number"]
    confirmed = create(shop, "--line", "WID:1", "--confirm").json["number"]
    result = shop("order", "deliver", draft, expect=1)
    assert one_line(result.stderr) == (f"error: order {draft}: cannot deliver an order that is draft "
                                       f"(only from confirmed)")
    later = CrmRunner(workspace, dt.date(2026, 12, 3))
    assert later("order", "deliver", confirmed).stdout.strip() == f"order {confirmed} delivered"
    shown = later("order", "show", confirmed, "--json").json
    assert (shown["state"], shown["delivered_at"]) == ("delivered", "2026-12-03")
    assert "cannot deliver an order that is delivered" in one_line(later("order", "deliver", confirmed, expect=1).stderr)
    assert "cannot cancel an order that is delivered" in one_line(later("order", "cancel", confirmed, expect=1).stderr)
    assert [o["number"] for o in later("order", "list", "--state", "delivered", "--json").json] == [confirmed]


def test_cancel_draft_and_confirmed_but_not_twice(shop, workspace):
    draft = create(shop, "--line", "WID:1").json
    confirmed = create(shop, "--line", "WID:1", "--confirm").json
    later = CrmRunner(workspace, dt.date(2026, 12, 2))
    later("order", "cancel", draft["number"])
    later("order", "cancel", str(confirmed["id"]), "--reason", "customer changed their mind")
    shown = later("order", "show", confirmed["number"], "--json").json
    assert (shown["state"], shown["cancelled_at"], shown["cancel_reason"]) == (
        "cancelled", "2026-12-02", "customer changed their mind")
    assert later("order", "show", draft["number"], "--json").json["cancel_reason"] is None
    result = later("order", "cancel", draft["number"], expect=1)
    assert one_line(result.stderr) == (f"error: order {draft['number']}: cannot cancel an order that is "
                                       f"cancelled (only from draft or confirmed)")
    result = later("order", "confirm", draft["number"], expect=1)
    assert "cannot confirm an order that is cancelled" in one_line(result.stderr)


def test_order_list_filters_by_state_and_customer(shop):
    shop("partner", "add", "Martin SARL")
    a = create(shop, "--line", "WID:1").json["number"]
    b = create(shop, "--line", "WID:1", "--confirm").json["number"]
    c = shop("order", "create", "--customer", "Martin SARL", "--line", "WID:1", "--json").json["number"]
    numbers = lambda *args: [o["number"] for o in shop("order", "list", *args, "--json").json]  # noqa: E731
    assert numbers() == [c, b, a]
    assert numbers("--state", "draft") == [c, a]
    assert numbers("--state", "confirmed") == [b]
    assert numbers("--state", "cancelled") == []
    assert numbers("--customer", "Dupont SA") == [b, a]
    assert numbers("--customer", "martin sarl", "--state", "draft") == [c]
    assert numbers("--limit", "1") == [c]
    assert set(shop("order", "list", "--json").json[0]) == ORDER_KEYS - {"lines", "vat"}
    assert shop("order", "list", "--state", "cancelled").stdout.strip() == "no order"
    assert one_line(shop("order", "list", "--customer", "Nobody", expect=1).stderr) == \
        "error: partner 'Nobody': no such partner"


def test_order_show_json_keys_and_exact_amounts(shop):
    shop("user", "add", "alice", "Alice")
    shop("team", "add", "West", "--leader", "alice")
    number = create(shop, "--line", "BOOK:2:19.99:5", "--salesperson", "alice", "--team", "West",
                    "--origin", "phone", "--note", "deliver Monday").json["number"]
    data = shop("order", "show", number, "--json").json
    assert set(data) == ORDER_KEYS
    assert set(data["lines"][0]) == LINE_KEYS
    assert data["customer"]["name"] == "Dupont SA" and set(data["customer"]) == {"id", "name"}
    assert (data["salesperson"], data["team"], data["origin"]) == ("alice", "West", "phone")
    # 2 x 19.99 = 39.98 less 5 % = 37.981 -> 37.98; VAT 5.5 % = 2.0889 -> 2.09.
    assert data["lines"][0]["subtotal"] == "37.98"
    assert (data["total_untaxed"], data["total_tax"], data["total"]) == ("37.98", "2.09", "40.07")
    text = shop("order", "show", number).stdout
    assert "40.07" in text and "BOOK" in text


def test_salesperson_defaults_to_the_customers(shop):
    shop("user", "add", "bob", "Bob")
    shop("partner", "add", "Client de Bob", "--salesperson", "bob")
    data = shop("order", "create", "--customer", "Client de Bob", "--line", "WID:1", "--json").json
    assert data["salesperson"] == "bob"


def test_a_supplier_only_partner_cannot_be_ordered_for(shop):
    result = shop("order", "create", "--customer", "Acier Fournisseur", "--line", "WID:1", expect=1)
    assert one_line(result.stderr) == "error: customer: Acier Fournisseur is not a customer"
    assert shop("order", "list", "--json").json == []


def test_unknown_sku_is_named_and_nothing_written(shop):
    result = create(shop, "--line", "NOPE:1", expect=1)
    assert one_line(result.stderr) == "error: product 'NOPE': no such SKU (see `crm product list`)"
    assert shop("order", "list", "--json").json == []


def test_failure_on_the_second_line_writes_nothing(shop):
    before = counts(shop)
    result = create(shop, "--line", "WID:1", "--line", "NOPE:2", "--confirm", expect=1)
    assert "'NOPE'" in one_line(result.stderr)
    assert counts(shop) == before == (0, before[1])
    # the next order still gets the first number: nothing was kept from the failed one
    data = create(shop, "--line", "WID:1").json
    assert [o["number"] for o in shop("order", "list", "--json").json] == [data["number"]]


def test_bad_line_syntax_is_a_usage_error(shop):
    for line in ("WID", "WID:1:2:3:4", ":1"):
        result = create(shop, "--line", line, expect=2)
        assert "--line" in result.stderr and "SKU:QUANTITY" in result.stderr, line
        assert "Traceback" not in result.stderr
    assert shop("order", "list", "--json").json == []


def test_bad_line_values_name_the_field(shop):
    for line, field in [("WID:abc", "lines.0.quantity"), ("WID:0", "lines.0.quantity"),
                        ("WID:1.0001", "lines.0.quantity"), ("WID:1:-2", "lines.0.unit_price"),
                        ("WID:1::101", "lines.0.discount")]:
        result = create(shop, "--line", line, expect=1)
        assert one_line(result.stderr).startswith(f"error: {field}: "), (line, result)
    assert shop("order", "list", "--json").json == []


def test_missing_customer_option_is_a_usage_error(shop):
    result = shop("order", "create", "--line", "WID:1", expect=2)
    assert "--customer" in result.stderr


def test_unknown_order_is_not_found(shop):
    assert one_line(shop("order", "show", "SO2026-999999", expect=1).stderr) == \
        "error: order SO2026-999999: no such order"
    assert one_line(shop("order", "confirm", "4242", expect=1).stderr) == "error: order 4242: no such order"


def test_orders_through_the_factory_match_the_cli(factory, crm):
    """The services the CLI uses compute the same totals when called directly."""
    product = factory.product(sku="BOOK", list_price="75", vat_rate="5.5")
    order = factory.order(lines=[{"sku": product.sku, "quantity": "1.5", "discount": "10"}], confirm=True)
    data = crm("order", "show", order.number, "--json").json
    assert (data["state"], data["total_untaxed"], data["total_tax"], data["total"]) == (
        "confirmed", "101.25", "5.57", "106.82")


@pytest.fixture
def failing_hook(monkeypatch):
    """Make one hook fail as a plugin's would: ``failing_hook("order_confirmed")``."""
    from core.app import App
    from core.errors import HookError

    original = App.call

    def arm(name: str):
        def call(self, hook, **kwargs):
            if hook == name:
                raise HookError("billing", hook, RuntimeError("boom"))
            return original(self, hook, **kwargs)

        monkeypatch.setattr(App, "call", call)

    return arm


def test_a_failing_hook_on_confirm_rolls_back_the_whole_command(shop, failing_hook):
    draft = create(shop, "--line", "WID:1").json["number"]
    failing_hook("order_confirmed")
    result = create(shop, "--line", "WID:1", "--confirm", expect=1)
    assert one_line(result.stderr) == "error: plugin 'billing' failed in hook 'order_confirmed': boom"
    result = shop("order", "confirm", draft, expect=1)
    assert "order_confirmed" in one_line(result.stderr)
    assert [(o["number"], o["state"], o["confirmed_at"]) for o in shop("order", "list", "--json").json] == [
        (draft, "draft", None)]


def test_a_failing_hook_on_partner_created_writes_no_partner(shop, failing_hook):
    failing_hook("partner_created")
    result = shop("partner", "add", "Nouveau Client", expect=1)
    assert one_line(result.stderr) == "error: plugin 'billing' failed in hook 'partner_created': boom"
    assert "Nouveau Client" not in [p["name"] for p in shop("partner", "list", "--json").json]


def test_an_order_can_be_delivered_elsewhere_than_the_customer_address(shop):
    assert create(shop, "--line", "WID:1").json["delivery_address"] is None
    made = create(shop, "--line", "WID:1", "--delivery-street", "Quai 4, zone portuaire", "--delivery-postal-code",
                  "13002", "--delivery-city", "Marseille").json
    assert made["delivery_address"] == {"street": "Quai 4, zone portuaire", "postal_code": "13002",
                                        "city": "Marseille", "country": "FR"}  # the customer's country
    abroad = create(shop, "--line", "WID:1", "--delivery-street", "Rue Neuve 1", "--delivery-city", "Bruxelles",
                    "--delivery-country", "be").json["delivery_address"]
    assert (abroad["postal_code"], abroad["country"]) == (None, "BE")
    shown = shop("order", "show", made["number"]).stdout
    assert "Quai 4, zone portuaire, 13002 Marseille, FR" in shown


def test_a_delivery_address_needs_a_street_and_a_city_and_a_real_country(shop):
    before = counts(shop)
    refused = create(shop, "--line", "WID:1", "--delivery-city", "Marseille", expect=1)
    assert one_line(refused.stderr) == "error: delivery_street: a delivery address needs a street and a city"
    refused = create(shop, "--line", "WID:1", "--delivery-street", "Quai 4", expect=1)
    assert one_line(refused.stderr) == "error: delivery_city: a delivery address needs a street and a city"
    refused = create(shop, "--line", "WID:1", "--delivery-street", "Quai 4", "--delivery-city", "X",
                     "--delivery-country", "XX", expect=1)
    assert "delivery_country" in one_line(refused.stderr)
    assert counts(shop) == before  # nothing written
