"""Forecast accuracy: weekly snapshots taken by the job as the days are replayed, compared by hand
with what November 2026 brought.

alice leads Nord, bob leads Sud; product P at 100.00; no closed history, so the learned method
falls back to each stage's configured probability and ignores the deals' overrides.

    2026-10-26 (W44)  A1 alice 1000 (10 × P) in Proposition 50 %, expected 11-20
                      B1 bob   2000 in Nouveau 10 %, override 40 %, expected 11-25
                      snapshot: alice 500 | 500;  bob 800 (override) | 200 (learned: 10 %)
    2026-11-02 (W45)  A1 won (1000)
                      snapshot: alice 1000 + 0 | same;  bob 800 | 200
    2026-11-09 (W46)  B1 moved to Négociation 75 %
                      snapshot: alice 1000 | 1000;  bob 800 | 2000 × 75 % = 1500
    2026-11-10 (W46)  B1 lost; the job runs again: the week has its snapshot, nothing is rewritten
    2026-12-01        November is over: alice won 1000, bob 0 (Nord = alice's deals, Sud = bob's)
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.scheduler import run_due
from core.services.people import create_team
from plugins.funnel import deals
from plugins.funnel.accuracy import accuracy, open_periods, week_of
from plugins.funnel.models import ForecastSnapshot

pytestmark = pytest.mark.modules("funnel")
JOB = "funnel.forecast_snapshot"


def snapshot(app, day: str) -> dict:
    app._today = dt.date.fromisoformat(day)
    [result] = run_due(app, app._today, only=JOB)
    assert result.outcome == "done", result
    return result.counts


@pytest.fixture
def november(app, factory):
    factory.user(login="alice")
    factory.user(login="bob")
    factory.product(sku="P", list_price="100")
    customer = factory.partner(name="ACME")
    with app.transaction() as session:
        create_team(session, {"name": "Nord", "leader": "alice"})
        create_team(session, {"name": "Sud", "leader": "bob"})
    app._today = dt.date(2026, 10, 26)
    with app.transaction() as session:
        a1 = deals.create_deal(app, session, {"name": "A1", "customer": str(customer.id), "owner": "alice",
                                              "stage": "Proposition", "expected_close": "2026-11-20"})
        deals.add_line(app, session, a1, {"sku": "P", "quantity": "10"})
        b1 = deals.create_deal(app, session, {"name": "B1", "customer": str(customer.id), "owner": "bob",
                                              "value": "2000", "probability": "40", "expected_close": "2026-11-25"})
        ids = a1.id, b1.id
    # four open periods (Oct, Nov, Q4, Q1) × two methods × alice, bob, Nord, Sud
    assert snapshot(app, "2026-10-26") == {"week": "2026-W44", "snapshots": 32}
    app._today = dt.date(2026, 11, 2)
    with app.transaction() as session:
        deals.win(app, session, deals.get_deal(session, ids[0]))
    assert snapshot(app, "2026-11-02")["snapshots"] == 32
    app._today = dt.date(2026, 11, 9)
    with app.transaction() as session:
        deals.move(app, session, deals.get_deal(session, ids[1]), "Négociation")
    snapshot(app, "2026-11-09")
    app._today = dt.date(2026, 11, 10)
    with app.transaction() as session:
        deals.lose(app, session, deals.get_deal(session, ids[1]), "price")
    assert snapshot(app, "2026-11-10") == {"week": "2026-W46", "snapshots": 0}   # the week has its snapshot
    app._today = dt.date(2026, 12, 1)
    return app


def test_each_snapshot_holds_what_the_forecast_said_that_week(november):
    with november.transaction() as session:
        rows = session.execute(select(ForecastSnapshot.week, ForecastSnapshot.method, ForecastSnapshot.subject,
                                      ForecastSnapshot.won, ForecastSnapshot.weighted_pipeline,
                                      ForecastSnapshot.forecast)
                               .where(ForecastSnapshot.period == "2026-11", ForecastSnapshot.subject.like("user:%"))
                               .order_by(ForecastSnapshot.week, ForecastSnapshot.method,
                                         ForecastSnapshot.subject)).all()
        total = session.execute(select(func.count()).select_from(ForecastSnapshot)).scalar()
    assert total == 3 * 32
    first = min(int(s.split(":")[1]) for _, _, s, *_ in rows) - 1  # users after the operator who made the workspace
    rows = [(w, m, f"user:{int(s.split(':')[1]) - first}", *rest) for w, m, s, *rest in rows]
    assert [(w, m, s, str(won), str(pipeline), str(forecast)) for w, m, s, won, pipeline, forecast in rows] == [
        ("2026-W44", "configured", "user:1", "0.00", "500.00", "500.00"),    # A1 1000 × 50 %
        ("2026-W44", "configured", "user:2", "0.00", "800.00", "800.00"),    # B1 2000 × 40 % (override)
        ("2026-W44", "learned", "user:1", "0.00", "500.00", "500.00"),
        ("2026-W44", "learned", "user:2", "0.00", "200.00", "200.00"),       # B1 2000 × Nouveau 10 %
        ("2026-W45", "configured", "user:1", "1000.00", "0.00", "1000.00"),  # A1 won on 11-02
        ("2026-W45", "configured", "user:2", "0.00", "800.00", "800.00"),
        ("2026-W45", "learned", "user:1", "1000.00", "0.00", "1000.00"),
        ("2026-W45", "learned", "user:2", "0.00", "200.00", "200.00"),
        ("2026-W46", "configured", "user:1", "1000.00", "0.00", "1000.00"),
        ("2026-W46", "configured", "user:2", "0.00", "800.00", "800.00"),   # the override still rules
        ("2026-W46", "learned", "user:1", "1000.00", "0.00", "1000.00"),
        ("2026-W46", "learned", "user:2", "0.00", "1500.00", "1500.00"),    # Négociation 75 %
    ]


def test_accuracy_per_method_salesperson_and_team_by_hand(november, workspace):
    from core.testing import CrmRunner

    data = CrmRunner(workspace, dt.date(2026, 12, 1))("forecast", "accuracy", "--period", "2026-11", "--json").json
    assert (data["period"], data["from"], data["to"]) == ("2026-11", "2026-11-01", "2026-11-30")
    figures = [(r["method"], r["user"], r["team"], r["snapshots"], r["actual"], r["bias"], r["absolute_error"],
                r["absolute_error_percent"]) for r in data["rows"]]
    assert figures == [
        # alice: forecasts 500, 1000, 1000 against 1000 won: errors -500, 0, 0
        # bias -500 / 3 = -166.67; absolute error 500 / 3 = 166.67, i.e. 16.67 % of 1000
        ("configured", "alice", None, 3, "1000.00", "-166.67", "166.67", "16.67"),
        # bob: 800 three times against nothing won
        ("configured", "bob", None, 3, "0.00", "800.00", "800.00", None),
        ("configured", None, "Nord", 3, "1000.00", "-166.67", "166.67", "16.67"),
        ("configured", None, "Sud", 3, "0.00", "800.00", "800.00", None),
        ("learned", "alice", None, 3, "1000.00", "-166.67", "166.67", "16.67"),
        # bob learned: 200, 200, 1500 -> 1900 / 3 = 633.33
        ("learned", "bob", None, 3, "0.00", "633.33", "633.33", None),
        ("learned", None, "Nord", 3, "1000.00", "-166.67", "166.67", "16.67"),
        ("learned", None, "Sud", 3, "0.00", "633.33", "633.33", None),
    ]
    assert [w["error"] for w in data["rows"][0]["weeks"]] == ["-500.00", "0.00", "0.00"]


def test_accuracy_waits_for_the_period_to_close(november, workspace):
    from core.testing import CrmRunner

    crm = CrmRunner(workspace, dt.date(2026, 12, 1))
    assert "is over" in crm("forecast", "accuracy", "--period", "2026-12", expect=1).stderr
    assert "months and quarters" in crm("forecast", "accuracy", "--period", "2026-W45", expect=1).stderr
    text = crm("forecast", "accuracy", "--period", "2026-11").stdout
    assert "alice" in text and "-166.67" in text and "633.33" in text


def test_open_periods_and_weeks():
    assert [p[0] for p in open_periods(dt.date(2026, 12, 31))] == ["2026-12", "2027-01", "2026-Q4", "2027-Q1"]
    assert open_periods(dt.date(2026, 2, 10))[1][1:] == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert week_of(dt.date(2026, 12, 31)) == "2026-W53" and week_of(dt.date(2027, 1, 4)) == "2027-W01"
