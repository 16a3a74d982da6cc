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
