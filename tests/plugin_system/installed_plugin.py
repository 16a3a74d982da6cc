"""Helpers of the tests of example modules installed with pip (imported by name: a conftest cannot be
imported reliably).

pip installs the example into a temporary folder, never into the project's environment, and every
``crm`` command is a subprocess with that folder on ``PYTHONPATH``: the kernel finds the module
through its entry point only, as it would on a user's machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def can_build_offline() -> bool:
    """Whether this environment's setuptools can build a wheel without pip fetching a build backend.

    setuptools makes wheels itself from 70.1 on; before, it needs the ``wheel`` package. Without
    either, pip builds in an isolated environment and downloads setuptools from the index.
    """
    import importlib.metadata
    import importlib.util

    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def pip_install(example: str, work: Path) -> tuple[Path, Path]:
    """Install ``examples/<example>`` into ``work/site``; returns ``(site, source)``, the source being the
    copy pip built from (it builds in the source tree: build/, *.egg-info, so the repository stays clean)."""
    source = work / "source"
    shutil.copytree(EXAMPLES / example, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--disable-pip-version-check",
               "--quiet", "--target", str(site)]
    if can_build_offline():
        command += ["--no-build-isolation", "--no-index"]
    done = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip could not install {source}:\n{done.stdout}\n{done.stderr}"
    return site, source


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    imported: set[str]

    @property
    def json(self):
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if not line.startswith("import time:")]


class Crm:
    """``crm`` typed in a workspace folder on the business date ``today``, the module installed beside the kernel."""

    def __init__(self, site: Path, cwd: Path, today: str):
        script = Path(sys.executable).with_name("crm")
        self.command = [str(script)] if script.exists() else [sys.executable, "-m", "core.cli.main"]
        self.cwd = cwd
        self.today = today
        self.env = {key: value for key, value in os.environ.items()
                    if key not in {"CRM_CONFIG", "CRM_DATABASE_URL", "CRM_TODAY", "PYTHONPROFILEIMPORTTIME"}}
        self.env["PYTHONPATH"] = str(site)

    def __call__(self, *args: str, expect: int = 0, trace_imports: bool = False) -> Run:
        env = dict(self.env, PYTHONPROFILEIMPORTTIME="1") if trace_imports else self.env
        done = subprocess.run([*self.command, "--today", self.today, *args], cwd=self.cwd, env=env,
                              capture_output=True, text=True, timeout=180)
        imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:") and "|" in line}
        run = Run(done.returncode, done.stdout, done.stderr, imported)
        assert run.exit_code == expect, (f"crm {' '.join(args)} on {self.today}: expected exit {expect}, got "
                                         f"{run.exit_code}\nstdout: {run.stdout}\nstderr: {run.stderr[-2000:]}")
        return run
