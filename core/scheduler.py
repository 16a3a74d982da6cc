"""Running the modules' jobs: each job-day exactly once, recorded, caught up after an outage.

A job run is one transaction: the run record and the job's effects commit together, so a run
killed half-way leaves nothing behind and the next run does the whole day again. A unique index
on the completed runs ``(job, slot)`` makes a second completion of the same day impossible; on
PostgreSQL a transaction-scoped advisory lock lets a second worker skip a job-day that another
is running instead of waiting for it. Inside a job, :func:`isolate` runs one record in a
savepoint, so a bad record fails alone and is reported by name.

Missed days are made up the way each job declares (:data:`core.jobs.CATCH_UP`): ``replay`` runs
each day since the last completed one, ``latest`` runs today only. A business date after the
calendar date is refused unless allowed (``--allow-future``, ``[jobs] allow_future_dates``): a
replay of the future must be meant, and even then it never hides the days missed before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Index, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, partial_index, utcnow
from core.jobs import Job, collect_jobs

COMPLETED = ("done", "partial")
FAILURES_KEY = "entonnoir.job_failures"


class JobRun(Base):
    """One attempt at a job for one slot (a business date, or a time slot for frequent jobs)."""

    __tablename__ = "core_job_run"
    __table_args__ = (
        partial_index("uq_core_job_run_completed", "job", "slot", unique=True,
                      where="outcome IN ('done', 'partial')"),
        Index("ix_core_job_run_job", "job", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    slot: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[dt.date]
    #: done, partial (completed, some records failed), failed (rolled back), rerun (run again in a
    #: slot already completed: forced, or a sweep such as delivery)
    outcome: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    counts: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))


@dataclass
class RunResult:
    """What happened to one job for one slot."""

    job: str
    slot: str
    outcome: str  # done, partial, failed, rerun, skipped
    counts: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("done", "rerun", "skipped") and not self.failures

    def as_dict(self) -> dict:
        return {"job": self.job, "slot": self.slot, "outcome": self.outcome, "counts": self.counts,
                "failures": self.failures, "error": self.error, "reason": self.reason}


@contextmanager
def isolate(session, label: str):
    """Run one record's work in a savepoint; on error, undo just that record and note it by name.

    Used inside a job: ``with isolate(session, f"invoice {number}"): ...``. The error is recorded
    in the run (outcome ``partial``) and the job goes on with the next record.
    """
    savepoint = session.begin_nested()
    try:
        yield
    except Exception as exc:  # one bad record must not abort the run
        savepoint.rollback()
        session.info.setdefault(FAILURES_KEY, []).append(f"{label}: {exc}")
    else:
        savepoint.commit()


def slot_for(job: Job, as_of: dt.date, now: dt.datetime | None = None) -> str:
    """A daily job's slot is its business date; a frequent job's is the wall-clock time, floored."""
    if job.every_minutes is None:
        return as_of.isoformat()
    now = now or utcnow()
    minutes = (now.hour * 60 + now.minute) // job.every_minutes * job.every_minutes
    return f"{as_of.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}"


def _lock_key(job: str, slot: str, schema: str = "") -> int:
    """The advisory-lock key of a job-day. Advisory locks are per database, not per schema: the
    schema is part of the key, so workspaces sharing one database never skip each other's days."""
    digest = hashlib.blake2b(f"entonnoir:{schema}:{job}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def run_job(app, job: Job, as_of: dt.date, *, force: bool = False, now: dt.datetime | None = None) -> RunResult:
    """Run ``job`` for ``as_of`` unless that slot is already completed (or ``force``), as the system user.

    A sweep (:attr:`core.jobs.Job.sweep`) runs even when its slot is completed, recorded as a rerun.
    """
    from core.security import as_system

    with as_system(app):
        return _run_job(app, job, as_of, force=force, now=now)


def _run_job(app, job: Job, as_of: dt.date, *, force: bool = False, now: dt.datetime | None = None) -> RunResult:
    slot = slot_for(job, as_of, now)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if job.own_transactions:
        return _run_self_committing(app, job, as_of, slot, worker, force)
    if job.sweep and not force:
        with app.transaction() as session:
            force = _completed(session, job.name, slot)
    session = app.session()
    try:
        with session.begin():
            if app.dialect == "postgresql":
                schema = session.execute(select(func.current_schema())).scalar() or ""
                got = session.execute(select(func.pg_try_advisory_xact_lock(
                    _lock_key(job.name, slot, schema)))).scalar()
                if not got:
                    return RunResult(job.name, slot, "skipped", reason="running in another worker")
            if not force and _completed(session, job.name, slot):
                return RunResult(job.name, slot, "skipped", reason="already done")
            record = JobRun(job=job.name, slot=slot, as_of=as_of, outcome="rerun" if force else "done",
                            started_at=utcnow(), worker=worker)
            session.add(record)
            try:
                session.flush()
            except IntegrityError:
                raise _AlreadyDone() from None
            session.info[FAILURES_KEY] = []
            counts = job.run(app, session, as_of) or {}
            failures = list(session.info.pop(FAILURES_KEY, []))
            if failures and record.outcome == "done":
                record.outcome = "partial"
            record.counts = json.dumps(counts, default=str, sort_keys=True)
            record.error = "\n".join(failures) or None
            record.finished_at = utcnow()
        return RunResult(job.name, slot, record.outcome, counts, failures)
    except _AlreadyDone:
        return RunResult(job.name, slot, "skipped", reason="already done")
    except Exception as exc:  # the job's own failure: rolled back, then recorded
        error = f"{type(exc).__name__}: {exc}"
        with app.transaction() as log:
            log.add(JobRun(job=job.name, slot=slot, as_of=as_of, outcome="failed", started_at=utcnow(),
                           finished_at=utcnow(), error=error[:4000], worker=worker))
        return RunResult(job.name, slot, "failed", error=error)
    finally:
        session.info.pop(FAILURES_KEY, None)
        session.close()


def _run_self_committing(app, job: Job, as_of: dt.date, slot: str, worker: str, force: bool) -> RunResult:
    """A job that commits its own batches: check the slot, run, then record the outcome."""
    with app.transaction() as session:
        done = _completed(session, job.name, slot)
    if done and not force and not job.sweep:
        return RunResult(job.name, slot, "skipped", reason="already done")
    started = utcnow()
    try:
        counts, outcome, error = job.run(app, None, as_of) or {}, "rerun" if force or done else "done", None
    except Exception as exc:  # recorded, not raised: the other jobs still run
        counts, outcome, error = {}, "failed", f"{type(exc).__name__}: {exc}"
    if done and not force and error is None and not any(counts.values()):
        # a sweep's pass over an empty queue in a slot already recorded: nothing worth a record
        return RunResult(job.name, slot, "skipped", counts, reason="already done, nothing new since")
    record = dict(job=job.name, slot=slot, as_of=as_of, started_at=started, finished_at=utcnow(),
                  counts=json.dumps(counts, default=str, sort_keys=True), error=error, worker=worker)
    try:
        with app.transaction() as session:
            session.add(JobRun(outcome=outcome, **record))
    except IntegrityError:  # another worker completed the same slot meanwhile
        if not job.sweep:
            return RunResult(job.name, slot, outcome, counts, error=error)  # its record stands
        outcome = "rerun"  # a sweep did its work all the same: recorded as a run again
        with app.transaction() as session:
            session.add(JobRun(outcome=outcome, **record))
    return RunResult(job.name, slot, outcome, counts, error=error)


class _AlreadyDone(Exception):
    """Another worker completed this slot between our check and our insert."""


def _completed(session, job: str, slot: str) -> bool:
    query = select(JobRun.id).where(JobRun.job == job, JobRun.slot == slot, JobRun.outcome.in_(COMPLETED))
    return session.execute(query.limit(1)).first() is not None


def last_completed_day(session, job: str, up_to: dt.date | None = None) -> dt.date | None:
    """The latest completed day of ``job`` (not after ``up_to``).

    Bounded by the day being run: a day run once ahead of time (a replay of the future) must not
    hide the days missed before it.
    """
    query = select(func.max(JobRun.as_of)).where(JobRun.job == job, JobRun.outcome.in_(COMPLETED))
    if up_to is not None:
        query = query.where(JobRun.as_of <= up_to)
    return session.execute(query).scalar()


def future_dates_allowed(app) -> bool:
    """The workspace setting ``[jobs] allow_future_dates`` (false unless set to true)."""
    from core.errors import ConfigError

    value = app.config.section("jobs").get("allow_future_dates", False)
    if not isinstance(value, bool):
        raise ConfigError(f"crm.toml: jobs.allow_future_dates: {value!r} is not true or false")
    return value


def check_business_date(app, as_of: dt.date, *, allow_future: bool = False, calendar_today: dt.date | None = None):
    """Refuse a business date after the calendar date unless a future date is allowed.

    A date typed a year too far would otherwise run reminders and orders ahead of time.
    """
    from core.errors import CrmError

    calendar_today = calendar_today or dt.date.today()
    if as_of > calendar_today and not allow_future and not future_dates_allowed(app):
        raise CrmError(f"--today {as_of.isoformat()} is after today's date ({calendar_today.isoformat()}): "
                       f"jobs run for past and present days only (pass --allow-future, or set "
                       f"[jobs] allow_future_dates = true in crm.toml to replay future days)")


def days_to_run(session, job: Job, as_of: dt.date, *, catch_up: bool) -> list[dt.date]:
    """The days to run ``job`` for, ending with ``as_of``: with ``catch_up``, a ``replay`` job's
    missed days (since its last completed day up to ``as_of``) come first, in order."""
    if not catch_up or job.every_minutes is not None or job.catch_up != "replay":
        return [as_of]
    last = last_completed_day(session, job.name, as_of)
    if last is None or last >= as_of:
        return [as_of]
    return [last + dt.timedelta(days=n) for n in range(1, (as_of - last).days + 1)]


def missed_days(session, job: Job, as_of: dt.date) -> int:
    """How many days a daily job missed between its last completed day and ``as_of``."""
    last = last_completed_day(session, job.name, as_of) if job.every_minutes is None else None
    return max((as_of - last).days - 1, 0) if last is not None else 0


def run_due(app, as_of: dt.date, *, only: str | None = None, catch_up: bool = False, force: bool = False,
            now: dt.datetime | None = None, on_result=None, allow_future: bool = False,
            calendar_today: dt.date | None = None) -> list[RunResult]:
    """Run every job due on ``as_of`` (or just ``only``), sweeps (delivery) after the others.

    With ``catch_up``, a daily ``replay`` job first runs each day missed since its last completed
    day, in order, and stops at the first day that fails (later days would build on it); a
    ``latest`` job runs for ``as_of`` only and catches up by itself.

    :raises CrmError: ``as_of`` is after ``calendar_today`` (the calendar date) and future dates
        are not allowed (``allow_future`` or ``[jobs] allow_future_dates``); nothing runs.
    """
    from core.errors import CrmError
    from core.security import require_app

    require_app(app, "core.jobs.run")  # who launches the jobs; they then run as the system user
    check_business_date(app, as_of, allow_future=allow_future, calendar_today=calendar_today)
    jobs = collect_jobs(app)
    if only is not None and only not in jobs:
        raise CrmError(f"no job named {only!r} (jobs: {', '.join(sorted(jobs)) or 'none'})")
    results = []
    for name in sorted(jobs, key=lambda n: (jobs[n].sweep, n)):
        if only is not None and name != only:
            continue
        job = jobs[name]
        with app.transaction() as session:
            days = days_to_run(session, job, as_of, catch_up=catch_up and not force)
            made_up = missed_days(session, job, as_of) if catch_up and job.catch_up == "latest" else 0
        for day in days:
            result = run_job(app, job, day, force=force, now=now)
            if made_up and result.outcome in ("done", "partial"):
                result.reason = f"catches up {made_up} missed day{'s' if made_up > 1 else ''} by itself"
            results.append(result)
            if on_result:
                on_result(result)
            if result.outcome == "failed":
                break
    return results


def job_status(app) -> list[dict]:
    """Each job with its schedule and its last run."""
    jobs = collect_jobs(app)
    rows = []
    with app.transaction() as session:
        for name in sorted(jobs):
            last = session.scalars(select(JobRun).where(JobRun.job == name)
                                   .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()
            rows.append({
                "name": name, "schedule": jobs[name].schedule, "catch_up": jobs[name].catch_up,
                "summary": jobs[name].summary,
                "last_slot": last.slot if last else None, "last_outcome": last.outcome if last else None,
                "last_finished_at": last.finished_at.isoformat(sep=" ") if last and last.finished_at else None,
                "last_counts": json.loads(last.counts) if last and last.counts else {},
                "last_error": last.error if last else None,
            })
    return rows


def history(app, *, job: str | None = None, limit: int = 50) -> list[dict]:
    """The latest runs, newest first."""
    with app.transaction() as session:
        query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
        if job:
            query = query.where(JobRun.job == job)
        return [{"id": r.id, "job": r.job, "slot": r.slot, "as_of": r.as_of.isoformat(), "outcome": r.outcome,
                 "started_at": r.started_at.isoformat(sep=" "),
                 "finished_at": r.finished_at.isoformat(sep=" ") if r.finished_at else None,
                 "counts": json.loads(r.counts) if r.counts else {}, "error": r.error, "worker": r.worker}
                for r in session.scalars(query)]
