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
heavy = sorted(name for name in ("sqlalchemy", "marshmallow", "alembic", "rich", "core.models", "pluggy",
                                 "jinja2", "weasyprint", "lxml") if name in sys.modules)
print("KERNEL:" + ",".join(sorted(name for name in sys.modules if name.startswith("core.cli."))))
print("PLUGINS:" + ",".join(sorted(name for name in sys.modules if name.startswith("plugins."))))
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.modules("funnel", "billing", "procurement")
def test_help_imports_no_database_or_validation_layer(workspace):
    result = subprocess.run([sys.executable, "-c", PROBE, str(workspace.config_path)],
                            capture_output=True, text=True, check=True)
    assert "Commands:" in result.stdout
    assert result.stdout.strip().splitlines()[-2:] == ["PLUGINS:", "HEAVY:"]
    # nor the kernel's own commands: their help too is read from the source
    kernel = result.stdout.strip().splitlines()[-3].removeprefix("KERNEL:").split(",")
    assert set(kernel) <= {"core.cli.main", "core.cli.context", "core.cli.lazy"}, kernel
    # every module's commands are listed with their help, read from the source
    for name, summary in (("invoice", "Invoices and credit notes"), ("deal", "Opportunities"),
                          ("po", "Purchase orders"), ("vat", "VAT"), ("bill", "Supplier bills")):
        assert any(line.split()[:1] == [name] and summary in line for line in result.stdout.splitlines()), name


@pytest.mark.modules("billing")
def test_a_disabled_module_s_commands_are_not_listed_nor_run(workspace):
    listed = subprocess.run([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path),
                             "--help"], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0] for line in listed.split("Commands:")[1].splitlines() if line.strip()}
    assert {"invoice", "aging", "vat"} <= names and not names & {"deal", "lead", "po", "stock", "bill"}
    refused = subprocess.run([sys.executable, "-m", "core.cli.main", "--config", str(workspace.config_path),
                              "deal", "list"], capture_output=True, text=True)
    assert refused.returncode == 2 and "No such command 'deal'" in refused.stderr


@pytest.mark.modules("funnel", "billing", "procurement")
def test_a_list_imports_only_its_own_module(workspace):
    probe = PROBE.replace('"--help"', '"invoice", "list"')
    result = subprocess.run([sys.executable, "-c", probe, str(workspace.config_path)],
                            capture_output=True, text=True, check=True)
    loaded = result.stdout.strip().splitlines()[-2].removeprefix("PLUGINS:").split(",")
    assert "plugins.billing.cli" in loaded
    assert not [name for name in loaded if name.startswith(("plugins.funnel.cli", "plugins.procurement.cli"))]
    heavy = result.stdout.strip().splitlines()[-1].removeprefix("HEAVY:").split(",")
    assert not {"jinja2", "weasyprint", "lxml", "rich"} & set(heavy), heavy
    # the invoice tables only: payments, collections and bank tables load with what uses them
    assert "plugins.billing.models_invoices" in loaded
    assert not {"plugins.billing.models", "plugins.billing.models_payments", "plugins.billing.models_collections",
                "plugins.billing.models_bank"} & set(loaded)
    assert "plugins.billing.cli_money" not in loaded  # the payment and reminders commands load when run


@pytest.mark.modules("funnel", "billing", "procurement")
@pytest.mark.parametrize("command, tables", [("deal", "plugins.funnel.models_deals"),
                                             ("lead", "plugins.funnel.models_leads"),
                                             ("po", "plugins.procurement.models_purchase")])
def test_a_deal_lead_or_po_list_loads_its_own_tables(workspace, command, tables):
    probe = PROBE.replace('"--help"', f'"{command}", "list"')
    result = subprocess.run([sys.executable, "-c", probe, str(workspace.config_path)],
                            capture_output=True, text=True, check=True)
    loaded = result.stdout.strip().splitlines()[-2].removeprefix("PLUGINS:").split(",")
    assert tables in loaded
    # activities, targets, forecasts, market data; stock, rules, supplier prices, bills: not needed
    assert not {"plugins.funnel.models", "plugins.procurement.models", "plugins.procurement.models_bills"} & set(loaded)
    assert not [name for name in loaded if name.startswith("plugins.billing.models")]
    if command == "lead":  # a lead's deals are read by its show alone
        assert "plugins.funnel.models_deals" not in loaded


def test_the_kernel_s_commands_are_listed_with_the_help_their_code_gives():
    import importlib
    import inspect

    from core.cli.main import KERNEL_COMMANDS, kernel_listing

    for name, target in KERNEL_COMMANDS.items():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        listed = kernel_listing(name)
        assert listed.get_short_help_str(limit=90) == command.get_short_help_str(limit=90), name
        assert listed.help == inspect.cleandoc(command.help), name  # click keeps the docstring as written


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
