"""Jobs contributed by modules through the ``register_jobs`` hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Job:
    """A scheduled piece of work.

    :param name: unique across modules (``billing.reminders``).
    :param run: ``run(app, session, as_of)`` does the work for the business date ``as_of``
        and returns a dict of counts (``{"sent": 12}``) for the run record.
    :param every_minutes: None for a daily job; else the job runs every N minutes.
    :param summary: one line for ``crm jobs list``.
    :param own_transactions: the job commits its own work in batches (``run`` gets ``session=None``)
        and is idempotent by itself, like outbox delivery; by default the runner gives the job one
        transaction that also holds the run record, so a crash leaves nothing half-done.
    """

    name: str
    run: Callable
    every_minutes: int | None = None
    summary: str = ""
    own_transactions: bool = False

    @property
    def schedule(self) -> str:
        return "daily" if self.every_minutes is None else f"every {self.every_minutes} min"


def collect_jobs(app) -> dict[str, Job]:
    """Every job of the enabled modules, by name; a name registered twice names both modules."""
    return app.gather("register_jobs", Job, "job")
