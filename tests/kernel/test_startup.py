"""`crm --help` stays fast: it lists the modules' commands without importing the database layer,
the validation layer or the tables (issue 2 target: under 0.3 s; see benchmarks/startup.py)."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from core.cli.main import main
try:
    main(["--config", sys.argv[1], "--help"])
except SystemExit:
    pass
heavy = sorted(name for name in ("sqlalchemy", "marshmallow", "alembic", "rich", "core.models")
               if name in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.modules("funnel", "billing", "procurement")
def test_help_imports_no_database_or_validation_layer(workspace):
    result = subprocess.run([sys.executable, "-c", PROBE, str(workspace.config_path)],
                            capture_output=True, text=True, check=True)
    assert "Commands:" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_help_lists_commands_even_when_the_config_is_invalid(workspace):
    # an older file's identity keys are still checked (crm migrate copies them into the database)
    text = workspace.config_path.read_text().replace('[company]\n', '[company]\nsiren = "123"\n')
    workspace.config_path.write_text(text)
    result = subprocess.run([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path),
                             "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "partner" in result.stdout
    failing = subprocess.run([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path),
                              "partner", "list"], capture_output=True, text=True)
    assert failing.returncode == 1
    assert failing.stderr.strip() == "error: crm.toml: company.siren: invalid SIREN '123' " \
                                     "(the number has an invalid length)"
