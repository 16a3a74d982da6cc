"""Helpers of the job-runner tests: the probe workspace, ``crm`` processes, bounded waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

EFFECTS = 6  # rows probe.daily writes per day in these tests
TIMEOUT = 30.0  # seconds: an upper bound for anything we wait on, never a sleep


@dataclass
class ProbeWorkspace:
    """A workspace with ``jobprobe`` enabled, and ways to look straight into its database."""

    folder: Path
    database_url: str

    @property
    def config_path(self) -> Path:
        return self.folder / "crm.toml"

    @property
    def backend(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    def query(self, sql: str, **params) -> list[tuple]:
        from sqlalchemy import text

        from core.db import make_engine

        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), params)]
        finally:
            engine.dispose()

    def effects(self, job: str = "probe.daily", day: str | None = None) -> list[tuple[str, str]]:
        """``[(day, record)]`` written by ``job`` (on ``day``), in insertion order."""
        sql = "SELECT day, record FROM jobprobe_effect WHERE job = :job"
        if day:
            sql += " AND day = :day"
        return self.query(sql + " ORDER BY id", job=job, day=day)

    def runs(self, job: str = "probe.daily", slot: str | None = None) -> list[tuple[str, str, str | None]]:
        """``[(slot, outcome, error)]`` of ``job``'s recorded runs, oldest first."""
        sql = "SELECT slot, outcome, error FROM core_job_run WHERE job = :job"
        if slot:
            sql += " AND slot = :slot"
        return self.query(sql + " ORDER BY id", job=job, slot=slot)


def make_probe_workspace(folder: Path, database_url: str, *, allow_future: bool = True) -> ProbeWorkspace:
    """A workspace with ``jobprobe`` enabled; its days are replayed with fixed ``--today`` dates, so
    future dates are allowed (``[jobs] allow_future_dates``) unless ``allow_future`` is False."""
    from core.app import App
    from core.config import load_config
    from core.lifecycle import enable_module, init_workspace

    app = init_workspace(folder, name="Job Probe SAS", siren="732829320", vat_number="FR44732829320",
                         database_url=database_url)
    app.close()
    if allow_future:
        with (folder / "crm.toml").open("a", encoding="utf-8") as config:
            config.write("\n[jobs]\nallow_future_dates = true\n")
    app = App(load_config(folder / "crm.toml"))
    app = enable_module(app, "jobprobe")
    app.close()
    return ProbeWorkspace(folder, database_url)


class CrmProcesses:
    """``crm`` as real processes (the installed console script) with ``jobprobe`` on PYTHONPATH."""

    def __init__(self, site: Path, workspace: ProbeWorkspace):
        script = Path(sys.executable).with_name("crm")
        self.command = [str(script)] if script.exists() else [sys.executable, "-m", "core.cli.main"]
        self.workspace = workspace
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"CRM_CONFIG", "CRM_DATABASE_URL", "CRM_TODAY", "JOBPROBE_PAUSE_DIR",
                                 "JOBPROBE_ROW_DELAY", "JOBPROBE_JOBS"}}
        self.env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.env["JOBPROBE_EFFECTS"] = str(EFFECTS)

    def start(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen([*self.command, "--config", str(self.workspace.config_path), *args],
                                cwd=self.workspace.folder, env={**self.env, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, env: dict | None = None, expect: int | None = 0) -> subprocess.CompletedProcess:
        process = self.start(*args, env=env)
        stdout, stderr = process.communicate(timeout=120)
        done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        if expect is not None:
            assert done.returncode == expect, (f"crm {' '.join(args)}: exit {done.returncode}, expected {expect}\n"
                                               f"stdout: {stdout}\nstderr: {stderr[-3000:]}")
        return done


def wait_until(predicate, *, what: str, timeout: float = TIMEOUT, process: subprocess.Popen | None = None):
    """Poll ``predicate`` until it is true; fail after ``timeout`` s or if ``process`` dies first."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            stdout, stderr = process.communicate()
            pytest.fail(f"process exited ({process.returncode}) before {what}\nstdout: {stdout}\nstderr: {stderr}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def kill(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    process.communicate(timeout=TIMEOUT)

