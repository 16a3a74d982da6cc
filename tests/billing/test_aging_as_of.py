"""Aging as of a past day (a period report's last day) is rebuilt from the dated allocations.

Book: Durand's order confirmed 5 January ("30 jours": 120.00 due 4 February), paid 120.00 on
10 March; Martin's order confirmed 20 February (120.00 due 22 March), unpaid.
"""

import datetime as dt

import pytest

from plugins.billing.services_receivables import aging

pytestmark = pytest.mark.modules("billing")


def test_a_past_day_sees_what_was_owed_then(books, crm):
    books.customer("Durand")
    books.customer("Martin", salesperson="alice")
    crm.today = dt.date(2026, 1, 5)
    crm("order", "create", "--customer", "Durand", "--line", "P20:1", "--confirm")
    crm.today = dt.date(2026, 2, 20)
    crm("order", "create", "--customer", "Martin", "--line", "P20:1", "--confirm")
    crm.today = dt.date(2026, 3, 10)
    crm("payment", "add", "--customer", "Durand", "--amount", "120.00")
    crm.today = dt.date(2026, 3, 31)

    app = books.app("2026-03-31")
    with app.session() as session:
        # 15 February: Durand 11 days late (1-30); Martin's invoice did not exist yet
        then = aging(app, session, today=dt.date(2026, 2, 15))
        assert [(c["customer"], c["days_1_30"], c["total"]) for c in then["customers"]] == [
            ("Durand", "120.00", "120.00")]
        # 9 March, the day before Durand paid: Durand 33 days late (31-60), Martin not due
        then = aging(app, session, today=dt.date(2026, 3, 9))
        assert [(c["customer"], c["not_due"], c["days_31_60"]) for c in then["customers"]] == [
            ("Durand", "0.00", "120.00"), ("Martin", "120.00", "0.00")]
        # 31 March (the business date): Durand paid, Martin 9 days late
        now = aging(app, session)
        assert [(c["customer"], c["days_1_30"]) for c in now["customers"]] == [("Martin", "120.00")]
    assert crm("aging", "--json").json["totals"]["total"] == "120.00"
