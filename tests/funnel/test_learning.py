"""Probabilities learned from closed deals, checked against a small history computed by hand.

Pipeline Sales (Nouveau 10 %, Qualifié 20 %, Proposition 50 %, Négociation 75 %); alice leads
Nord, bob leads Sud; product P at 100.00. Today 2026-12-01, 12 months: deals closed after
2025-12-01 count. ``learn_min_sample = 3``.

    deal source team value  history                                                    outcome
    D1   web    Nord   500  Nouveau 03-02, Qualifié 03-05, Proposition 03-10           won 03-20
    D2   web    Nord  2000  Nouveau 04-01, Proposition 04-03, Négociation 04-10        won 04-30
    D3   fair   Nord   500  Nouveau 05-04, Qualifié 05-06, lost 05-20, reopened into
                            Qualifié 05-25 (entered twice: counted once, from 05-06)   won 06-10
    D4   fair   Sud   2000  Nouveau 06-01                                              lost 06-05
    D5   web    Sud  20000  Nouveau 07-01, Qualifié 07-02, Proposition 07-03           lost 07-31
    D6   -      Sud    500  created in Proposition 08-03                               won 08-13
    D7   web    Nord   500  Nouveau 2025-06-02                                         won 2025-11-28 (too old)
    D8   web    Nord  1000  Nouveau 11-02, Qualifié 11-10, expected close 12-15        open
    D9   -      Sud    400  Négociation 11-12, override 90 %, expected close 12-20     open
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.services.people import create_team
from plugins.funnel import deals, leads
from plugins.funnel.learning import learn, median, months_before
from plugins.funnel.pipelines import get_pipeline

pytestmark = pytest.mark.modules("funnel")

TODAY = dt.date(2026, 12, 1)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text if text.startswith("20") else f"2026-{text}")


@pytest.fixture
def history(app, workspace, factory):
    factory.user(login="alice")
    factory.user(login="bob")
    product = factory.product(sku="P", list_price="100")
    customer = factory.partner(name="Direct SA")
    with app.transaction() as session:
        create_team(session, {"name": "Nord", "leader": "alice"})
        create_team(session, {"name": "Sud", "leader": "bob"})
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[funnel]\nlearn_min_sample = 3\n")
    fresh = workspace.app(today=TODAY)

    def step(day, action):
        fresh._today = d(day)
        with fresh.transaction() as session:
            return action(session)

    def from_lead(day, name, source, owner, quantity=None, value=None):
        def action(session):
            lead = leads.create_lead(fresh, session, {"name": name, "company": name, "source": source,
                                                      "owner": owner})
            deal = leads.convert(fresh, session, lead, deal={"expected_close": "2026-12-31",
                                                             **({"value": value} if value else {})})
            if quantity:
                deals.add_line(fresh, session, deal, {"sku": product.sku, "quantity": str(quantity)})
            return deal.id
        return step(day, action)

    def move(day, deal_id, stage):
        step(day, lambda s: deals.move(fresh, s, deals.get_deal(s, deal_id), stage))

    def win(day, deal_id):
        step(day, lambda s: deals.win(fresh, s, deals.get_deal(s, deal_id)))

    def lose(day, deal_id):
        step(day, lambda s: deals.lose(fresh, s, deals.get_deal(s, deal_id), "price"))

    d1 = from_lead("03-02", "D1", "web", "alice", 5)
    move("03-05", d1, "Qualifié")
    move("03-10", d1, "Proposition")
    win("03-20", d1)
    d2 = from_lead("04-01", "D2", "web", "alice", 20)
    move("04-03", d2, "Proposition")
    move("04-10", d2, "Négociation")
    win("04-30", d2)
    d3 = from_lead("05-04", "D3", "fair", "alice", 5)
    move("05-06", d3, "Qualifié")
    lose("05-20", d3)
    step("05-25", lambda s: deals.reopen(fresh, s, deals.get_deal(s, d3)))
    win("06-10", d3)
    d4 = from_lead("06-01", "D4", "fair", "bob", 20)
    lose("06-05", d4)
    d5 = from_lead("07-01", "D5", "web", "bob", 200)
    move("07-02", d5, "Qualifié")
    move("07-03", d5, "Proposition")
    lose("07-31", d5)

    def direct(name, stage, owner, expected, *, quantity=None, value=None, probability=None):
        def action(session):
            deal = deals.create_deal(fresh, session, {k: v for k, v in {
                "name": name, "customer": str(customer.id), "owner": owner, "stage": stage,
                "expected_close": expected, "value": value, "probability": probability}.items() if v is not None})
            if quantity:
                deals.add_line(fresh, session, deal, {"sku": product.sku, "quantity": str(quantity)})
            return deal.id
        return action

    d6 = step("08-03", direct("D6", "Proposition", "bob", "2026-08-31", quantity=5))
    win("08-13", d6)
    d7 = from_lead("2025-06-02", "D7", "web", "alice", 5)
    win("2025-11-28", d7)
    d8 = from_lead("11-02", "D8", "web", "alice", value="1000")
    move("11-10", d8, "Qualifié")
    step("11-12", direct("D9", "Négociation", "bob", "2026-12-20", value="400", probability="90"))
    fresh._today = TODAY
    yield fresh
    fresh.close()


def test_learned_probabilities_and_days_to_close_by_hand(history):
    with history.transaction() as session:
        data = learn(history, session, get_pipeline(session))
    assert (data["from"], data["to"], data["months"], data["minimum_sample"]) == ("2025-12-02", "2026-12-01", 12, 3)
    rows = {row["stage"]: row for row in data["stages"]}
    figures = {name: (r["sample"], r["won"], r["learned"], r["configured"], r["probability"], r["basis"],
                      r["days_to_close"]) for name, r in rows.items()}
    assert figures == {
        # entered Nouveau: D1 D2 D3 D4 D5 (D6 began in Proposition, D7 closed too long ago) -> 3 won of 5
        # days to close: D1 03-02..03-20 = 18, D2 04-01..04-30 = 29, D3 05-04..06-10 = 37 -> median 29
        "Nouveau": (5, 3, "60.00", "10.00", "60.00", "learned", "29"),
        # D1 D3 D5 -> 2 of 3; D1 03-05..03-20 = 15, D3 05-06 (first entry)..06-10 = 35 -> (15 + 35) / 2
        "Qualifié": (3, 2, "66.67", "20.00", "66.67", "learned", "25"),
        # D1 D2 D5 D6 -> 3 of 4; D1 10 days, D2 04-03..04-30 = 27, D6 10 -> median 10
        "Proposition": (4, 3, "75.00", "50.00", "75.00", "learned", "10"),
        # D2 alone: 1 < 3, the configured 75 % is used; D2 04-10..04-30 = 20
        "Négociation": (1, 1, "100.00", "75.00", "75.00", "configured", "20"),
    }


def test_learned_probabilities_per_segment(history):
    with history.transaction() as session:
        segments = learn(history, session, get_pipeline(session))["segments"]

    def cell(dimension, stage, key):
        row = next(r for r in segments[dimension] if r["stage"] == stage and r[dimension] == key)
        return row["sample"], row["won"], row["learned"], row["probability"], row["basis"]

    assert cell("team", "Nouveau", "Nord") == (3, 3, "100.00", "100.00", "learned")   # D1 D2 D3
    assert cell("team", "Nouveau", "Sud") == (2, 0, "0.00", "10.00", "configured")    # D4 D5: too few
    assert cell("source", "Nouveau", "web") == (3, 2, "66.67", "66.67", "learned")    # D1 D2 D5
    assert cell("source", "Nouveau", "fair") == (2, 1, "50.00", "10.00", "configured")  # D3 D4
    assert cell("source", "Proposition", "(no source)") == (1, 1, "100.00", "50.00", "configured")  # D6
    assert cell("amount", "Nouveau", "< 1000") == (2, 2, "100.00", "10.00", "configured")      # D1 D3
    assert cell("amount", "Nouveau", "1000-10000") == (2, 1, "50.00", "10.00", "configured")   # D2 D4
    assert cell("amount", "Nouveau", ">= 10000") == (1, 0, "0.00", "10.00", "configured")      # D5
    assert cell("amount", "Proposition", "< 1000") == (2, 2, "100.00", "50.00", "configured")  # D1 D6


def test_forecast_by_method(history, workspace):
    from core.testing import CrmRunner

    crm = CrmRunner(workspace, TODAY)
    configured = crm("forecast", "--json").json
    # D8 1000 × Qualifié 20 % = 200 + D9 400 × its override 90 % = 360
    assert [(r["period"], r["count"], r["value"], r["weighted_value"], r["method"]) for r in configured] == [
        ("2026-12", 2, "1400.00", "560.00", "configured")]
    learned = crm("forecast", "--method", "learned", "--json").json
    # D8 1000 × learned 66.67 % = 666.70 + D9 400 × Négociation's 75 % (too few closed: configured;
    # the learned method ignores the deal's override) = 300
    assert [(r["period"], r["weighted_value"], r["method"]) for r in learned] == [("2026-12", "966.70", "learned")]
    shown = crm("funnel", "learn", "--json").json
    assert [r["probability"] for r in shown["stages"]] == ["60.00", "66.67", "75.00", "75.00"]
    text = crm("funnel", "learn").stdout
    assert "Nouveau" in text and "66.67" in text and "configured" in text


def test_below_the_minimum_sample_the_configured_probabilities_stand(app, crm, factory):
    # the default minimum sample is 30: with no history at all every stage falls back
    with app.transaction() as session:
        data = learn(app, session, get_pipeline(session))
    assert data["minimum_sample"] == 30
    assert [(r["sample"], r["learned"], r["probability"], r["basis"]) for r in data["stages"]] == [
        (0, None, "10.00", "configured"), (0, None, "20.00", "configured"), (0, None, "50.00", "configured"),
        (0, None, "75.00", "configured")]


def test_the_median_and_the_window():
    assert median({}) is None
    assert median({10: 1}) == Decimal(10)
    assert median({10: 2, 27: 1}) == Decimal(10)
    assert median({15: 1, 35: 1}) == Decimal(25)
    assert median({1: 1, 2: 1, 3: 1, 9: 1}) == Decimal("2.5")
    assert months_before(dt.date(2026, 12, 1), 12) == dt.date(2025, 12, 1)
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2024, 3, 31), 1) == dt.date(2024, 2, 29)
    assert months_before(dt.date(2026, 1, 15), 13) == dt.date(2024, 12, 15)


def test_the_outcomes_kept_at_each_close_equal_the_ones_rebuilt_from_the_history(history):
    from alembic import command

    from core.migrate import alembic_config
    from plugins.funnel.outcomes import outcome_rows, rebuild_outcomes

    with history.transaction() as session:
        kept = outcome_rows(session)
        # D1 3 stages, D2 3, D3 2 (Qualifié once), D4 1, D5 3, D6 1, D7 1 (old, kept: the window is read later)
        assert len(kept) == 14
        d3 = [row for row in kept if row[0] == 3]
        assert [(row[4], row[6]) for row in d3] == [(d("05-04"), 37), (d("05-06"), 35)]
        rebuild_outcomes(session)
        assert outcome_rows(session) == kept
    with history.engine.begin() as connection:     # the migration backfills the same rows
        command.downgrade(alembic_config(history, connection), "funnel_0003")
    with history.engine.begin() as connection:
        command.upgrade(alembic_config(history, connection), "funnel@head")
    with history.transaction() as session:
        assert outcome_rows(session) == kept


def test_a_reopened_deal_teaches_nothing_until_it_closes_again(history):
    from plugins.funnel.outcomes import outcome_rows

    history._today = TODAY
    with history.transaction() as session:
        deals.reopen(history, session, deals.get_deal(session, 4))
        assert [row for row in outcome_rows(session) if row[0] == 4] == []
        rows = {r["stage"]: r["sample"] for r in learn(history, session, get_pipeline(session))["stages"]}
        assert rows["Nouveau"] == 4                       # D4 left the sample
        deals.lose(history, session, deals.get_deal(session, 4), "still too expensive")
        assert [(row[2], row[5]) for row in outcome_rows(session) if row[0] == 4] == [(1, TODAY)]


@pytest.mark.parametrize("line, key", [("learn_amount_bands = [10000, 1000]", "learn_amount_bands"),
                                       ("learn_amount_bands = [1000.5]", "learn_amount_bands"),
                                       ("learn_min_sample = 0", "learn_min_sample"),
                                       ("learn_months = \"12\"", "learn_months")])
def test_the_learning_settings_are_checked_when_the_config_loads(crm, workspace, line, key):
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write(f"\n[funnel]\n{line}\n")
    failed = crm("funnel", "learn", expect=None)
    assert failed.exit_code != 0 and key in failed.stderr, failed
