"""Fixtures of the job-runner tests: the ``jobprobe`` test module, installed as a real plugin.

``jobprobe`` (sources in ``probe_plugin/jobprobe``) is copied into a temporary "site" folder
next to a generated ``jobprobe-0.1.0.dist-info`` holding its ``entonnoir.plugins`` entry point.
Each test of this folder puts that site on ``sys.path`` (undone after the test, so the other
test folders never see the module) and ``crm`` subprocesses get it on ``PYTHONPATH``: the kernel
finds the module through its entry point, as it would a plugin installed with pip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jobsupport import EFFECTS, CrmProcesses, ProbeWorkspace, make_probe_workspace

PROBE_SOURCE = Path(__file__).parent / "probe_plugin" / "jobprobe"


@pytest.fixture(scope="session")
def probe_site(tmp_path_factory) -> Path:
    """A folder holding the ``jobprobe`` package and its dist-info (entry point), like pip makes."""
    site = tmp_path_factory.mktemp("jobprobe_site")
    shutil.copytree(PROBE_SOURCE, site / "jobprobe", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / "jobprobe-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jobprobe\nVersion: 0.1.0\n"
                                   "Summary: test-only jobs for the job runner tests\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[entonnoir.plugins]\njobprobe = jobprobe\n", encoding="utf-8")
    (info / "top_level.txt").write_text("jobprobe\n", encoding="utf-8")
    return site


@pytest.fixture(autouse=True)
def probe_installed(probe_site, monkeypatch) -> Path:
    """``jobprobe`` importable and discoverable in this process, for this test only."""
    monkeypatch.syspath_prepend(str(probe_site))  # also invalidates the import caches
    monkeypatch.setenv("JOBPROBE_EFFECTS", str(EFFECTS))
    for name in ("JOBPROBE_PAUSE_DIR", "JOBPROBE_ROW_DELAY", "JOBPROBE_JOBS", "CRM_DATABASE_URL", "CRM_CONFIG",
                 "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    return probe_site


@pytest.fixture
def probe_ws(tmp_path, database_url) -> ProbeWorkspace:
    """``jobprobe`` enabled on SQLite, and on PostgreSQL when CRM_TEST_DATABASE_URL is set."""
    return make_probe_workspace(tmp_path / "ws", database_url)


@pytest.fixture
def pg_probe_ws(tmp_path, pg_database_url) -> ProbeWorkspace:
    """``jobprobe`` enabled on PostgreSQL only."""
    return make_probe_workspace(tmp_path / "ws", pg_database_url)


@pytest.fixture
def run_crm(probe_ws):
    """``crm`` in this process (click's runner) against ``probe_ws``; ``--today`` is per call."""
    from core.testing import CrmRunner, Workspace

    return CrmRunner(Workspace(probe_ws.folder, probe_ws.database_url, probe_ws.backend, ["jobprobe"]), None)


@pytest.fixture
def processes(probe_site, probe_ws) -> CrmProcesses:
    return CrmProcesses(probe_site, probe_ws)


@pytest.fixture
def pg_processes(probe_site, pg_probe_ws) -> CrmProcesses:
    return CrmProcesses(probe_site, pg_probe_ws)
