"""The job runner as real ``crm`` processes: killed half-way, started side by side, stopped by signal.

Every ``crm`` here is the installed console script in a process of its own, finding ``jobprobe``
through its entry point (PYTHONPATH). Nothing sleeps on the wall clock: the tests wait, with a
bound, for a marker file or a row that the process itself produces.
"""

from __future__ import annotations

import json
import signal
import time

from jobsupport import EFFECTS, TIMEOUT, kill, wait_until

D = "2026-12-01"
RUN_DAILY = ("--today", D, "jobs", "run", "--only", "probe.daily")


def wait_for_lock_release(workspace, job: str, slot: str) -> None:
    """PostgreSQL: wait until the server has noticed a killed client and freed its advisory lock."""
    if workspace.backend != "postgresql":
        return
    from sqlalchemy import text

    from core.db import make_engine
    from core.scheduler import _lock_key

    engine = make_engine(workspace.database_url)

    def free() -> bool:
        with engine.begin() as connection:
            key = _lock_key(job, slot, connection.execute(text("SELECT current_schema()")).scalar())
            return connection.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar()

    try:
        wait_until(free, what=f"the advisory lock of {job} [{slot}] to be released")
    finally:
        engine.dispose()


def test_a_run_killed_half_way_leaves_nothing_and_the_rerun_does_the_whole_day(processes, tmp_path):
    workspace = processes.workspace
    pause = tmp_path / "pause"
    pause.mkdir()
    process = processes.start(*RUN_DAILY, env={"JOBPROBE_PAUSE_DIR": str(pause)})
    # the marker's text, not just the file: it is created, then written
    wait_until(lambda: (pause / "paused").exists() and (pause / "paused").read_text(),
               what="probe.daily to pause half-way", process=process)
    assert (pause / "paused").read_text() == f"{EFFECTS // 2} rows written for {D}\n"

    kill(process, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    assert workspace.effects(day=D) == []  # the half-day died with its transaction
    assert workspace.runs() == []  # no run recorded, certainly not a completed one

    wait_for_lock_release(workspace, "probe.daily", D)
    done = processes.run(*RUN_DAILY, "--json")
    assert [(r["slot"], r["outcome"]) for r in json.loads(done.stdout)] == [(D, "done")]
    assert workspace.effects(day=D) == [(D, f"row {n}") for n in range(EFFECTS)]
    assert workspace.runs() == [(D, "done", None)]


def test_runs_started_at_the_same_moment_do_the_day_once(processes):
    workspace = processes.workspace
    # A little time per row keeps the first run busy while the others arrive.
    started = [processes.start(*RUN_DAILY, "--json", env={"JOBPROBE_ROW_DELAY": "0.05"}) for _ in range(4)]
    finished = [(p.communicate(timeout=120), p.returncode) for p in started]
    assert [code for _, code in finished] == [0, 0, 0, 0], finished
    results = [json.loads(stdout)[0] for (stdout, _), _ in finished]
    assert sorted(r["outcome"] for r in results) == ["done", "skipped", "skipped", "skipped"]
    assert all(r["reason"] in ("already done", "running in another worker")
               for r in results if r["outcome"] == "skipped")
    assert workspace.runs() == [(D, "done", None)]
    assert workspace.effects(day=D) == [(D, f"row {n}") for n in range(EFFECTS)]


def test_workers_started_at_the_same_moment_do_each_job_day_once(processes):
    workspace = processes.workspace
    started = [processes.start("--today", D, "jobs", "worker", "--max-rounds", "1", "--interval", "0.1",
                               env={"JOBPROBE_ROW_DELAY": "0.05"}) for _ in range(4)]
    finished = [(p.communicate(timeout=120), p.returncode) for p in started]
    assert [code for _, code in finished] == [0, 0, 0, 0], finished
    assert all("worker stopped" in stderr for (_, stderr), _ in finished)
    printed = "".join(stdout for (stdout, _), _ in finished)
    assert printed.count(f"probe.daily [{D}]: done") == 1
    assert printed.count(f"probe.flaky [{D}]: partial") == 1
    # A failed day is not done: each worker that finds it free tries it (and fails) again.
    failed = printed.count(f"probe.broken [{D}]: failed")
    assert 1 <= failed <= 4
    assert [outcome for _, outcome, _ in workspace.runs("probe.broken")] == ["failed"] * failed

    assert workspace.runs() == [(D, "done", None)]
    assert workspace.effects(day=D) == [(D, f"row {n}") for n in range(EFFECTS)]
    assert workspace.runs("probe.flaky") == [(D, "partial", "record 3: record 3 is bad")]
    assert [r for _, r in workspace.effects("probe.flaky")] == ["record 1", "record 2", "record 4", "record 5"]
    assert workspace.effects("probe.broken") == []


def test_postgresql_runs_that_find_the_day_running_skip_it_without_waiting(pg_processes, tmp_path):
    """Deterministic overlap: the first run holds the day (paused); the others must skip at once."""
    workspace = pg_processes.workspace
    pause = tmp_path / "pause"
    pause.mkdir()
    env = {"JOBPROBE_PAUSE_DIR": str(pause)}
    first = pg_processes.start(*RUN_DAILY, "--json", env=env)
    wait_until(lambda: (pause / "paused").exists(), what="the first run to hold the day", process=first)
    others = [pg_processes.start(*RUN_DAILY, "--json", env=env) for _ in range(3)]
    outputs = [p.communicate(timeout=TIMEOUT) for p in others]  # they end while the first still runs
    assert [p.returncode for p in others] == [0, 0, 0], outputs
    assert [json.loads(out)[0]["reason"] for out, _ in outputs] == ["running in another worker"] * 3
    assert first.poll() is None

    (pause / "release").touch()
    stdout, stderr = first.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, stderr
    assert json.loads(stdout)[0]["outcome"] == "done"
    assert workspace.runs() == [(D, "done", None)]
    assert len(workspace.effects(day=D)) == EFFECTS


def test_worker_runs_rounds_and_stops_cleanly_on_sigterm(processes):
    workspace = processes.workspace
    worker = processes.start("--today", D, "jobs", "worker", "--interval", "0.2")
    try:
        # probe.broken fails in every round: two failed runs prove two rounds went by.
        wait_until(lambda: workspace.runs() and len(workspace.runs("probe.broken")) >= 2,
                   what="two worker rounds", process=worker)
        worker.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        stdout, stderr = worker.communicate(timeout=10)
    finally:
        kill(worker)
    assert worker.returncode == 0, stderr
    assert time.monotonic() - stopping < 5
    assert "worker started" in stderr and stderr.rstrip().endswith("worker stopped")
    assert "Traceback" not in stderr
    assert stdout.count(f"probe.daily [{D}]: done") == 1  # later rounds find the day done
    assert workspace.runs() == [(D, "done", None)]
    assert len(workspace.effects(day=D)) == EFFECTS


def test_worker_stops_on_sigint_too(processes):
    worker = processes.start("--today", D, "jobs", "worker", "--interval", "0.2")
    try:
        wait_until(lambda: processes.workspace.runs(), what="the first worker round", process=worker)
        worker.send_signal(signal.SIGINT)
        stdout, stderr = worker.communicate(timeout=10)
    finally:
        kill(worker)
    assert worker.returncode == 0, stderr
    assert stderr.rstrip().endswith("worker stopped") and "Traceback" not in stderr


def test_worker_takes_today_from_crm_today(processes):
    """``CRM_TODAY`` is the business date for the worker too, not only ``--today``."""
    processes.run("jobs", "worker", "--max-rounds", "1", "--interval", "0.1", env={"CRM_TODAY": "2026-12-09"})
    assert processes.workspace.runs() == [("2026-12-09", "done", None)]


def test_postgresql_workspaces_in_one_database_do_not_block_each_other(pg_processes, probe_site, tmp_path,
                                                                       pg_database_url):
    """Two workspaces (schemas) on one server: the same job-day running in one is no reason to skip it
    in the other (the job-day lock is per workspace, not per database)."""
    from jobsupport import CrmProcesses, make_probe_workspace

    from core.testing import postgres_schema

    with postgres_schema(pg_database_url) as other_url:
        other = CrmProcesses(probe_site, make_probe_workspace(tmp_path / "other", other_url))
        pause = tmp_path / "pause"
        pause.mkdir()
        held = pg_processes.start(*RUN_DAILY, env={"JOBPROBE_PAUSE_DIR": str(pause)})
        try:
            wait_until(lambda: (pause / "paused").exists(), what="the first workspace to hold the day", process=held)
            done = other.run(*RUN_DAILY, "--json")
            assert [(r["outcome"], r["reason"]) for r in json.loads(done.stdout)] == [("done", None)]
            assert len(other.workspace.effects(day=D)) == EFFECTS
        finally:
            (pause / "release").touch()
            held.communicate(timeout=TIMEOUT)
        assert held.returncode == 0
        assert pg_processes.workspace.runs() == [(D, "done", None)]
