"""`crm export` is a kernel group the modules extend: each module's group named `export` adds its
subcommands beside `crm export KIND` (billing's `crm export fec`), and a clash is an error naming both."""

from __future__ import annotations

import click
import pytest

from core.cli.main import PluginCommands
from core.errors import CrmError


def _export_group(*names):
    group = click.Group("export")
    for name in names:
        group.add_command(click.Command(name, callback=lambda: None))
    return group


def test_two_modules_exports_join_the_kernel_group():
    holder = PluginCommands()
    holder.add_command(_export_group("fec"))
    holder.add_command(_export_group("ledger"))
    holder.add_command(click.Group("vat"))
    assert sorted(holder.extensions["export"]) == ["fec", "ledger"]
    assert "export" not in holder.commands and "vat" in holder.commands


def test_a_subcommand_two_modules_add_is_refused():
    holder = PluginCommands()
    holder.add_command(_export_group("fec"))
    with pytest.raises(CrmError, match="two modules register 'crm export fec'"):
        holder.add_command(_export_group("fec"))


def test_a_module_cannot_replace_the_kernels_export():
    with pytest.raises(CrmError, match="register a click group named 'export'"):
        PluginCommands().add_command(click.Command("export", callback=lambda: None))


def test_a_module_failing_to_register_is_named_not_taken_for_an_unknown_kind():
    from core.cli.context import State
    from core.cli.main import cli

    state = State()
    state.plugin_commands, state.plugin_error = {}, CrmError("two modules register 'crm export fec' (a and b)")
    ctx = click.Context(cli, obj=state, info_name="crm")
    export = cli.get_command(ctx, "export")
    with pytest.raises(CrmError, match="two modules register 'crm export fec'"):
        export.get_command(click.Context(export, parent=ctx, info_name="export"), "fec")
