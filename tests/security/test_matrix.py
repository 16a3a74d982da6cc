"""Every command of every module, run as every built-in role, against docs/permissions.md.

The command tree is read from click with every module enabled, so a command added tomorrow is
checked tomorrow: one without a declared right fails here, naming what to add.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from core.security import BUILTIN_ROLES
from core.testing import CrmRunner, make_workspace

ALL_MODULES = ("funnel", "billing", "procurement")
DOCS = Path(__file__).parents[2] / "docs" / "permissions.md"
NOTIFIED_AS = {"sales": "sales", "sales_manager": "sales", "collections": "collections", "purchasing": "purchasing",
               "accountant": "collections", "admin": "admin"}
UNCHECKED = {"init", "migrate", "hooks", "plugin new", "demo", "whoami"}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """One SQLite workspace with every module and one user per built-in role (the matrix is code, not data)."""
    folder = tmp_path_factory.mktemp("matrix") / "workspace"
    workspace = make_workspace(folder, f"sqlite:///{folder.parent / 'crm.db'}", ALL_MODULES)
    crm = CrmRunner(workspace, None)
    for role in BUILTIN_ROLES:
        if role != "system":
            # the notification role of `user add` is a role too: pick one the built-in role includes
            crm("user", "add", f"r_{role}", f"Role {role}", "--role", NOTIFIED_AS[role])
            crm("user", "role", f"r_{role}", role)
    return workspace, crm


def command_paths(app) -> list[str]:
    from core.cli.context import State
    from core.cli.main import cli

    state = State()
    state.set_app(app)
    found = []

    def walk(command, ctx, path):
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                walk(sub, click.Context(sub, parent=ctx, info_name=name), [*path, name])
        else:
            found.append(" ".join(path))

    walk(cli, click.Context(cli, obj=state, info_name="crm"), [])
    return found


def test_every_command_declares_a_right(everything):
    from core.security import command_rights

    workspace, _ = everything
    app = workspace.app()
    declared = command_rights(app)
    paths = command_paths(app)
    missing = [path for path in paths if path not in declared]
    assert not missing, "\n".join(
        f"command 'crm {path}' declares no right: add \"{path}\" to the commands=(...) of a Permission its "
        f"module registers in register_permissions (plugins/<module>/rights.py, or core/rights.py for the "
        f"kernel), then run `crm role matrix --markdown > docs/permissions.md` in a workspace with every "
        f"module enabled" for path in missing)
    stale = sorted(set(declared) - set(paths))
    assert not stale, f"rights declared for commands that do not exist: {stale}"


def test_docs_permissions_md_is_the_matrix(everything):
    from core.services.roles import matrix_markdown

    workspace, _ = everything
    assert DOCS.read_text(encoding="utf-8") == matrix_markdown(workspace.app()), (
        "docs/permissions.md is out of date: run `crm role matrix --markdown > docs/permissions.md` "
        "in a workspace with every module enabled")


def documented_matrix() -> dict[str, dict[str, bool]]:
    """The allow/deny table as docs/permissions.md writes it."""
    lines = DOCS.read_text(encoding="utf-8").split("## Commands", 1)[1].splitlines()
    header = next(line for line in lines if line.startswith("| command |"))
    roles = [cell.strip() for cell in header.strip("|").split("|")][2:]
    table = {}
    for line in lines:
        if line.startswith("| `crm "):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            table[cells[0].strip("`")[4:]] = dict(zip(roles, (cell == "✓" for cell in cells[2:])))
    return table


@pytest.mark.parametrize("role", [role for role in BUILTIN_ROLES if role != "system"])
def test_each_role_runs_exactly_the_commands_the_docs_allow(everything, role):
    """Allowed: the door lets the command parse its arguments (a bad option: exit 2). Refused: exit 4, naming the right."""
    workspace, crm = everything
    table = documented_matrix()
    assert set(table) == set(command_paths(workspace.app()))
    wrong = []
    for path, roles in sorted(table.items()):
        allowed = roles[role]
        if path in UNCHECKED:
            continue
        result = crm("--as", f"r_{role}", *path.split(), "--no-such-option", expect=None)
        refused = result.exit_code == 4 and "lacks the right" in result.stderr
        if allowed and refused or not allowed and not refused:
            wrong.append(f"crm {path}: docs say {'allowed' if allowed else 'refused'}, got exit "
                         f"{result.exit_code} {result.stderr.strip()[:160]}")
    assert not wrong, "\n".join(wrong)
