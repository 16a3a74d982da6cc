"""A business date after the calendar date is refused for jobs unless allowed (issue 14).

Only here do the tests read the calendar (``dt.date.today()``): the rule is about it. A date
typed ahead of time is refused in one line naming ``--today``; ``--allow-future`` or the
workspace setting ``[jobs] allow_future_dates = true`` (for replays, the demo) lets it run, and
a day run ahead of time never hides the days missed before it from ``--catch-up``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from jobsupport import make_probe_workspace

DAILY = ("--only", "probe.daily")


@pytest.fixture
def strict_ws(tmp_path, database_url):
    """A ``jobprobe`` workspace without ``[jobs] allow_future_dates``."""
    return make_probe_workspace(tmp_path / "ws", database_url, allow_future=False)


@pytest.fixture
def crm(strict_ws):
    from core.testing import CrmRunner, Workspace

    return CrmRunner(Workspace(strict_ws.folder, strict_ws.database_url, strict_ws.backend, ["jobprobe"]), None)


def calendar(days: int = 0) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def test_a_future_today_is_refused_in_one_line_and_nothing_runs(crm, strict_ws):
    tomorrow = calendar(1)
    refused = crm("--today", tomorrow, "jobs", "run", expect=1)
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert f"--today {tomorrow} is after today's date ({calendar()})" in refused.stderr
    assert "--allow-future" in refused.stderr and "allow_future_dates" in refused.stderr
    assert refused.stdout == ""
    assert strict_ws.query("SELECT COUNT(*) FROM core_job_run") == [(0,)]
    assert strict_ws.effects() == []

    # today itself and the past are business as usual
    assert [r["outcome"] for r in crm("--today", calendar(), "jobs", "run", *DAILY, "--json").json] == ["done"]
    assert [r["outcome"] for r in crm("--today", calendar(-3), "jobs", "run", *DAILY, "--json").json] == ["done"]


def test_the_flag_allows_a_future_date_for_one_run(crm, strict_ws):
    ahead = calendar(40)
    ran = crm("--today", ahead, "jobs", "run", *DAILY, "--allow-future", "--json").json
    assert [(r["slot"], r["outcome"]) for r in ran] == [(ahead, "done")]
    assert crm("--today", ahead, "jobs", "run", *DAILY, expect=1).stderr.startswith("error: --today")


def test_the_workspace_setting_allows_future_dates_for_replays(crm, strict_ws):
    with strict_ws.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[jobs]\nallow_future_dates = true\n")
    ahead = calendar(400)
    ran = crm("--today", ahead, "jobs", "run", *DAILY, "--json").json
    assert [(r["slot"], r["outcome"]) for r in ran] == [(ahead, "done")]


def test_a_setting_that_is_not_true_or_false_is_named(crm, strict_ws):
    with strict_ws.config_path.open("a", encoding="utf-8") as config:
        config.write('\n[jobs]\nallow_future_dates = "yes"\n')
    refused = crm("--today", calendar(1), "jobs", "run", expect=1)
    assert "jobs.allow_future_dates" in refused.stderr and "true or false" in refused.stderr


def test_a_worker_with_a_future_today_is_refused_too(probe_site, strict_ws):
    from jobsupport import CrmProcesses

    processes = CrmProcesses(probe_site, strict_ws)
    refused = processes.run("--today", calendar(2), "jobs", "worker", "--max-rounds", "1", expect=1)
    assert f"error: --today {calendar(2)} is after today's date" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert strict_ws.query("SELECT COUNT(*) FROM core_job_run") == [(0,)]
    allowed = processes.run("--today", calendar(2), "jobs", "worker", "--max-rounds", "1", "--allow-future",
                            env={"JOBPROBE_JOBS": "probe.daily"})
    assert f"probe.daily [{calendar(2)}]: done" in allowed.stdout


def test_a_day_run_ahead_of_time_does_not_hide_the_days_missed_before_it(crm, strict_ws):
    crm("--today", calendar(-5), "jobs", "run", *DAILY)
    crm("--today", calendar(30), "jobs", "run", *DAILY, "--allow-future")  # once, a month ahead
    caught = crm("--today", calendar(), "jobs", "run", *DAILY, "--catch-up", "--json").json
    missed = [calendar(n) for n in range(-4, 1)]
    assert [(r["slot"], r["outcome"]) for r in caught] == [(day, "done") for day in missed]
    assert [day for day, _, _ in strict_ws.runs()] == [calendar(-5), calendar(30), *missed]
    assert sorted({day for day, _ in strict_ws.effects()}) == sorted([calendar(-5), *missed, calendar(30)])


# --- units: the rule with a fixed calendar ----------------------------------------------------------

@pytest.mark.parametrize(("business", "allowed"), [("2026-12-01", True), ("2026-11-30", True),
                                                   ("2026-12-02", False), ("9999-12-31", False)])
def test_check_business_date_against_a_given_calendar(strict_ws, business, allowed):
    from core.app import App
    from core.config import load_config
    from core.errors import CrmError
    from core.scheduler import check_business_date

    app = App(load_config(strict_ws.config_path))
    try:
        calendar_day, day = dt.date(2026, 12, 1), dt.date.fromisoformat(business)
        if allowed:
            check_business_date(app, day, calendar_today=calendar_day)
        else:
            with pytest.raises(CrmError, match=f"--today {business} is after today's date \\(2026-12-01\\)"):
                check_business_date(app, day, calendar_today=calendar_day)
        check_business_date(app, day, allow_future=True, calendar_today=calendar_day)  # the flag: always
    finally:
        app.close()


def test_last_completed_day_is_bounded_by_the_day_being_run(strict_ws):
    from core.app import App
    from core.config import load_config
    from core.scheduler import last_completed_day, run_due

    app = App(load_config(strict_ws.config_path))
    try:
        for day in (dt.date(2026, 11, 2), dt.date(2027, 1, 1)):
            run_due(app, day, only="probe.daily", allow_future=True, calendar_today=dt.date(2026, 11, 30))
        with app.transaction() as session:
            assert last_completed_day(session, "probe.daily") == dt.date(2027, 1, 1)
            assert last_completed_day(session, "probe.daily", dt.date(2026, 11, 30)) == dt.date(2026, 11, 2)
            assert last_completed_day(session, "probe.daily", dt.date(2026, 11, 1)) is None
    finally:
        app.close()
    assert [(day, outcome) for day, outcome, _ in strict_ws.runs()] == [("2026-11-02", "done"), ("2027-01-01", "done")]
