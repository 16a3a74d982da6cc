"""The job runner driven through ``crm jobs`` in-process: each job-day once, catch-up, bad records.

The jobs come from ``jobprobe`` (see conftest.py), a module enabled in a real workspace that
writes visible rows into its own table (no unique constraint: a duplicate would show). Every
test runs on SQLite, and on PostgreSQL when CRM_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import datetime as dt

import pytest
from jobsupport import EFFECTS

DAILY = ["--only", "probe.daily"]


def rows(n: int, day: str) -> list[tuple[str, str]]:
    return [(day, f"row {i}") for i in range(n)]


def test_a_day_runs_once_is_recorded_and_only_force_runs_it_again(run_crm, probe_ws):
    listed = {job["name"]: job for job in run_crm("jobs", "list", "--json").json}
    assert listed["probe.daily"]["schedule"] == "daily"
    assert listed["probe.daily"]["last_outcome"] is None
    assert listed["notifications.deliver"]["schedule"] == "every 1 min"
    assert {"probe.flaky", "probe.broken"} <= set(listed)

    first = run_crm("--today", "2026-12-01", "jobs", "run", *DAILY, "--json").json
    assert [(r["job"], r["slot"], r["outcome"], r["counts"]) for r in first] == [
        ("probe.daily", "2026-12-01", "done", {"written": EFFECTS})]
    assert probe_ws.effects(day="2026-12-01") == rows(EFFECTS, "2026-12-01")
    assert probe_ws.runs() == [("2026-12-01", "done", None)]
    recorded = run_crm("jobs", "history", "--json", "--job", "probe.daily").json
    assert recorded[0]["counts"] == {"written": EFFECTS} and recorded[0]["finished_at"]
    assert recorded[0]["as_of"] == "2026-12-01"

    again = run_crm("--today", "2026-12-01", "jobs", "run", *DAILY)
    assert "probe.daily [2026-12-01]: skipped (already done)" in again.stdout
    assert len(probe_ws.effects(day="2026-12-01")) == EFFECTS
    assert probe_ws.runs() == [("2026-12-01", "done", None)]

    forced = run_crm("--today", "2026-12-01", "jobs", "run", *DAILY, "--force", "--json").json
    assert [r["outcome"] for r in forced] == ["rerun"]
    assert len(probe_ws.effects(day="2026-12-01")) == 2 * EFFECTS  # forced: the job really ran again
    assert probe_ws.runs() == [("2026-12-01", "done", None), ("2026-12-01", "rerun", None)]

    next_day = run_crm("--today", "2026-12-02", "jobs", "run", *DAILY, "--json").json
    assert [(r["slot"], r["outcome"]) for r in next_day] == [("2026-12-02", "done")]
    assert probe_ws.effects(day="2026-12-02") == rows(EFFECTS, "2026-12-02")

    listed = {job["name"]: job for job in run_crm("jobs", "list", "--json").json}
    assert (listed["probe.daily"]["last_slot"], listed["probe.daily"]["last_outcome"]) == ("2026-12-02", "done")
    assert listed["probe.daily"]["last_counts"] == {"written": EFFECTS}
    table = run_crm("jobs", "list").stdout
    assert "probe.daily" in table and "written 6" in table


def test_catch_up_runs_each_missed_day_in_order(run_crm, probe_ws):
    run_crm("--today", "2026-12-01", "jobs", "run", *DAILY)

    caught = run_crm("--today", "2026-12-05", "jobs", "run", *DAILY, "--catch-up", "--json").json
    days = ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]
    assert [(r["slot"], r["outcome"]) for r in caught] == [(d, "done") for d in days]
    assert probe_ws.runs() == [(d, "done", None) for d in ["2026-12-01", *days]]
    effects = probe_ws.effects()
    assert effects == [row for d in ["2026-12-01", *days] for row in rows(EFFECTS, d)]  # in day order

    history = run_crm("jobs", "history", "--json", "--job", "probe.daily").json
    assert [(h["as_of"], h["slot"], h["outcome"]) for h in history] == [
        (d, d, "done") for d in reversed(["2026-12-01", *days])]  # newest first
    assert all(h["counts"] == {"written": EFFECTS} and h["error"] is None for h in history)
    assert all(h["started_at"] <= h["finished_at"] for h in history)
    assert "probe.daily" in run_crm("jobs", "history").stdout

    nothing_missed = run_crm("--today", "2026-12-05", "jobs", "run", *DAILY, "--catch-up", "--json").json
    assert [(r["slot"], r["outcome"]) for r in nothing_missed] == [("2026-12-05", "skipped")]
    assert len(probe_ws.effects()) == 5 * EFFECTS


def test_catch_up_without_any_run_yet_runs_only_today(run_crm, probe_ws):
    caught = run_crm("--today", "2026-12-05", "jobs", "run", *DAILY, "--catch-up", "--json").json
    assert [(r["slot"], r["outcome"]) for r in caught] == [("2026-12-05", "done")]


def test_crm_today_environment_variable_is_the_business_date(run_crm, probe_ws, monkeypatch):
    monkeypatch.setenv("CRM_TODAY", "2026-12-07")
    ran = run_crm("jobs", "run", *DAILY, "--json").json
    assert [(r["slot"], r["outcome"]) for r in ran] == [("2026-12-07", "done")]


def test_bad_record_fails_alone_and_broken_job_does_not_stop_the_others(run_crm, probe_ws):
    result = run_crm("--today", "2026-12-01", "jobs", "run", expect=1)
    out = result.stdout
    assert "probe.flaky [2026-12-01]: partial - written 4" in out
    assert "  failed: record 3: record 3 is bad" in out
    assert "probe.broken [2026-12-01]: failed - RuntimeError: probe broken on purpose" in out
    assert "probe.daily [2026-12-01]: done - written 6" in out  # ran after the broken one (name order)
    assert out.index("probe.broken") < out.index("probe.daily")

    assert probe_ws.effects("probe.flaky") == [("2026-12-01", f"record {n}") for n in (1, 2, 4, 5)]
    assert probe_ws.runs("probe.flaky") == [("2026-12-01", "partial", "record 3: record 3 is bad")]
    assert probe_ws.effects("probe.broken") == []  # its write before the error was rolled back
    assert probe_ws.runs("probe.broken") == [("2026-12-01", "failed", "RuntimeError: probe broken on purpose")]
    assert probe_ws.effects("probe.daily", day="2026-12-01") == rows(EFFECTS, "2026-12-01")

    listed = {job["name"]: job for job in run_crm("jobs", "list", "--json").json}
    assert listed["probe.flaky"]["last_outcome"] == "partial"  # not hidden behind "done"
    assert listed["probe.broken"]["last_outcome"] == "failed"
    assert "RuntimeError" in listed["probe.broken"]["last_error"]

    # The same day again: the partial day counts as completed; the failed one is tried again.
    again = run_crm("--today", "2026-12-01", "jobs", "run", "--json", expect=1).json
    outcomes = {r["job"]: r["outcome"] for r in again}
    assert outcomes["probe.flaky"] == "skipped" and outcomes["probe.daily"] == "skipped"
    assert outcomes["probe.broken"] == "failed"
    assert [r for r in again if r["job"] == "probe.broken"][0]["error"] == "RuntimeError: probe broken on purpose"
    assert len(probe_ws.effects("probe.flaky")) == 4
    assert [o for _, o, _ in probe_ws.runs("probe.broken")] == ["failed", "failed"]


def test_partial_run_in_json_names_the_failed_record(run_crm, probe_ws):
    data = run_crm("--today", "2026-12-01", "jobs", "run", "--only", "probe.flaky", "--json", expect=1).json
    assert data == [{"job": "probe.flaky", "slot": "2026-12-01", "outcome": "partial", "counts": {"written": 4},
                     "failures": ["record 3: record 3 is bad"], "error": None, "reason": None}]


def test_catch_up_stops_at_the_first_failed_day(run_crm, probe_ws, monkeypatch):
    run_crm("--today", "2026-12-01", "jobs", "run", *DAILY)
    monkeypatch.setenv("JOBPROBE_EFFECTS", "not a number")  # every day now fails
    caught = run_crm("--today", "2026-12-04", "jobs", "run", *DAILY, "--catch-up", "--json", expect=1).json
    assert [(r["slot"], r["outcome"]) for r in caught] == [("2026-12-02", "failed")]
    assert probe_ws.runs() == [("2026-12-01", "done", None), ("2026-12-02", "failed", caught[0]["error"])]
    assert "ValueError" in caught[0]["error"]
    monkeypatch.setenv("JOBPROBE_EFFECTS", str(EFFECTS))
    caught = run_crm("--today", "2026-12-04", "jobs", "run", *DAILY, "--catch-up", "--json").json
    assert [(r["slot"], r["outcome"]) for r in caught] == [(f"2026-12-0{d}", "done") for d in (2, 3, 4)]
    assert len(probe_ws.effects()) == 4 * EFFECTS


def test_unknown_job_is_a_clear_error(run_crm, probe_ws):
    result = run_crm("jobs", "run", "--only", "probe.nope", expect=None)
    assert result.exit_code != 0
    assert "probe.nope" in result.stderr and "probe.daily" in result.stderr
    assert probe_ws.query("SELECT count(*) FROM core_job_run") == [(0,)]


# --- units ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("every", "now", "slot"), [
    (None, dt.datetime(2026, 12, 1, 23, 59), "2026-12-01"),
    (15, dt.datetime(2026, 12, 1, 10, 44, 59), "2026-12-01T10:30"),
    (15, dt.datetime(2026, 12, 1, 10, 45), "2026-12-01T10:45"),
    (15, dt.datetime(2026, 12, 1, 0, 14), "2026-12-01T00:00"),
    (1, dt.datetime(2026, 12, 1, 23, 59, 30), "2026-12-01T23:59"),
    (60, dt.datetime(2026, 12, 1, 7, 5), "2026-12-01T07:00"),
])
def test_slot_for(every, now, slot):
    from core.jobs import Job
    from core.scheduler import slot_for

    job = Job(name="x", run=lambda app, session, as_of: {}, every_minutes=every)
    assert slot_for(job, dt.date(2026, 12, 1), now) == slot


def test_daily_slot_is_the_business_date_not_the_clock():
    from core.jobs import Job
    from core.scheduler import slot_for

    job = Job(name="x", run=lambda app, session, as_of: {})
    assert job.schedule == "daily"
    assert Job(name="y", run=job.run, every_minutes=15).schedule == "every 15 min"
    assert slot_for(job, dt.date(2024, 2, 29)) == "2024-02-29"


def test_isolate_rolls_back_only_the_failing_record_and_notes_it(probe_ws):
    from sqlalchemy import text

    from core.app import App
    from core.config import load_config
    from core.scheduler import FAILURES_KEY, isolate

    app = App(load_config(probe_ws.config_path))
    insert = text("INSERT INTO jobprobe_effect (job, day, record) VALUES ('unit', '2026-12-01', :r)")
    try:
        with app.transaction() as session:
            session.execute(insert, {"r": "before"})  # outside any isolate: kept
            for n in range(1, 5):
                with isolate(session, f"record {n}"):
                    session.execute(insert, {"r": f"record {n}"})
                    if n % 2 == 0:
                        raise LookupError(f"no such thing for {n}")
            failures = list(session.info[FAILURES_KEY])
    finally:
        app.close()
    assert failures == ["record 2: no such thing for 2", "record 4: no such thing for 4"]
    assert probe_ws.effects("unit") == [("2026-12-01", r) for r in ("before", "record 1", "record 3")]


def test_a_job_reads_its_module_section_of_crm_toml(run_crm, probe_ws, monkeypatch):
    monkeypatch.delenv("JOBPROBE_EFFECTS")
    with probe_ws.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[jobprobe]\neffects = 2\n")
    ran = run_crm("--today", "2026-12-01", "jobs", "run", *DAILY, "--json").json
    assert ran[0]["counts"] == {"written": 2}
    assert probe_ws.effects(day="2026-12-01") == rows(2, "2026-12-01")
