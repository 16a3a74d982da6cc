"""Printing many documents at once: read in bulk here, laid out by a pool of warm worker processes.

Laying a page out is CPU work (about 50 ms for an invoice) and reading its records is database
work, so the two are split. This process reads every document in a few set-based queries (a
kind's ``read``: one query per relation for all the records, not one per record) into
:class:`~core.documents.Page` items of plain values, and sends them in batches to one worker per
core. Each worker starts once and stays warm: its fonts (WeasyPrint's font configuration), its
compiled templates and the parsed stylesheets serve every page it lays out; it never opens the
database. A kind without ``read`` is read by the workers themselves, each in its own session.

All or nothing: the files are written (each whole, :func:`core.files.write_private`) into a hidden
folder and moved into place at the end. A reference that names no record stops the run before any
layout; a document that fails to lay out stops it too. Either way every failed document is named
on a line of its own and no file is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import CrmError


class PrintingFailed(CrmError):
    """Documents could not be printed; ``failures`` has one line per document, naming it."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__("\nerror: ".join(failures))  # the CLI prefixes the first line with "error: "


def cores() -> int:
    """The cores this process may run on (``os.process_cpu_count`` from Python 3.13)."""
    counted = getattr(os, "process_cpu_count", None)
    if counted is not None:
        return counted() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def write_many(app, kind: str, refs: list, folder: Path, *, jobs: int | None = None, locale: str | None = None,
               progress=None) -> list[Path]:
    """Write the PDFs of many records into ``folder``, laid out on every core; all of them or none.

    ``jobs`` worker processes (default: one per core; with one, everything happens here).
    ``progress(n)`` is called as files are written. ``folder`` is made if missing (and removed
    again if the run fails).

    :returns: the paths written, in the order of ``refs``.
    :raises PrintingFailed: naming every reference that names no record or failed to lay out.
    """
    import shutil
    import tempfile

    from core.documents import kinds
    from core.files import private_folder

    refs = [str(r).strip() for r in refs]
    jobs = max(1, min(jobs or cores(), len(refs) or 1))
    chosen = kinds(app)[kind]
    pool = _start_pool(app, kind, jobs, locale) if jobs > 1 else None
    try:
        items = _read(app, chosen, refs, locale)
        folder = Path(folder).absolute()
        made = next((p for p in reversed([folder, *folder.parents]) if not p.exists()), None)
        private_folder(folder)
        staging = Path(tempfile.mkdtemp(prefix=".printing-", dir=folder))
        try:
            staged = _lay_out(app, kind, items, staging, pool, jobs, locale, progress)
        except BaseException:
            shutil.rmtree(made or staging, ignore_errors=True)
            raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    paths = []
    for path in staged:
        if path.exists():  # a reference given twice was laid out twice, into one file
            os.replace(path, folder / path.name)
        paths.append(folder / path.name)
    staging.rmdir()
    from core.documents import printed

    printed(app, kind, list(zip(refs, paths)))
    return paths


def _read(app, chosen, refs: list[str], locale: str | None) -> list:
    """``(ref, page or ref)`` per reference; the pages read in one short transaction, in chunks."""
    if chosen.read is None:
        return [(ref, ref) for ref in refs]
    items, failures = [], []
    with app.session() as session:
        try:
            for start in range(0, len(refs), 500):
                chunk = refs[start:start + 500]
                for ref, page in zip(chunk, chosen.read(app, session, chunk, locale)):
                    if isinstance(page, Exception):
                        failures.append(str(page))
                    items.append((ref, page))
        finally:
            session.rollback()  # printing writes nothing to the database
    if failures:
        raise PrintingFailed(failures)
    return items


def _start_pool(app, kind: str, jobs: int, locale: str | None):
    """``jobs`` worker processes, started now so they warm up while this process reads."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # the workers act as this process does (crm --as), so a kind that reads in them sees the same records
    setup = (str(app.config.path), app.today.isoformat(), kind, locale, getattr(app, "as_login", None))
    pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_worker_start, initargs=setup)
    for _ in range(jobs):
        pool.submit(_ready)
    return pool


def _lay_out(app, kind: str, items: list, folder: Path, pool, jobs: int, locale: str | None, progress) -> list[Path]:
    from concurrent.futures import FIRST_COMPLETED, wait

    paths: list[Path | None] = [None] * len(items)
    failures: list[str] = []
    numbered = list(enumerate(items))
    if pool is None:
        state = {"app": app, "kind": kind, "locale": locale}
        for start in range(0, len(numbered), 20):
            _collect(_batch(state, numbered[start:start + 20], str(folder)), paths, failures, progress)
            if failures:
                raise PrintingFailed(failures)
        return paths
    # small batches: both workers stay busy to the end, and a failure stops the run early
    size = max(1, min(20, len(items) // (jobs * 8) or 1))
    pending = {pool.submit(_worker_batch, numbered[i:i + size], str(folder)) for i in range(0, len(numbered), size)}
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            _collect(future.result(), paths, failures, progress)
        if failures:  # the batches not started are dropped, the running ones finish
            for future in pending:
                future.cancel()
            for future in wait(pending).done:
                if not future.cancelled():
                    _collect(future.result(), paths, failures, None)
            raise PrintingFailed(failures)
    return paths


def _collect(results: list, paths: list, failures: list, progress) -> None:
    for index, path, error in results:
        if error is not None:
            failures.append(error)
        else:
            paths[index] = Path(path)
    if progress:
        progress(sum(1 for _, _, error in results if error is None))


# --- in a worker ---------------------------------------------------------------------------------

_WORKER: dict = {}


def _worker_start(config_path: str, today: str, kind: str, locale: str | None, as_login: str | None = None) -> None:
    import datetime as dt

    from core.app import App
    from core.config import load_config
    from core.documents import _font_config, weasyprint

    weasyprint()  # imported once, before the first page

    app = App(load_config(config_path), today=dt.date.fromisoformat(today))
    app.as_login = as_login
    _font_config()  # Fontconfig set up once for every page of this worker
    _WORKER.update(app=app, kind=kind, locale=locale)


def _ready() -> None:
    """Nothing: submitted once per worker, so that the pool starts its processes at once."""


def _worker_batch(numbered: list, folder: str) -> list:
    return _batch(_WORKER, numbered, folder)


def _batch(state: dict, numbered: list, folder: str) -> list:
    """Lay out ``(index, (ref, page))`` items: ``(index, path, None)`` or ``(index, None, error line)``.

    A document that fails is named with its error; its file is not written (a file is written
    whole under a temporary name, then renamed), and the other documents of the batch go on.
    """
    from core.documents import Page, compose, render, save
    from core.errors import CrmError

    app, kind = state["app"], state["kind"]
    session = None
    results = []
    try:
        for index, (ref, item) in numbered:
            try:
                if isinstance(item, Page):
                    document = compose(app, item)
                else:  # a kind that cannot read in bulk: its records are read here
                    session = session or app.session()
                    document = render(app, session, kind, ref, locale=state["locale"])
                results.append((index, str(save(app, document, output=folder)), None))
            except CrmError as exc:  # its message names the record, else the line does
                results.append((index, None, str(exc) if ref in str(exc) else f"{kind} {ref}: {exc}"))
            except Exception as exc:  # noqa: BLE001 - one document's bug names it and stops the run
                results.append((index, None, f"{kind} {ref}: unexpected {type(exc).__name__}: {exc}"))
    finally:
        if session is not None:
            session.rollback()
            session.close()
    return results
