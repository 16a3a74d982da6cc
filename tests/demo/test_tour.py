"""The newcomer's tour works as printed: after the README's first command `crm` lives only in the
virtual environment, so the demo prints lines that work as typed; and the workspace stays on the
story's last day, so the tour shows the summary's figures whatever the calendar says."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli.demo import how_to_run_crm
from core.testing import CrmRunner, Workspace

#: a PATH without the virtual environment, as in a fresh shell after `python3 -m venv .venv`
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"
CRM = Path(sys.executable).with_name("crm")


def fake_venv(tmp_path: Path, activate: bool = True) -> Path:
    """A folder shaped like a virtual environment's bin/ holding a crm script."""
    bin_folder = tmp_path / "venv" / "bin"
    bin_folder.mkdir(parents=True)
    (bin_folder / "crm").write_text("#!/bin/sh\n")
    (bin_folder / "crm").chmod(0o755)
    (bin_folder / "python").write_text("")
    if activate:
        (bin_folder / "activate").write_text("PATH=...")
    return bin_folder


def test_crm_only_in_the_environment_is_reached_by_activating_it(tmp_path):
    bin_folder = fake_venv(tmp_path)
    setup, word = how_to_run_crm(str(bin_folder / "crm"), str(bin_folder / "python"), path=BARE_PATH)
    assert setup == [f"source {bin_folder / 'activate'}"] and word == "crm"


def test_crm_on_the_path_needs_nothing(tmp_path):
    bin_folder = fake_venv(tmp_path)
    setup, word = how_to_run_crm(str(bin_folder / "crm"), str(bin_folder / "python"),
                                 path=f"{bin_folder}:{BARE_PATH}")
    assert setup == [] and word == "crm"


def test_without_an_activate_script_the_full_path(tmp_path):
    bin_folder = fake_venv(tmp_path, activate=False)
    setup, word = how_to_run_crm("-m", str(bin_folder / "python"), path=BARE_PATH)
    assert setup == [] and word == str(bin_folder / "crm")


def test_the_printed_tour_runs_as_typed_and_shows_the_story_s_day(tmp_path):
    """The real thing: `.venv/bin/crm demo` from a shell whose PATH lacks the environment, then
    the lines it printed, typed into bash as they are."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CRM_")}, "PATH": BARE_PATH}
    env.pop("VIRTUAL_ENV", None)
    folder = tmp_path / "entonnoir-demo"
    demo = subprocess.run([str(CRM), "demo", str(folder), "--days", "3", "--modules", "billing"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    lines = demo.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("Look around:"))
    assert "2026-09-03" in lines[start]
    typed = [line.strip() for line in lines[start + 1:] if line.startswith("  ")]
    assert typed[0].startswith("source ") and typed[-1].startswith("crm deal list;")
    tour = subprocess.run(["bash", "-c", " && ".join(typed[:-1] + ["crm whoami", "crm aging --json"])],
                          env=env, cwd=tmp_path, capture_output=True, text=True)
    assert tour.returncode == 0, tour.stderr
    assert "business day 2026-09-03 (workspace.today in crm.toml)" in tour.stdout
    aging = json.loads(tour.stdout[tour.stdout.index("{"):])
    assert aging == json.loads((folder / "reports" / "aging.json").read_text(encoding="utf-8"))


@pytest.mark.modules("billing")
def test_the_workspace_day_is_shown_and_overridable(workspace):
    (workspace.config_path).write_text(workspace.config_path.read_text() + '\n[workspace]\ntoday = "2026-11-29"\n')
    crm = CrmRunner(workspace, today=None)
    shown = crm("whoami", "--json").json
    assert (shown["today"], shown["today_from"]) == ("2026-11-29", "workspace.today in crm.toml")
    assert "business day 2026-11-29" in crm("whoami").stdout
    moved = CrmRunner(workspace, today=dt.date(2026, 12, 3))("whoami", "--json").json
    assert (moved["today"], moved["today_from"]) == ("2026-12-03", "--today")
    assert workspace.app(today=None).today == dt.date(2026, 11, 29)


@pytest.mark.modules("billing")
def test_a_bad_workspace_day_names_the_key(workspace):
    (workspace.config_path).write_text(workspace.config_path.read_text() + '\n[workspace]\ntoday = "2026-02-30"\n')
    result = CrmRunner(workspace, today=None)("partner", "list", expect=1)
    assert "workspace.today" in result.stderr and "not a date" in result.stderr


@pytest.mark.modules("billing")
def test_without_a_workspace_day_the_calendar(workspace):
    shown = CrmRunner(workspace, today=None)("whoami", "--json").json
    assert (shown["today"], shown["today_from"]) == (dt.date.today().isoformat(), "calendar")
