"""A month of a sales team's life, through the CLI only, checked against figures computed by hand.

October 2026. Leads are imported (a bad file first), one is converted, six deals move through
the default pipeline (New 10 %, Qualified 20 %, Proposal 50 %, Negotiation 75 %), two are won
(their orders are confirmed), one is lost, reopened and lost again; activities fall overdue and
the daily job tells their owner; targets are set; the report's JSON is compared with the
hand-computed figures written next to each assertion.
"""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.modules("funnel")

CSV = """name,company,email,owner,team,source
Jean Dupont,ACME,jean@acme.fr,alice,Nord,web
Marie Curie,Radium SA,marie@radium.fr,bob,Nord,fair
Bad Row,X,not-an-email,alice,,web
Jean Dupont,Acme,JEAN@ACME.FR,alice,Nord,fair
Paul,Ghost,paul@ghost.fr,nobody,,web
"""


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(f"2026-{text}")


def test_a_month_of_funnel(crm, workspace, tmp_path):
    crm.today = day("10-01")
    crm("user", "add", "alice", "Alice Martin", "--email", "alice@nord.fr")
    crm("user", "add", "bob", "Bob Durand", "--email", "bob@nord.fr")
    crm("team", "add", "Nord", "--leader", "alice", "--member", "bob")
    crm("product", "add", "WID", "Widget", "--price", "100")

    # --- import: a bad file writes nothing and names every bad row -------------------------
    leads_csv = tmp_path / "leads.csv"
    leads_csv.write_text(CSV, encoding="utf-8")
    failed = crm("import", "leads", str(leads_csv), expect=1)
    assert "line 4" in failed.stderr and "email" in failed.stderr
    assert crm("lead", "list", "--json").json == []
    failed = crm("lead", "import", str(leads_csv), "--json", expect=1).json
    assert [(e["record"], e["field"]) for e in failed["errors"]] == [("line 4", "email"), ("line 6", "owner")]
    assert crm("lead", "list", "--json").json == []

    # --skip-invalid: the good rows go in, the bad ones to a rejects file, the in-file duplicate is flagged
    summary = crm("lead", "import", str(leads_csv), "--skip-invalid", "--json").json
    assert (summary["created"], summary["duplicates"], summary["rejected"]) == (3, 1, 2)
    rejects = (tmp_path / "leads.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rejects[1:]] == ["4", "6"]
    leads = crm("lead", "list", "--json").json
    assert [(lead["name"], lead["duplicate_of"]) for lead in leads] == [
        ("Jean Dupont", None), ("Marie Curie", None), ("Jean Dupont", 1)]
    # importing the same file again with --duplicates skip writes nothing new
    again = crm("lead", "import", str(leads_csv), "--skip-invalid", "--duplicates", "skip", "--json").json
    assert (again["created"], again["skipped"], again["duplicates"]) == (0, 3, 3)

    # --- conversion, merge --------------------------------------------------------------------
    crm("lead", "qualify", "1", "--user", "alice")
    d1 = crm("lead", "convert", "1", "--expected-close", "2026-10-25", "--user", "alice", "--json").json
    assert d1["customer"]["name"] == "ACME" and d1["stage"] == "Nouveau" and d1["team"] == "Nord"
    crm("lead", "merge", "1", "3", "--user", "alice")
    shown = crm("lead", "show", "1", "--json").json
    assert shown["state"] == "converted" and [e["action"] for e in shown["history"]][-1] == "merged"
    assert crm("lead", "show", "3", "--json").json["merged_into"] == 1
    crm("lead", "disqualify", "2", "--reason", "no budget", "--user", "bob")
    crm("lead", "disqualify", "2", expect=2)  # --reason is required: a usage error
    assert "cannot disqualify" in crm("lead", "disqualify", "2", "--reason", "x", expect=1).stderr

    # --- deals -------------------------------------------------------------------------------
    crm("deal", "line", "1", "WID", "10")                                             # D1 = 1000.00
    crm("deal", "add", "D2", "--customer", "ACME", "--expected-close", "2026-10-30", "--owner", "alice",
        "--team", "Nord")
    crm("deal", "line", "2", "WID", "5")                                              # D2 = 500.00
    crm.today = day("10-02")
    crm("deal", "add", "D3", "--customer", "ACME", "--value", "2000", "--expected-close", "2026-11-30",
        "--owner", "bob", "--team", "Nord")
    crm("deal", "add", "D4", "--customer", "ACME", "--value", "4000", "--probability", "30",
        "--expected-close", "2026-12-10", "--owner", "bob", "--team", "Nord")
    crm.today = day("10-03")
    crm("deal", "add", "D5", "--value", "1000", "--expected-close", "2026-10-30", "--owner", "alice")
    crm("deal", "move", "2", "Proposition", "--user", "alice")
    crm.today = day("10-04")
    crm("deal", "add", "D6", "--value", "3000", "--expected-close", "2026-11-15", "--owner", "alice",
        "--team", "Nord")
    crm("deal", "move", "3", "Qualifié", "--user", "bob")
    crm.today = day("10-05")
    crm("deal", "move", "1", "Qualifié", "--user", "alice")
    crm.today = day("10-06")
    crm("deal", "move", "4", "Qualifié", "--user", "bob")
    crm.today = day("10-08")
    crm("deal", "move", "6", "Proposition")
    crm.today = day("10-10")
    crm("deal", "move", "1", "Proposition", "--user", "alice")
    crm.today = day("10-15")
    assert "reason" in crm("deal", "lost", "3", "--reason", " ", expect=1).stderr
    crm("deal", "lost", "3", "--reason", "price", "--user", "bob")
    crm.today = day("10-16")
    assert crm("deal", "reopen", "3", "--user", "bob").stdout.strip() == "deal 3: reopened in Qualifié"
    crm.today = day("10-18")
    crm("deal", "lost", "3", "--reason", "budget cut", "--user", "bob")
    crm.today = day("10-20")
    crm("deal", "move", "4", "Négociation", "--user", "bob")
    crm.today = day("10-21")
    crm("deal", "won", "1", "--user", "alice")                                        # cycle 20 days
    crm.today = day("10-31")
    crm("deal", "won", "2", "--user", "alice")                                        # cycle 30 days

    orders = crm("order", "list", "--json").json
    assert sorted((o["state"], o["total_untaxed"], o["origin"]) for o in orders) == [
        ("confirmed", "1000.00", "funnel:deal:1"), ("confirmed", "500.00", "funnel:deal:2")]
    history = crm("deal", "show", "3", "--json").json["history"]
    operator = crm("whoami", "--json").json["login"]  # who ran the import: the history says so
    assert [(h["on"], h["action"], h["to"], h["user"]) for h in history] == [
        ("2026-10-02", "create", "Nouveau", operator), ("2026-10-04", "move", "Qualifié", "bob"),
        ("2026-10-15", "lost", "Perdu", "bob"), ("2026-10-16", "reopen", "Qualifié", "bob"),
        ("2026-10-18", "lost", "Perdu", "bob")]

    # --- activities and the overdue job --------------------------------------------------------
    crm.today = day("10-05")
    crm("activity", "add", "call", "Call Jean", "--due", "2026-10-10", "--deal", "1", "--user", "alice")
    crm("activity", "add", "meeting", "Demo for D6", "--due", "2026-10-20", "--deal", "6", "--owner", "alice")
    crm("activity", "add", "task", "Send brochure", "--due", "2026-10-31", "--lead", "2", "--owner", "bob")
    crm.today = day("10-10")
    crm("activity", "done", "1", "--outcome", "interested, wants a quote")
    crm.today = day("10-31")
    mine = crm("activity", "list", "--mine", "--overdue", "--user", "alice", "--json").json
    assert [a["subject"] for a in mine] == ["Demo for D6"]     # due today (bob's) is not overdue
    assert crm("activity", "list", "--mine", "--overdue", "--json").json == []  # the operator (admin) has none
    team = crm("activity", "list", "--team", "Nord", "--json").json
    assert [a["subject"] for a in team] == ["Demo for D6", "Send brochure"]
    crm("jobs", "run", "--only", "funnel.overdue_activities")
    crm("jobs", "run", "--only", "funnel.overdue_activities")   # a rerun of the day writes nothing twice
    notes = crm("notifications", "list", "--json").json
    assert [(n["recipients"], n["subject"]) for n in notes] == [(["alice@nord.fr"], "1 overdue activity")]

    # --- targets -------------------------------------------------------------------------------
    crm("target", "set", "--user", "alice", "--period", "2026-10", "--revenue", "2000", "--activities", "2")
    crm("target", "set", "--team", "Nord", "--period", "2026-Q4", "--revenue", "10000")

    # --- the report, against the figures computed by hand ----------------------------------------
    report = crm("funnel", "report", "--from", "2026-10-01", "--to", "2026-10-31", "--json").json
    stages = {s["stage"]: (s["count"], s["value"], s["weighted_value"]) for s in report["stages"]}
    assert stages == {
        "Nouveau": (1, "1000.00", "100.00"),             # D5: 1000 × 10 %
        "Qualifié": (0, "0.00", "0.00"),
        "Proposition": (1, "3000.00", "1500.00"),       # D6: 3000 × 50 %
        "Négociation": (1, "4000.00", "1200.00"),    # D4: 4000 × 30 % (override of 75 %)
        "Gagné": (2, "1500.00", "1500.00"),            # D1 1000 + D2 500
        "Perdu": (1, "2000.00", "0.00"),              # D3
    }
    assert report["open_count"] == 3 and report["open_value"] == "8000.00"
    assert report["weighted_pipeline"] == "2800.00"  # 100 + 1500 + 1200
    assert (report["won_count"], report["lost_count"]) == (2, 1)
    assert report["win_rate"] == "66.67"             # 2 / (2 + 1)
    assert report["average_deal_size"] == "750.00"   # 1500 / 2
    assert report["average_cycle_days"] == "25.00"   # (20 + 30) / 2
    assert report["pipeline_velocity"] == "60.00"    # 3 × 2/3 × 750 / 25
    # furthest stage reached in October: D1, D2 Won; D4 Negotiation; D6 Proposal; D3 Qualified; D5 New
    assert [(c["from"], c["to"], c["reached_from"], c["reached_to"], c["rate"]) for c in report["conversion"]] == [
        ("Nouveau", "Qualifié", 6, 5, "83.33"), ("Qualifié", "Proposition", 5, 4, "80.00"),
        ("Proposition", "Négociation", 4, 3, "75.00"), ("Négociation", "Gagné", 3, 2, "66.67")]
    assert report["targets"] == [
        {"user": "alice", "team": None, "period": "2026-10", "target": "2000.00", "won": "1500.00",
         "attainment": "75.00", "remaining": "500.00", "open_pipeline": "1000.00",   # D5 closes in October
         "coverage": "200.00", "activities_target": 2, "activities_done": 1, "activities_attainment": "50.00"},
        {"user": None, "team": "Nord", "period": "2026-Q4", "target": "10000.00", "won": "1500.00",
         "attainment": "15.00", "remaining": "8500.00", "open_pipeline": "8000.00",  # D4 4000 + D6 3000 + D5 1000
         # (D5 was given no team: it is its owner alice's, Nord)
         "coverage": "94.12", "activities_target": None, "activities_done": None, "activities_attainment": None}]
    assert report["trend"] == [{"month": "2026-10", "created_count": 6, "created_value": "11500.00",
                                "won_count": 2, "won_value": "1500.00", "lost_count": 1, "lost_value": "2000.00"}]

    # filtered by owner: bob has D3 (lost) and D4 (open)
    bob = crm("funnel", "report", "--from", "2026-10-01", "--to", "2026-10-31", "--owner", "bob", "--json").json
    assert (bob["open_count"], bob["weighted_pipeline"], bob["won_count"], bob["lost_count"], bob["win_rate"]) == (
        1, "1200.00", 0, 1, "0.00")

    forecast = crm("forecast", "--json").json
    assert [(f["period"], f["count"], f["value"], f["weighted_value"]) for f in forecast] == [
        ("2026-10", 1, "1000.00", "100.00"), ("2026-11", 1, "3000.00", "1500.00"),
        ("2026-12", 1, "4000.00", "1200.00")]
    assert [(f["period"], f["weighted_value"]) for f in crm("forecast", "--period", "quarter", "--json").json] == [
        ("2026-Q4", "2800.00")]

    html = tmp_path / "funnel.html"
    text = crm("funnel", "report", "--from", "2026-10-01", "--to", "2026-10-31", "--html", str(html)).stdout
    assert "Weighted pipeline" in text
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "Négociation" in page and "http" not in page.split("<body>")[1]
