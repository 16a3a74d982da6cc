"""The kernel's frame of the period report and the plan: periods, sections from modules, the page.

The modules' own sections are tested in their folders; here two stand-in modules are registered
on the app's plugin manager, so the frame is checked with no module enabled at all.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.hookspecs import hookimpl
from core.reports import Chart, Period, Section, build, make_period, parse_period, render_html


@pytest.mark.parametrize("text, start, end", [
    ("2027-Q1", dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
    ("2027-q4", dt.date(2027, 10, 1), dt.date(2027, 12, 31)),
    ("2028-H1", dt.date(2028, 1, 1), dt.date(2028, 6, 30)),
    ("2028-02", dt.date(2028, 2, 1), dt.date(2028, 2, 29)),  # a leap year's February
    ("2027-02", dt.date(2027, 2, 1), dt.date(2027, 2, 28)),
    ("2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
])
def test_periods_are_read_as_a_manager_writes_them(text, start, end):
    assert parse_period(text) == (start, end)


@pytest.mark.parametrize("text", ["2027-Q5", "2027-13", "Q1", "next quarter", "2027-H3"])
def test_a_period_that_is_not_one_is_refused_with_the_forms_that_are(text):
    with pytest.raises(ValidationError, match="write 2027-Q1, 2027-H1, 2027-03 or 2027"):
        parse_period(text)


def test_weeks_start_on_monday_and_cover_the_period():
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 28))  # 1 Nov 2026 is a Sunday
    weeks = period.weeks()
    assert weeks[0] == dt.date(2026, 10, 26) and weeks[-1] == dt.date(2026, 11, 30)
    assert len(weeks) == 6 and all(w.weekday() == 0 for w in weeks)
    assert period.days == 30


class Sales:
    @hookimpl
    def report_sections(self, period):
        chart = Chart("Revenue per week", [(w.isoformat(), Decimal(w.day * 10)) for w in period.weeks()], unit="money")
        return Section(key="sales", title="Sales", template="t/sales.html", order=20,
                       data={"won": Decimal("1234.50")}, summary=[("won", "1234.50")], charts={"revenue": chart})


class Stock:
    @hookimpl
    def report_sections(self):
        return [Section(key="stock", title="Stock", template="t/stock.html", order=10, data={"below_min": 3},
                        charts={"below": Chart("Below minimum", [("LED-1", 4), ("LED-2", 0)], kind="bars")})]


@pytest.fixture
def framed(workspace, app):
    folder = workspace.folder / "tpl" / "t"
    folder.mkdir(parents=True)
    (folder / "sales.html").write_text('{% from "core/charts.html" import chart %}'
                                       '<p class="won">{{ data.won|money }}</p>{{ chart(section.charts.revenue) }}')
    (folder / "stock.html").write_text('{% from "core/charts.html" import chart %}'
                                       '<p>{{ data.below_min }}</p>{{ chart(section.charts.below) }}')
    with open(workspace.config_path, "a", encoding="utf-8") as handle:
        handle.write('\n[templates]\nfolder = "tpl"\n')
    app = workspace.app()
    app.pm.register(Sales(), name="sales")
    app.pm.register(Stock(), name="stock")
    return app


def _report(app, hook="report_sections"):
    with app.session() as session:
        period = make_period(session, dt.date(2026, 11, 1), dt.date(2026, 11, 30), app.today)
        return build(app, hook, period, session)


def test_sections_come_from_the_modules_in_their_order(framed):
    report = _report(framed)
    assert [s.key for s in report.sections] == ["stock", "sales"]
    data = json.loads(json.dumps(report.as_dict(), default=str))
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-30", "today": "2026-11-28",
                              "label": "2026-11-01 – 2026-11-30", "team": None}
    assert data["sections"]["sales"]["won"] == "1234.50"
    assert data["sections"]["stock"]["charts"]["below"]["points"] == [{"label": "LED-1", "value": 4},
                                                                      {"label": "LED-2", "value": 0}]


def test_the_page_draws_each_section_and_its_charts_in_the_language_asked(framed):
    report = _report(framed)
    french = render_html(framed, report)
    assert "<h1>Rapport de période</h1>" in french and "1 novembre 2026" in french
    assert french.index('id="stock"') < french.index('id="sales"')
    assert '<p class="won">1\u202f234,50\xa0€</p>' in french
    assert french.count("<svg") == 2 and french.count('class="bar"') == 6 + 2  # six weeks, two products
    english = render_html(framed, report, locale="en_GB")
    assert "<h1>Period report</h1>" in english and "1 November 2026" in english and "€1,234.50" in english


def test_two_modules_may_not_claim_the_same_section(framed):
    class Again:
        @hookimpl
        def report_sections(self):
            return Section(key="sales", title="Also sales", template="t/sales.html", data={})

    framed.pm.register(Again(), name="again")
    with pytest.raises(ValidationError, match="two modules gave a section named 'sales'"):
        _report(framed)


def test_a_chart_scales_to_its_largest_value_and_draws_nothing_for_zero():
    chart = Chart("x", [("a", Decimal(50)), ("b", Decimal(100)), ("c", Decimal(0))])
    columns = chart.columns()
    assert [c["height"] for c in columns] == ["90.0", "180.0", "0.0"]
    assert [b["width"] for b in Chart("y", [("a", 1), ("b", 4)], kind="bars").bars()] == ["90.0", "360.0"]
    assert Chart("z", []).columns() == []


def test_the_commands_work_with_no_module_and_refuse_a_reversed_period(crm, workspace):
    result = crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", "--json")
    assert result.json["sections"] == {} and result.json["kind"] == "report"
    page = workspace.folder / "plan.html"
    result = crm("plan", "--period", "2027-Q1", "--html", str(page), "--locale", "en_GB")
    assert "Plan: 2027-Q1" in result.stdout and "no enabled module contributes" in result.stdout
    assert "No enabled module contributes to this page." in page.read_text()
    result = crm("report", "period", "--from", "2026-12-01", "--to", "2026-11-01", expect=1)
    assert result.stderr.strip() == "error: report: from: 2026-12-01 is after 2026-11-01"
    result = crm("plan", "--period", "2027-Q9", expect=1)
    assert "write 2027-Q1" in result.stderr
    result = crm("report", "period", "--from", "2026-11-01", "--to", "2026-11-30", "--team", "Nobody", expect=1)
    assert "Nobody" in result.stderr
