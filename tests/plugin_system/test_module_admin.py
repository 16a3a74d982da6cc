"""An admin's recovery and dependency moves, through `crm modules`, with real installed
distributions (a dist-info with an ``entonnoir.plugins`` entry point on sys.path)."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest


def install(site, name: str, body: str, *, depends=()) -> None:
    """Write package ``name`` and its ``.dist-info`` into ``site``, as pip would."""
    package = site / name
    package.mkdir(parents=True)
    manifest = {"name": name, "version": "1.2.3", "summary": f"{name} for tests", "depends": list(depends),
                "migrations": None}
    (package / "__init__.py").write_text(f"MANIFEST = {manifest!r}\n\n" + textwrap.dedent(body))
    info = site / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[entonnoir.plugins]\n{name} = {name}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in [m for m in sys.modules if m.startswith(("adm_", "adm"))]:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def test_a_module_that_fails_to_import_can_be_listed_and_disabled(site, crm):
    install(site, "adm_broken", "import adm_no_such_dependency\n")
    crm("modules", "enable", "adm_broken", expect=1)  # refused: it cannot load, nothing is written
    assert {m["name"]: m["state"] for m in crm("modules", "list", "--json").json}["adm_broken"] == "disabled"

    # the admin enables it by hand in crm.toml (or upgrades a package that then breaks)
    config = crm.workspace.config_path
    config.write_text(config.read_text().replace("enabled = []", 'enabled = ["adm_broken"]'))
    failed = crm("partner", "list", expect=1)
    assert failed.stderr.count("\n") == 1
    assert "module 'adm_broken' failed to load (entry point 'adm_broken = adm_broken' from adm_broken)" \
        in failed.stderr
    assert "ModuleNotFoundError" in failed.stderr and "crm modules disable adm_broken" in failed.stderr

    listed = {m["name"]: m for m in crm("modules", "list", "--json").json}
    assert (listed["adm_broken"]["state"], listed["adm_broken"]["version"]) == ("enabled", "1.2.3")
    assert crm("modules", "disable", "adm_broken").stdout.startswith("disabled: adm_broken")
    assert crm("partner", "list", "--json").json == []


def test_enabling_pulls_dependencies_in_and_disabling_a_needed_module_is_refused(site, crm):
    install(site, "adm_base", "")
    install(site, "adm_top", "", depends=["adm_base"])
    assert crm("modules", "enable", "adm_top").stdout.strip() == "enabled: adm_base, adm_top"
    states = {m["name"]: m["state"] for m in crm("modules", "list", "--json").json}
    assert (states["adm_base"], states["adm_top"]) == ("enabled", "enabled")

    refused = crm("modules", "disable", "adm_base", expect=1)
    assert refused.stderr.strip() == "error: cannot disable 'adm_base': adm_top depends on it (disable it first)"
    assert crm("modules", "info", "adm_base", "--json").json["needed_by"] == ["adm_top"]
    crm("modules", "disable", "adm_top")
    crm("modules", "disable", "adm_base")


def test_a_missing_dependency_and_a_cycle_are_named(site, crm):
    install(site, "adm_orphan", "", depends=["adm_nowhere"])
    install(site, "adm_ping", "", depends=["adm_pong"])
    install(site, "adm_pong", "", depends=["adm_ping"])
    missing = crm("modules", "enable", "adm_orphan", expect=1)
    assert missing.stderr.strip() == "error: module 'adm_orphan' needs 'adm_nowhere', which is not installed"
    cycle = crm("modules", "enable", "adm_ping", expect=1)
    assert "dependency cycle: adm_p" in cycle.stderr and cycle.stderr.count("->") == 2
    assert all(m["state"] == "disabled" for m in crm("modules", "list", "--json").json)
