"""Jobs contributed by modules through the ``register_jobs`` hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

#: How a daily job makes up the days it missed (an outage, a stopped worker), with ``--catch-up``
#: and in the worker: ``replay`` runs each missed day in order, for effects that belong to a day
#: (a daily snapshot, a day's accruals); ``latest`` runs once, as of today, and the job catches up
#: by itself (the reminder run sends only the highest level now due, one digest lists everything
#: overdue, the reorder run orders what today's forecast needs), so an outage never turns into a
#: burst of messages.
CATCH_UP = ("replay", "latest")


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
    :param catch_up: how missed days are made up (see :data:`CATCH_UP`): ``"replay"`` (each missed
        day in order) or ``"latest"`` (one run as of today; the job catches up by itself).
    :param sweep: the job picks up what the other jobs leave behind (outbox delivery): it runs
        after every other job of a ``crm jobs run`` or worker round, and on every run even when
        another worker already ran its slot (recorded as a ``rerun``), so what this run's jobs
        just wrote goes out with it. Its work must be safe to repeat item by item.
    """

    name: str
    run: Callable
    every_minutes: int | None = None
    summary: str = ""
    own_transactions: bool = False
    catch_up: str = "replay"
    sweep: bool = False

    def __post_init__(self):
        if self.catch_up not in CATCH_UP:
            raise ValueError(f"job {self.name!r}: catch_up={self.catch_up!r} "
                             f"(expected {' or '.join(repr(c) for c in CATCH_UP)})")

    @property
    def schedule(self) -> str:
        return "daily" if self.every_minutes is None else f"every {self.every_minutes} min"


def collect_jobs(app) -> dict[str, Job]:
    """Every job of the enabled modules, by name; a name registered twice names both modules."""
    return app.gather("register_jobs", Job, "job")
