"""The kernel imports no plugin and the plugins never import each other (import-linter contracts)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_contracts_catch_a_violation(tmp_path):
    """The contract is not vacuous: a kernel module importing a plugin breaks it."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "core", copy / "core")
    shutil.copytree(ROOT / "plugins", copy / "plugins")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "core" / "bad.py").write_text("import plugins.billing\n")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(copy / "pyproject.toml")], cwd=copy,
                            capture_output=True, text=True, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def test_test_modules_have_unique_names_and_no_one_imports_a_conftest():
    """pytest imports test folders without __init__.py by basename: two test_scenario.py clash,
    and importing from a conftest by name picks whichever conftest came first."""
    names = [p.name for p in (ROOT / "tests").rglob("*.py")
             if p.name not in ("conftest.py", "__init__.py") and "fakeplugins" not in p.parts
             and "probe_plugin" not in p.parts]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
    needle = "from " + "conftest import"  # spelt so that this file does not match itself
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py")
                 if needle in p.read_text(encoding="utf-8")]
    assert offenders == []
