"""The funnel's section of ``crm report period`` and ``crm plan``, and the demand it hands procurement.

January 2027, through the CLI only, replayed day by day with ``--today``. Two teams: Nord (alice,
who leads it, and bob) and Sud (carol). The default pipeline: New 10 %, Qualified 20 %,
Proposal 50 %, Negotiation 75 %. Products WID (100.00) and GAD (250.00).

    deal  owner  team  created  lines / value          expected close  what happens
    D1    alice  Nord  01-05    WID×10 = 1000          01-31           Proposal 01-10, won 01-20
    D2    bob    Nord  01-06    2000                   02-28           lost 01-25 "price"
    D3    carol  Sud   01-07    500                    01-31           lost 01-26 "budget"
    D4    carol  Sud   01-08    GAD×2 = 500            02-15           won 01-28 (from New)
    D5    alice  Nord  01-12    WID×20 @90 = 1800      02-15           Proposal 01-14 (50 %)
    D6    bob    Nord  01-12    WID×5 + GAD×3 = 1250   03-10           New, probability 30 %
    D7    carol  Sud   01-13    4000                   03-31           Negotiation 01-15 (75 %)
    D8    alice  Nord  01-16    GAD×1 = 250            04-15           New (10 %)
    D9    bob    Nord  01-18    WID×7 = 700            02-10           Qualified 01-19, won 02-01

Leads: L1 web/Nord (12-15, before the period), L2 web/Nord, L3 fair/Nord, L4 no source/Sud
(01-05), L5 web/Sud (01-10), L6 a duplicate of L2 (01-11) merged into it. Activities: A1 alice
due 01-10 done 01-10, A2 alice due 01-20 done 01-22, A3 bob due 01-25 open, A4 carol due 02-01
open, A5 carol due 01-15 open, A6 bob due and done 12-20. Targets: Nord 2027-Q1 10000, carol
2027-Q1 5000, alice 2027-01 1500 (2 activities), alice 2027-02 2000. Today is 1 February 2027.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pytestmark = pytest.mark.modules("funnel")

JANUARY = ("--from", "2027-01-01", "--to", "2027-01-31")
TODAY = dt.date(2027, 2, 1)


def on(crm, text: str) -> None:
    crm.today = dt.date.fromisoformat(text)


def deal(crm, name: str, owner: str, team: str, close: str, *extra: str) -> None:
    crm("deal", "add", name, "--customer", "ACME", "--owner", owner, "--team", team, "--expected-close", close,
        *extra)


def build_january(crm) -> None:
    on(crm, "2026-12-15")
    crm("user", "add", "alice", "Alice Martin", "--email", "alice@nord.fr")
    crm("user", "add", "bob", "Bob Durand", "--email", "bob@nord.fr")
    crm("user", "add", "carol", "Carol Petit", "--email", "carol@sud.fr")
    crm("team", "add", "Nord", "--leader", "alice", "--member", "bob")
    crm("team", "add", "Sud", "--leader", "carol")
    crm("product", "add", "WID", "Widget", "--price", "100")
    crm("product", "add", "GAD", "Gadget", "--price", "250")
    crm("partner", "add", "ACME", "--email", "buy@acme.fr")
    crm("lead", "add", "Lea", "--email", "lea@one.fr", "--source", "web", "--team", "Nord", "--owner", "alice")
    crm("activity", "add", "call", "A6", "--due", "2026-12-20", "--owner", "bob")
    on(crm, "2026-12-20")
    crm("activity", "done", "1", "--outcome", "ok")

    on(crm, "2027-01-05")
    crm("lead", "add", "Jean", "--email", "jean@two.fr", "--source", "web", "--team", "Nord", "--owner", "alice")
    crm("lead", "add", "Marc", "--email", "marc@three.fr", "--source", "fair", "--team", "Nord", "--owner", "bob")
    crm("lead", "add", "Nina", "--email", "nina@four.fr", "--team", "Sud", "--owner", "carol")
    crm("activity", "add", "call", "A1", "--due", "2027-01-10", "--owner", "alice")
    deal(crm, "D1", "alice", "Nord", "2027-01-31")
    crm("deal", "line", "1", "WID", "10")
    on(crm, "2027-01-06")
    deal(crm, "D2", "bob", "Nord", "2027-02-28", "--value", "2000")
    on(crm, "2027-01-07")
    deal(crm, "D3", "carol", "Sud", "2027-01-31", "--value", "500")
    on(crm, "2027-01-08")
    deal(crm, "D4", "carol", "Sud", "2027-02-15")
    crm("deal", "line", "4", "GAD", "2")
    on(crm, "2027-01-10")
    crm("lead", "add", "Olga", "--email", "olga@five.fr", "--source", "web", "--team", "Sud", "--owner", "carol")
    crm("deal", "move", "1", "Proposition")
    crm("activity", "done", "2", "--outcome", "ok")
    crm("activity", "add", "meeting", "A2", "--due", "2027-01-20", "--owner", "alice")
    crm("activity", "add", "task", "A3", "--due", "2027-01-25", "--owner", "bob")
    crm("activity", "add", "call", "A4", "--due", "2027-02-01", "--owner", "carol")
    crm("activity", "add", "email", "A5", "--due", "2027-01-15", "--owner", "carol")
    on(crm, "2027-01-11")
    crm("lead", "add", "Jean bis", "--email", "jean@two.fr", "--source", "fair", "--team", "Nord")
    crm("lead", "merge", "2", "6")
    on(crm, "2027-01-12")
    deal(crm, "D5", "alice", "Nord", "2027-02-15")
    crm("deal", "line", "5", "WID", "20", "--price", "90")
    deal(crm, "D6", "bob", "Nord", "2027-03-10", "--probability", "30")
    crm("deal", "line", "6", "WID", "5")
    crm("deal", "line", "6", "GAD", "3")
    on(crm, "2027-01-13")
    deal(crm, "D7", "carol", "Sud", "2027-03-31", "--value", "4000")
    on(crm, "2027-01-14")
    crm("deal", "move", "5", "Proposition")
    on(crm, "2027-01-15")
    crm("deal", "move", "7", "Négociation")
    on(crm, "2027-01-16")
    deal(crm, "D8", "alice", "Nord", "2027-04-15")
    crm("deal", "line", "8", "GAD", "1")
    on(crm, "2027-01-18")
    deal(crm, "D9", "bob", "Nord", "2027-02-10")
    crm("deal", "line", "9", "WID", "7")
    on(crm, "2027-01-19")
    crm("deal", "move", "9", "Qualifié")
    on(crm, "2027-01-20")
    crm("deal", "won", "1")
    on(crm, "2027-01-22")
    crm("activity", "done", "3", "--outcome", "ok")
    on(crm, "2027-01-25")
    crm("deal", "lost", "2", "--reason", "price")
    on(crm, "2027-01-26")
    crm("deal", "lost", "3", "--reason", "budget")
    on(crm, "2027-01-28")
    crm("deal", "won", "4")
    on(crm, "2027-02-01")
    crm("deal", "won", "9")
    crm("target", "set", "--team", "Nord", "--period", "2027-Q1", "--revenue", "10000")
    crm("target", "set", "--user", "carol", "--period", "2027-Q1", "--revenue", "5000")
    crm("target", "set", "--user", "alice", "--period", "2027-01", "--revenue", "1500", "--activities", "2")
    crm("target", "set", "--user", "alice", "--period", "2027-02", "--revenue", "2000")


def test_period_report_section(crm):
    build_january(crm)
    report = crm("report", "period", *JANUARY, "--json").json
    funnel = report["sections"]["funnel"]
    assert funnel["pipeline"] == "Sales"                          # the default pipeline, as crm funnel report
    # L2, L3, L4, L5 came in January; L1 in December; L6 was merged into L2 (the same person)
    assert funnel["leads"] == {"count": 4, "by_source": [
        {"source": "web", "count": 2}, {"source": "fair", "count": 1}, {"source": None, "count": 1}]}
    assert funnel["won"] == {"count": 2, "value": "1500.00"}      # D1 1000 + D4 500 (D9 is February's)
    assert funnel["lost"] == {"count": 2, "value": "2500.00",     # D2 2000 + D3 500
                              "reasons": [{"reason": "price", "count": 1, "value": "2000.00"},
                                          {"reason": "budget", "count": 1, "value": "500.00"}]}
    assert funnel["win_rate"] == "50.00"                          # 2 / (2 + 2)
    stages = {s["stage"]: (s["count"], s["value"], s["weighted_value"]) for s in funnel["stages"]}
    assert stages == {
        "Nouveau": (2, "1500.00", "400.00"),           # D6 1250 × 30 % = 375 + D8 250 × 10 % = 25
        "Qualifié": (0, "0.00", "0.00"),          # D9 was won on 1 February
        "Proposition": (1, "1800.00", "900.00"),      # D5 1800 × 50 %
        "Négociation": (1, "4000.00", "3000.00"),  # D7 4000 × 75 %
        "Gagné": (2, "1500.00", "1500.00"),
        "Perdu": (2, "2500.00", "0.00"),
    }
    assert (funnel["open_count"], funnel["open_value"], funnel["weighted_pipeline"]) == (4, "7300.00", "4300.00")  # 1500 + 1800 + 4000
    # furthest stage entered in January: D1 D4 Won; D7 Negotiation; D5 Proposal; D9 Qualified (won
    # on 1 February, outside); D2 D3 D6 D8 New (Lost is not progress). Reached: 9, 5, 4, 3, 2.
    assert [(c["from"], c["to"], c["reached_from"], c["reached_to"], c["rate"]) for c in funnel["conversion"]] == [
        ("Nouveau", "Qualifié", 9, 5, "55.56"), ("Qualifié", "Proposition", 5, 4, "80.00"),
        ("Proposition", "Négociation", 4, 3, "75.00"), ("Négociation", "Gagné", 3, 2, "66.67")]
    # done in January: A1, A2 (alice); overdue on 1 February: A3 (bob), A5 (carol); A4 is due today
    assert funnel["activities"] == {"done": 2, "overdue": 2, "per_owner": [
        {"owner": "alice", "done": 2, "overdue": 0}, {"owner": "bob", "done": 0, "overdue": 1},
        {"owner": "carol", "done": 0, "overdue": 1}]}
    targets = [(t["user"] or t["team"], t["period"], t["won"], t["attainment"], t["open_pipeline"], t["coverage"])
               for t in funnel["targets"]]
    assert targets == [
        ("alice", "2027-01", "1000.00", "66.67", "0.00", "0.00"),     # D1; nothing of hers closes in January
        ("Nord", "2027-Q1", "1700.00", "17.00", "3050.00", "36.75"),  # D1 + D9; D5 + D6 over 8300 remaining
        ("carol", "2027-Q1", "500.00", "10.00", "4000.00", "88.89"),  # D4; D7 over 4500 remaining
    ]
    assert funnel["targets"][0]["activities_attainment"] == "100.00"  # A1, A2 of 2
    charts = funnel["charts"]
    assert charts["stage_count"]["kind"] == charts["stage_value"]["kind"] == "bars"
    assert [(p["label"], p["value"]) for p in charts["stage_count"]["points"]] == [
        ("Nouveau", 2), ("Qualifié", 0), ("Proposition", 1), ("Négociation", 1), ("Gagné", 2), ("Perdu", 2)]
    assert charts["stage_value"]["unit"] == "money"
    assert charts["stage_value"]["points"][3] == {"label": "Négociation", "value": "4000.00"}

    text = crm("report", "period", *JANUARY).stdout
    assert "Sales funnel" in text and "leads in" in text and "4300.00" in text


def test_plan_section(crm):
    build_january(crm)
    plan = crm("plan", "--period", "2027-Q1", "--json").json["sections"]["funnel"]
    assert plan["pipelines"] == "all"
    assert plan["months"] == [
        {"month": "2027-01", "count": 0, "value": "0.00", "weighted_value": "0.00"},
        {"month": "2027-02", "count": 1, "value": "1800.00", "weighted_value": "900.00"},    # D5 × 50 %
        {"month": "2027-03", "count": 2, "value": "5250.00", "weighted_value": "3375.00"},  # D6 375 + D7 3000
    ]
    assert (plan["expected_count"], plan["expected_value"], plan["expected_revenue"]) == (3, "7050.00", "4275.00")
    # gap = target − won in the target's period so far − weighted open deals closing in it
    assert plan["targets"] == [
        {"user": "alice", "team": None, "period": "2027-01", "target": "1500.00", "won": "1000.00",
         "weighted_pipeline": "0.00", "gap": "500.00"},
        {"user": None, "team": "Nord", "period": "2027-Q1", "target": "10000.00", "won": "1700.00",
         "weighted_pipeline": "1275.00", "gap": "7025.00"},       # 10000 − (1000 + 700) − (900 + 375)
        {"user": "carol", "team": None, "period": "2027-Q1", "target": "5000.00", "won": "500.00",
         "weighted_pipeline": "3000.00", "gap": "1500.00"},       # 5000 − 500 − 3000
        {"user": "alice", "team": None, "period": "2027-02", "target": "2000.00", "won": "0.00",
         "weighted_pipeline": "900.00", "gap": "1100.00"},        # 2000 − 0 − D5 900
    ]
    chart = plan["charts"]["expected"]
    assert (chart["kind"], chart["unit"]) == ("columns", "money")
    assert [(p["label"], p["value"]) for p in chart["points"]] == [
        ("2027-01", "0.00"), ("2027-02", "900.00"), ("2027-03", "3375.00")]


def sections(app, hook: str, start: str, end: str, team: str) -> dict:
    """The JSON ``crm report period|plan --team`` prints, built in one session.

    Built here with the kernel's own functions because the command itself cannot print a team's
    JSON yet: it rolls the session back before writing the period, whose Team is then detached.
    """
    from core.reports import build, make_period

    with app.session() as session:
        period = make_period(session, dt.date.fromisoformat(start), dt.date.fromisoformat(end), TODAY, team=team)
        return build(app, hook, period, session).as_dict()["sections"]


def test_team_filter(crm, app):
    build_january(crm)
    nord = sections(app, "report_sections", "2027-01-01", "2027-01-31", "Nord")["funnel"]
    assert nord["leads"] == {"count": 2, "by_source": [{"source": "fair", "count": 1}, {"source": "web", "count": 1}]}
    assert nord["won"] == {"count": 1, "value": "1000.00"}           # D1
    assert (nord["lost"]["count"], nord["lost"]["value"]) == (1, "2000.00")  # D2
    assert nord["weighted_pipeline"] == "1300.00"                   # D5 900 + D6 375 + D8 25
    # Nord's deals: D1 Won, D9 Qualified, D5 Proposal, D2 D6 D8 New: reached 6, 3, 2, 1, 1
    assert [c["rate"] for c in nord["conversion"]] == ["50.00", "66.67", "50.00", "100.00"]
    assert nord["activities"]["per_owner"] == [{"owner": "alice", "done": 2, "overdue": 0},
                                               {"owner": "bob", "done": 0, "overdue": 1}]
    assert [(t["user"] or t["team"], t["period"]) for t in nord["targets"]] == [("alice", "2027-01"),
                                                                                 ("Nord", "2027-Q1")]
    plan = sections(app, "plan_sections", "2027-01-01", "2027-03-31", "Nord")["funnel"]
    assert [m["weighted_value"] for m in plan["months"]] == ["0.00", "900.00", "375.00"]
    assert plan["expected_revenue"] == "1275.00"                    # D5 900 + D6 375 (D7 is Sud's)
    assert [(t["user"] or t["team"], t["period"], t["gap"]) for t in plan["targets"]] == [
        ("alice", "2027-01", "500.00"), ("Nord", "2027-Q1", "7025.00"), ("alice", "2027-02", "1100.00")]

    text = crm("report", "period", *JANUARY, "--team", "Sud").stdout     # the terminal view of a team
    assert "leads in" in text and "3000.00" in text                 # Sud's weighted pipeline: D7


def test_expected_demand(crm, app):
    build_january(crm)
    from sqlalchemy import select

    from core.models import Product

    with app.session() as session:
        ids = dict(session.execute(select(Product.sku, Product.id)).all())
        wid, gad = ids["WID"], ids["GAD"]
        quarter = [row for rows in app.call("expected_demand", app=app, session=session,
                                            start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)) for row in rows]
        april = [row for rows in app.call("expected_demand", app=app, session=session,
                                          start=dt.date(2027, 4, 1), end=dt.date(2027, 4, 30)) for row in rows]
    # open deals only (D1, D4, D9 are orders already): D5 WID 20 × 50 %; D6 WID 5 and GAD 3 × 30 %
    assert [(r["product_id"], r["expected_on"], r["quantity"], r["probability"]) for r in quarter] == [
        (wid, dt.date(2027, 2, 15), Decimal("10"), Decimal("50")),
        (wid, dt.date(2027, 3, 10), Decimal("1.5"), Decimal("30")),
        (gad, dt.date(2027, 3, 10), Decimal("0.9"), Decimal("30")),
    ]
    assert all(isinstance(r["quantity"], Decimal) for r in quarter)
    assert [(r["product_id"], r["expected_on"], r["quantity"]) for r in april] == [
        (gad, dt.date(2027, 4, 15), Decimal("0.1"))]               # D8 GAD 1 × 10 %


def squeeze(page: str) -> str:
    """Babel's French numbers use narrow and plain no-break spaces: compare with plain ones."""
    return page.replace("\N{NARROW NO-BREAK SPACE}", " ").replace("\N{NO-BREAK SPACE}", " ")


def test_html_in_french_and_english(crm, tmp_path):
    build_january(crm)
    french, english = tmp_path / "fr.html", tmp_path / "en.html"
    crm("report", "period", *JANUARY, "--html", str(french))
    crm("report", "period", *JANUARY, "--html", str(english), "--locale", "en_GB")
    page = squeeze(french.read_text(encoding="utf-8"))
    assert "Entonnoir des ventes" in page and "Prospects entrants" in page and "Pourquoi des affaires" in page
    assert "Affaires par étape" in page and "4 300,00 €" in page and "Leads in" not in page
    page = squeeze(english.read_text(encoding="utf-8"))
    assert "Sales funnel" in page and "Leads in" in page and "Deals per stage" in page and "€4,300.00" in page
    assert "Entonnoir des ventes" not in page and page.count("<svg") == 2

    crm("plan", "--period", "2027-Q1", "--html", str(french))
    crm("plan", "--period", "2027-Q1", "--html", str(english), "--locale", "en_US")
    page = squeeze(french.read_text(encoding="utf-8"))
    assert "Ventes attendues" in page and "Écart aux objectifs" in page and "7 025,00 €" in page
    page = squeeze(english.read_text(encoding="utf-8"))
    assert "Expected sales" in page and "Gap to targets" in page and "€7,025.00" in page

    # the funnel's own report: French by default, English on request
    crm("funnel", "report", *JANUARY, "--html", str(french))
    crm("funnel", "report", *JANUARY, "--html", str(english), "--locale", "en_GB")
    page = squeeze(french.read_text(encoding="utf-8"))
    assert "Pipeline pondéré" in page and "Conversion entre étapes" in page and "4 300,00 €" in page
    page = squeeze(english.read_text(encoding="utf-8"))
    assert "Weighted pipeline" in page and "Conversion between stages" in page and "€4,300.00" in page


def test_no_section_without_the_funnel(crm):
    crm("deal", "add", "Big", "--value", "1000", "--expected-close", "2027-02-10")
    assert "funnel" in crm("plan", "--period", "2027-Q1", "--json").json["sections"]
    crm("modules", "disable", "funnel")
    assert "funnel" not in crm("report", "period", *JANUARY, "--json").json["sections"]
    assert "funnel" not in crm("plan", "--period", "2027-Q1", "--json").json["sections"]


def test_every_english_text_has_its_french():
    """Each ``_("...")`` of the funnel's templates, and each section and chart title, is in fr.po."""
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    import plugins.funnel

    folder = Path(plugins.funnel.__file__).parent
    with (folder / "templates" / "i18n" / "fr.po").open("rb") as handle:
        french = {entry.id for entry in read_po(handle, locale="fr") if entry.id and entry.string}
    texts = set()
    for template in (folder / "templates" / "funnel").glob("*.html"):
        texts |= set(re.findall(r'_\("([^"]+)"', template.read_text(encoding="utf-8")))
    code = (folder / "sections.py").read_text(encoding="utf-8")
    texts |= set(re.findall(r'(?:Chart\(|title=)"([^"]+)"', code))
    assert {"Sales funnel", "Expected sales", "Deals per stage", "Leads in"} <= texts
    assert sorted(texts - french) == []
