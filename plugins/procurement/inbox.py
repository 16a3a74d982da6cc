"""The ``procurement.bills_inbox`` job: files dropped in ``bills/inbox/`` (beside crm.toml) are imported.

Each file in its own transaction: imported, it moves to ``bills/imported/``; refused, it moves to
``bills/rejected/`` with ``<name>.reason.txt`` holding the one-line reason. A file is moved only
after its transaction ended, so a crash leaves it in the inbox to be tried again (a bill already
recorded is then refused as a duplicate, never recorded twice).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from core.errors import CrmError

SUFFIXES = (".pdf", ".xml")


def inbox_folder(app) -> Path:
    return app.config.folder / "bills" / "inbox"


def _move(path: Path, folder: Path) -> Path:
    from core.files import private_folder

    target = private_folder(folder) / path.name
    os.replace(path, target)
    return target


def bills_inbox_job(app, session, as_of: dt.date) -> dict:
    """Import every bill waiting in the inbox (oldest name first); returns the counts."""
    from core.files import write_private
    from plugins.procurement.bills import import_bills

    inbox = inbox_folder(app)
    counts = {"imported": 0, "held": 0, "rejected": 0}
    if not inbox.is_dir():
        return counts
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            with app.transaction() as work:
                held = import_bills(app, work, [path])[0].state == "held"
        except CrmError as exc:
            target = _move(path, inbox.parent / "rejected")
            write_private(target.with_name(target.name + ".reason.txt"), f"{exc}\n".encode())
            counts["rejected"] += 1
            continue
        _move(path, inbox.parent / "imported")
        counts["imported"] += 1
        counts["held"] += held
    return counts
