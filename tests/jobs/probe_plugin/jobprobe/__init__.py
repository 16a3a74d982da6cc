"""jobprobe: a test-only module whose jobs leave visible effects, for the job-runner tests.

Installed for the tests through a generated ``jobprobe-0.1.0.dist-info`` (entry point group
``entonnoir.plugins``), so ``crm`` subprocesses find it exactly as they would a real plugin.

Its table ``jobprobe_effect`` has no unique constraint on purpose: a job-day that ran twice, or
a crash that left half a day behind, shows up as extra rows.

Knobs (environment variables, or the ``[jobprobe]`` section of ``crm.toml``):

- ``JOBPROBE_EFFECTS`` / ``effects``: rows ``probe.daily`` writes per day (default 6);
- ``JOBPROBE_PAUSE_DIR`` / ``pause_dir``: when set, ``probe.daily`` stops half-way (rows flushed,
  transaction open), creates ``<dir>/paused`` and waits for ``<dir>/release``;
- ``JOBPROBE_ROW_DELAY``: seconds to wait after each row (widens the window for concurrency tests);
- ``JOBPROBE_JOBS``: the jobs to register, comma-separated (default: all three).
"""

MANIFEST = {
    "name": "jobprobe",
    "version": "0.1.0",
    "summary": "Test-only jobs with visible effects (job runner tests)",
    "depends": [],
    "migrations": "migrations",
}

from core.hookspecs import hookimpl  # noqa: E402

FLAKY_RECORDS = 5
BAD_RECORD = 3
BROKEN_MESSAGE = "probe broken on purpose"


@hookimpl
def register_jobs(register):
    import os

    from core.jobs import Job

    jobs = [Job(name="probe.daily", run=run_daily, catch_up="replay", summary="write N effect rows for the day"),
            Job(name="probe.flaky", run=run_flaky, catch_up="replay", summary="one bad record among good ones"),
            Job(name="probe.broken", run=run_broken, catch_up="replay", summary="always fails after a write")]
    wanted = os.environ.get("JOBPROBE_JOBS")
    for job in jobs:
        if not wanted or job.name in wanted.split(","):
            register(job)


def _setting(app, key: str, env: str, default=None):
    import os

    if os.environ.get(env):
        return os.environ[env]
    return app.config.section("jobprobe").get(key, default)


def _write(session, job: str, day, record: str) -> None:
    from sqlalchemy import text

    session.execute(text("INSERT INTO jobprobe_effect (job, day, record) VALUES (:job, :day, :record)"),
                    {"job": job, "day": day.isoformat(), "record": record})


def run_daily(app, session, as_of):
    import time
    from pathlib import Path

    count = int(_setting(app, "effects", "JOBPROBE_EFFECTS", 6))
    pause_dir = _setting(app, "pause_dir", "JOBPROBE_PAUSE_DIR")
    delay = float(_setting(app, "row_delay", "JOBPROBE_ROW_DELAY", 0) or 0)
    for n in range(count):
        if pause_dir and n == count // 2:
            session.flush()
            folder = Path(pause_dir)
            (folder / "paused").write_text(f"{n} rows written for {as_of}\n", encoding="utf-8")
            deadline = time.monotonic() + 120
            while not (folder / "release").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("probe.daily: never released")
                time.sleep(0.02)
        _write(session, "probe.daily", as_of, f"row {n}")
        session.flush()
        if delay:
            time.sleep(delay)
    return {"written": count}


def run_flaky(app, session, as_of):
    from core.scheduler import isolate

    written = 0
    for n in range(1, FLAKY_RECORDS + 1):
        with isolate(session, f"record {n}"):
            _write(session, "probe.flaky", as_of, f"record {n}")
            session.flush()
            if n == BAD_RECORD:
                raise ValueError(f"record {n} is bad")
            written += 1
    return {"written": written}


def run_broken(app, session, as_of):
    _write(session, "probe.broken", as_of, "before the failure")
    session.flush()
    raise RuntimeError(BROKEN_MESSAGE)
