"""``crm config check|set``: the whole of crm.toml checked, one setting changed safely."""

from __future__ import annotations

import click

from core.cli.context import emit_json, json_option, pass_state


@click.group()
def config():
    """Check crm.toml against every enabled module's schema; change one setting."""


@config.command("check")
@json_option
@pass_state
def config_check(state, as_json):
    """Check the whole of crm.toml with the kernel's and every enabled module's schema.

    Lists every problem at once (an unknown key with the key you likely meant, a wrong type or
    choice, a channel that does not exist, a secret that belongs in the environment, a section no
    module owns) and exits 1 if there is any.
    """
    from core.config import find_config_path, read_text
    from core.settings import check_text

    path = find_config_path(state.config_path)
    found = check_text(read_text(path), path)
    if as_json:
        emit_json({"file": str(path), "ok": not found, "problems": found})
    elif found:
        for line in found:
            click.echo(line, err=True)
    else:
        click.echo(f"{path}: ok")
    if found:
        raise SystemExit(1)


@config.command("set")
@click.argument("key", metavar="SECTION.KEY")
@click.argument("value")
@pass_state
def config_set(state, key, value):
    """Set SECTION.KEY (or SECTION.TABLE.KEY) to VALUE in crm.toml, checked by its schema first.

    VALUE is read as the key expects: true/false, a number, or text. The file keeps its comments
    and layout and is replaced in one step; a value the schema refuses changes nothing (exit 1).
    Secrets are not set here: they come from the environment ($CRM_SMTP_PASSWORD...).

    \b
    Examples:
      crm config set billing.post_on_confirm false
      crm config set notifications.smtp.port 587
    """
    from core.config import find_config_path
    from core.settings import set_setting

    path = find_config_path(state.config_path)
    remaining = set_setting(path, key, value)
    click.echo(f"{path}: {key} = {value}")
    for line in remaining:
        click.echo(f"warning: {line}", err=True)
