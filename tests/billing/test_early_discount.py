"""Early-payment discount (escompte): a payment dated within the window that clears the invoice
net of the discount earns it as a posted discount credit note, split per VAT rate; late or
partial payments earn nothing. Replayed with ``--today`` on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from plugins.billing.services_invoices import discount_bases

pytestmark = pytest.mark.modules("billing")

# P20 100.00 + P55 50.00: 150.00 excl. VAT, 20.00 + 2.75 VAT, 172.75 incl. VAT.
# 2 % of 172.75 = 3.455 -> 3.46; 20 % share 3.46 x 100/150 = 2.31, 5.5 % share 1.15.
# 2.31 cannot be made at 20 % (1.92 + 0.38 = 2.30, 1.93 + 0.39 = 2.32): a cent moves to 5.5 %,
# 1.10 + 0.06 = 1.16. Credit note: 3.02 excl. VAT + 0.44 VAT = 3.46. Net to pay: 169.29.
LINES = ("--line", "P20:1:100", "--line", "P55:1:50")


@pytest.fixture
def escompte(books, crm):
    """A term of 30 days with 2 % off when paid within 10 days, for Durand and Martin."""
    crm("term", "create", "ESC2", "--name", "30 jours, escompte 2 % à 10 jours", "--instalment", "days:30",
        "--discount", "2", "--discount-days", "10")
    for name in ("Durand", "Martin"):
        books.customer(name, term="ESC2")
    return books


def _order(crm, day, customer="Durand", lines=LINES) -> str:
    crm.today = dt.date.fromisoformat(day)
    crm("order", "create", "--customer", customer, *lines, "--confirm")
    return crm("invoice", "list", "--customer", customer, "--json").json[0]["number"]


def _pay(crm, day, amount, *args, date=None):
    crm.today = dt.date.fromisoformat(day)
    return crm("payment", "add", "--amount", amount, "--date", date or day, *args, "--json").json


def test_posting_freezes_the_discount_offered(escompte, crm):
    number = _order(crm, "2026-01-05")
    invoice = escompte.invoice(number)
    assert (invoice.discount_percent, invoice.discount_until) == (Decimal("2.00"), dt.date(2026, 1, 15))
    assert invoice.early_discount == "Escompte de 2 % pour paiement avant le 2026-01-15"  # as before
    crm.today = dt.date(2026, 1, 5)
    crm("order", "create", "--customer", escompte.customer("Petit"), "--line", "P20:1", "--confirm")
    plain = escompte.invoice(crm("invoice", "list", "--customer", "Petit", "--json").json[0]["number"])
    assert (plain.discount_percent, plain.discount_until) == (None, None)
    assert plain.early_discount == "Pas d'escompte pour paiement anticipé"


def test_on_the_last_day_of_the_window_the_discount_clears_the_invoice(escompte, crm):
    number = _order(crm, "2026-01-05")  # due 2026-02-04, discount until 2026-01-15
    escompte.run("2026-02-08")  # level 1: a case is open (the payment is booked late)
    assert escompte.sql("SELECT closed_on FROM billing_reminder_case") == [(None,)]
    paid = _pay(crm, "2026-02-10", "169.29", "--invoice", number, date="2026-01-15")
    assert paid["allocations"] == [{"invoice": number, "amount": "169.29", "state": "paid", "residual": "0.00"}]
    assert paid["discounts"] == [{"invoice": number, "credit_note": "AV2026-000001", "amount": "3.46",
                                  "untaxed": "3.02", "tax": "0.44"}]
    assert paid["unallocated"] == "0.00"
    shown = crm("invoice", "show", number, "--json").json
    assert (shown["state"], shown["residual"], shown["settled"]) == ("paid", "0.00", "172.75")
    assert sorted((a["amount"], a["payment"] is None, a["credit_note"] is None) for a in shown["allocations"]) == [
        ("169.29", False, True), ("3.46", True, False)]
    note = crm("invoice", "show", "AV2026-000001", "--json").json
    assert (note["kind"], note["origin"], note["invoice_date"], note["total"]) == ("credit_note", number,
                                                                                    "2026-02-10", "3.46")
    assert note["vat"] == [{"rate": "20.00", "base": "1.92", "tax": "0.38"},
                           {"rate": "5.50", "base": "1.10", "tax": "0.06"}]
    assert (note["total_untaxed"], note["total_tax"], note["residual"]) == ("3.02", "0.44", "0.00")
    assert "escompte de 2 % pour paiement anticipé le 2026-01-15" in note["note"]
    assert [str(d)[:10] for (d,) in escompte.sql("SELECT closed_on FROM billing_reminder_case")] == ["2026-02-10"]
    assert crm("reminders", "list", "--json").json == []
    assert "entièrement payée" in escompte.messages("billing:case-closed:%")[0][3]
    crm.today = dt.date(2026, 2, 10)
    text = crm("payment", "add", "--amount", "1", "--customer", "Durand").stdout
    assert "credit left 1.00" in text  # nothing open any more: the next euro is credit


def test_goods_returned_after_a_discount_are_credited_net_of_it(escompte, crm):
    number = _order(crm, "2026-01-05")
    _pay(crm, "2026-01-12", "169.29", "--invoice", number)  # discount credit note AV2026-000001: 3.46
    crm.today = dt.date(2026, 1, 20)
    crm("invoice", "credit", number, "--reason", "retour")
    note = crm("invoice", "show", "AV2026-000002", "--json").json
    # goods 100.00 at 20 % and 50.00 at 5.5 %, less 2 % already granted: 98.00 and 49.00
    # VAT 19.60 + 2.70 (49.00 x 5.5 % = 2.695 -> 2.70): 169.30, one cent of VAT rounding away from
    # what was paid (169.29), never the 3.46 of discount a second time
    assert note["vat"] == [{"rate": "20.00", "base": "98.00", "tax": "19.60"},
                           {"rate": "5.50", "base": "49.00", "tax": "2.70"}]
    assert note["total"] == "169.30"
    assert [line["description"] for line in note["lines"]][-2:] == [
        f"Escompte de 2 % déjà accordé, facture {number}"] * 2
    assert crm("payment", "credit", "--customer", "Durand", "--json").json[0]["available"] == "169.30"


def test_the_day_after_the_window_no_discount(escompte, crm):
    number = _order(crm, "2026-01-05")
    paid = _pay(crm, "2026-01-16", "169.29", "--invoice", number)
    assert paid["discounts"] == []
    assert paid["allocations"] == [{"invoice": number, "amount": "169.29", "state": "partially_paid",
                                    "residual": "3.46"}]
    assert crm("invoice", "list", "--credit-notes", "--json").json == []
    # a full payment on time the next day does not earn it either: something is settled already
    assert _pay(crm, "2026-01-16", "3.46", "--invoice", number)["allocations"][0]["state"] == "paid"


def test_a_partial_payment_on_time_earns_no_discount(escompte, crm):
    number = _order(crm, "2026-01-05")
    paid = _pay(crm, "2026-01-10", "169.28", "--invoice", number)  # one cent short of the net amount
    assert paid["discounts"] == [] and paid["allocations"][0]["residual"] == "3.47"
    # the rest, still within the window: the invoice has been partly settled, no discount any more
    rest = _pay(crm, "2026-01-12", "3.47", "--invoice", number)
    assert rest["discounts"] == [] and rest["allocations"][0]["state"] == "paid"
    assert crm("invoice", "list", "--credit-notes", "--json").json == []


def test_paying_the_full_amount_on_time_leaves_the_discount_as_credit(escompte, crm):
    number = _order(crm, "2026-01-05")
    paid = _pay(crm, "2026-01-06", "172.75", "--invoice", number)
    assert paid["discounts"][0]["amount"] == "3.46"
    assert (paid["allocations"][0]["amount"], paid["unallocated"]) == ("169.29", "3.46")
    assert crm("payment", "credit", "--customer", "Durand", "--json").json[0]["available"] == "3.46"


def test_one_payment_for_several_invoices_some_with_a_discount(escompte, crm):
    old = _order(crm, "2026-01-02")  # window closed on 2026-01-12
    first = _order(crm, "2026-01-05", lines=("--line", "P20:1:100"))  # 120.00, discount 2.40
    second = _order(crm, "2026-01-08", lines=LINES)  # 172.75, discount 3.46
    third = _order(crm, "2026-01-09", lines=("--line", "P20:1:50"))  # 60.00, discount 1.20
    # oldest due first: old in full (late), first and second net of their discounts, then 20.00 on third
    amount = Decimal("172.75") + Decimal("117.60") + Decimal("169.29") + Decimal("20.00")
    paid = _pay(crm, "2026-01-14", str(amount), "--customer", "Durand")
    assert [(a["invoice"], a["amount"], a["state"]) for a in paid["allocations"]] == [
        (old, "172.75", "paid"), (first, "117.60", "paid"), (second, "169.29", "paid"),
        (third, "20.00", "partially_paid")]
    assert [(d["invoice"], d["credit_note"], d["amount"]) for d in paid["discounts"]] == [
        (first, "AV2026-000001", "2.40"), (second, "AV2026-000002", "3.46")]
    assert crm("invoice", "show", "AV2026-000001", "--json").json["vat"] == [
        {"rate": "20.00", "base": "2.00", "tax": "0.40"}]
    # 20.00 of 58.80 (third's net) is too little: no discount there, now or later
    assert crm("invoice", "show", third, "--json").json["residual"] == "40.00"
    assert _pay(crm, "2026-01-15", "40.00", "--invoice", third)["discounts"] == []


def test_a_reference_naming_the_invoice_gets_the_discount_before_older_ones(escompte, crm):
    old = _order(crm, "2026-01-02")
    recent = _order(crm, "2026-01-05", lines=("--line", "P20:1:100"))
    paid = _pay(crm, "2026-01-15", "117.60", "--reference", f"VIR SEPA {recent}", "--customer", "Durand")
    assert paid["allocations"] == [{"invoice": recent, "amount": "117.60", "state": "paid", "residual": "0.00"}]
    assert crm("invoice", "show", old, "--json").json["state"] == "posted"


def test_the_discount_credit_note_is_posted_like_any_credit_note(escompte, crm):
    from core.hookspecs import hookimpl
    from plugins.billing.services_payments import record_payment

    number = _order(crm, "2026-01-05", lines=("--line", "P20:1:100"))
    seen = []

    class Listener:
        @hookimpl
        def invoice_posted(self, app, session, invoice):
            seen.append((invoice.kind, invoice.number, invoice.total, invoice.origin_id is not None))

    app = escompte.app("2026-01-07")
    app.pm.register(Listener(), name="listener")
    with app.transaction() as session:
        recorded = record_payment(app, session, {"date": "2026-01-07", "amount": "117.60", "invoice": number})
        assert [(i.number, n.number) for i, n in recorded.discounts] == [(number, "AV2026-000001")]
    assert seen == [("credit_note", "AV2026-000001", Decimal("2.40"), True)]
    # the next ordinary credit note continues the same gapless series
    crm.today = dt.date(2026, 1, 8)
    other = _order(crm, "2026-01-08", customer="Martin")
    assert crm("invoice", "credit", other, "--json").json["number"] == "AV2026-000002"


def test_no_discount_when_the_credit_is_allocated_later(escompte, crm):
    """Money already held (credit) earns nothing: the discount rewards a payment arriving early."""
    crm.today = dt.date(2026, 1, 4)
    credit = crm("payment", "add", "--amount", "500", "--customer", "Durand", "--json").json
    number = _order(crm, "2026-01-05", lines=("--line", "P20:1:100"))
    used = crm("payment", "allocate", str(credit["id"]), "--json").json
    assert used["allocations"] == [{"invoice": number, "amount": "120.00", "state": "paid", "residual": "0.00"}]
    assert crm("invoice", "list", "--credit-notes", "--json").json == []


# --- the split per VAT rate ----------------------------------------------------------------------

class _Line:
    def __init__(self, rate, subtotal):
        self.vat_rate, self.subtotal = Decimal(rate), Decimal(subtotal)


def _gross(bases):
    from core.types import round_money

    return sum((base + round_money(base * rate / 100) for rate, base in bases), Decimal(0))


def test_split_in_proportion_to_the_base_per_rate_the_last_rate_absorbing_the_rounding():
    lines = [_Line("5.5", "50.00"), _Line("20", "60.00"), _Line("20", "40.00")]
    assert discount_bases(lines, Decimal("3.46")) == [(Decimal("20"), Decimal("1.92")),
                                                      (Decimal("5.5"), Decimal("1.10"))]
    assert discount_bases([_Line("20", "100.00")], Decimal("2.40")) == [(Decimal("20"), Decimal("2.00"))]


def test_an_amount_no_base_can_make_at_a_single_rate_rounds_up_a_cent():
    # 2.02 + 0.40 = 2.42, 2.03 + 0.41 = 2.44: 2.43 cannot be made at 20 %
    assert discount_bases([_Line("20", "101.25")], Decimal("2.43")) == [(Decimal("20"), Decimal("2.03"))]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["20", "10", "5.5", "2.1", "0"]),
                          st.integers(min_value=1, max_value=10_000_000)), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=100_000))
def test_the_credit_note_totals_the_discount_to_the_cent(lines, cents):
    lines = [_Line(rate, Decimal(amount).scaleb(-2)) for rate, amount in lines]
    amount = Decimal(cents).scaleb(-2)
    bases = discount_bases(lines, amount)
    assert all(base > 0 for _, base in bases)
    assert len({rate for rate, _ in bases}) == len(bases)
    assert _gross(bases) - amount in (Decimal("0.00"), Decimal("0.01"))  # never less than the discount
