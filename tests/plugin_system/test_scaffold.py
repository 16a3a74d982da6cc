"""`crm plugin new` writes a module that installs, enables, runs and passes its own tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CRM = [sys.executable, "-m", "core.cli.main"]


def run(argv, *, env, cwd=None, check=True):
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Scaffold module `visits`, then pip-install it into a folder of its own (as a user would)."""
    root = tmp_path_factory.mktemp("scaffold")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    written = run(CRM + ["plugin", "new", "visits", "--dir", str(root / "visits")], env=env, cwd=root)
    assert written.stdout.startswith("wrote 9 files in")
    site = root / "site"
    # the test extra brings setuptools >= 70.1, which builds wheels itself: no download needed
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
           "--target", str(site)]
    build = root / "build-copy"
    shutil.copytree(root / "visits", build)  # pip builds in place; keep the generated tree clean
    run(pip + [str(build)], env=env)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return root, env


def test_the_scaffold_refuses_a_bad_name_and_a_used_folder(tmp_path):
    bad = run(CRM + ["plugin", "new", "Bad-Name", "--dir", str(tmp_path / "x")], env=os.environ, check=False)
    assert bad.returncode == 1 and "name: use 2 to 31 lower-case letters" in bad.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    used = run(CRM + ["plugin", "new", "visits", "--dir", str(tmp_path / "full")], env=os.environ, check=False)
    assert used.returncode == 1 and "is not empty" in used.stderr


def test_the_generated_module_installs_enables_and_works(generated, database_url):
    root, env = generated
    workspace = root / f"ws-{abs(hash(database_url)) % 10**6}"
    run(CRM + ["init", str(workspace), "--modules", "", "--database-url", database_url], env=env)
    config = ["--config", str(workspace / "crm.toml")]
    listed = {m["name"]: m for m in json.loads(run(CRM + config + ["modules", "list", "--json"], env=env).stdout)}
    assert (listed["visits"]["state"], listed["visits"]["distribution"]) == ("disabled", "entonnoir-visits")
    run(CRM + config + ["modules", "enable", "visits"], env=env)
    run(CRM + config + ["--today", "2026-12-01", "partner", "add", "Dupont SA"], env=env)
    run(CRM + config + ["visits", "add", "Dupont SA", "Call back in January"], env=env)
    notes = json.loads(run(CRM + config + ["visits", "list", "Dupont SA", "--json"], env=env).stdout)
    assert [n["text"] for n in notes] == ["created on 2026-12-01", "Call back in January"]
    hooks = {h["name"]: h["implemented_by"] for h in
             json.loads(run(CRM + config + ["hooks", "--json"], env=env).stdout)}
    assert "visits" in hooks["partner_created"]
    assert "visits" in hooks["register_fields"]  # its one partner field (core.extensions)


def test_the_generated_module_passes_its_own_tests(generated):
    root, env = generated
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], env=env, cwd=root / "visits",
                 check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = 8 if os.environ.get("CRM_TEST_DATABASE_URL") else 4
    assert f"{expected} passed" in result.stdout
