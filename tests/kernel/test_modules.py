"""Modules: manifests read without importing, dependency order, errors naming the modules, loading."""

import os
import sys
from pathlib import Path

import pytest

from core.errors import ModuleError
from core.modules import (Manifest, ModuleEntry, build_plugin_manager, closure, dependents, read_manifest,
                          resolve_order)

FAKES = Path(__file__).parent / "fakeplugins"


# --- helpers ------------------------------------------------------------------------------------

def entry(name, *depends, problem=None):
    return ModuleEntry(name=name, target=f"pkg_{name}", manifest=Manifest(name=name, version="1.0",
                       depends=tuple(depends)), problem=problem)


def entries(*items):
    return {item.name: item for item in items}


def fake_entry(name):
    package_dir = FAKES / name
    return ModuleEntry(name=name, target=name, distribution="entonnoir-tests", package_dir=package_dir,
                       manifest=read_manifest(name, package_dir / "__init__.py"))


def fake_entries(*names):
    return {name: fake_entry(name) for name in names}


@pytest.fixture
def fakes(monkeypatch):
    """The fake plugin folder on sys.path, and no fake plugin imported before or after the test."""
    def forget():
        for name in [n for n in sys.modules if n.startswith("fk_")]:
            del sys.modules[name]

    forget()
    monkeypatch.syspath_prepend(str(FAKES))
    yield
    forget()


def manifest_file(tmp_path, text):
    path = tmp_path / "__init__.py"
    path.write_text(text, encoding="utf-8")
    return path


# --- read_manifest ------------------------------------------------------------------------------

def test_read_manifest_good(tmp_path):
    path = manifest_file(tmp_path, 'import os\nMANIFEST = {"name": "billing", "version": "0.1.0", '
                                   '"summary": "Invoices", "depends": ["funnel"]}\nos.exit(3)\n')
    manifest = read_manifest("billing", path)
    assert manifest == Manifest(name="billing", version="0.1.0", summary="Invoices", depends=("funnel",))
    assert manifest.migrations == "migrations"


def test_read_manifest_annotated_and_no_migrations(tmp_path):
    path = manifest_file(tmp_path, 'MANIFEST: dict = {"name": "x", "version": "2", "migrations": None}\n')
    manifest = read_manifest("x", path)
    assert manifest.migrations is None and manifest.depends == ()


def test_read_manifest_commands(tmp_path):
    path = manifest_file(tmp_path, 'MANIFEST = {"name": "x", "version": "1", "commands": {"hold": "x.cli:hold"}}\n')
    assert read_manifest("x", path).commands == (("hold", "x.cli:hold"),)
    assert read_manifest("x", manifest_file(tmp_path, 'MANIFEST = {"name": "x", "version": "1"}\n')).commands is None


def test_read_manifest_does_not_run_the_module(tmp_path):
    path = manifest_file(tmp_path, 'raise SystemExit("executed")\nMANIFEST = {"name": "x", "version": "1"}\n')
    assert read_manifest("x", path).version == "1"


@pytest.mark.parametrize("text, message", [
    ('MANIFEST = dict(name="x", version="1")', "MANIFEST must be a literal dict"),
    ('V = "1"\nMANIFEST = {"name": "x", "version": V}', "MANIFEST must be a literal dict"),
    ('MANIFEST = ["x", "1"]', "MANIFEST must be a dict"),
    ('MANIFEST = {"name": "y", "version": "1"}', "MANIFEST name 'y' differs from the entry point name 'x'"),
    ('MANIFEST = {"version": "1"}', "MANIFEST name None differs"),
    ('MANIFEST = {"name": "x"}', "MANIFEST version must be a non-empty string"),
    ('MANIFEST = {"name": "x", "version": ""}', "MANIFEST version must be a non-empty string"),
    ('MANIFEST = {"name": "x", "version": 1}', "MANIFEST version must be a non-empty string"),
    ('MANIFEST = {"name": "x", "version": "1", "depends": "funnel"}', "MANIFEST depends must be a list"),
    ('MANIFEST = {"name": "x", "version": "1", "depends": [1]}', "MANIFEST depends must be a list"),
    ('MANIFEST = {"name": "x", "version": "1", "migrations": 3}', "MANIFEST migrations must be"),
    ('MANIFEST = {"name": "x", "version": "1", "author": "me", "zz": 1}', "MANIFEST has unknown keys: author, zz"),
    ('MANIFEST = {"name": "x", "version": "1", "commands": ["hold"]}', "MANIFEST commands must be a dict"),
    ('MANIFEST = {"name": "x", "version": "1", "commands": {"hold": "x.cli"}}', "is not 'package.module:attribute'"),
    ('NAME = "x"', "no MANIFEST in"),
    ('MANIFEST = {"name": "x",', "cannot read"),
])
def test_read_manifest_bad(tmp_path, text, message):
    with pytest.raises(ValueError) as info:
        read_manifest("x", manifest_file(tmp_path, text + "\n"))
    assert message in str(info.value)


def test_read_manifest_missing_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        read_manifest("x", tmp_path / "nope" / "__init__.py")


# --- resolve_order, closure, dependents ---------------------------------------------------------

def test_resolve_order_puts_dependencies_first():
    found = entries(entry("billing", "sales"), entry("sales"), entry("procurement", "billing", "sales"),
                    entry("funnel"))
    order = resolve_order(found, ["procurement", "funnel", "billing", "sales"])
    assert sorted(order) == ["billing", "funnel", "procurement", "sales"]
    assert order.index("sales") < order.index("billing") < order.index("procurement")


def test_resolve_order_is_stable_whatever_the_config_order():
    found = entries(entry("a"), entry("b", "a"), entry("c"))
    assert resolve_order(found, ["c", "b", "a"]) == resolve_order(found, ["a", "b", "c"])


def test_resolve_order_only_enabled():
    found = entries(entry("a"), entry("b"))
    assert resolve_order(found, ["b"]) == ["b"]
    assert resolve_order(found, []) == []


def test_missing_dependency_names_both_modules():
    with pytest.raises(ModuleError) as info:
        resolve_order(entries(entry("billing", "sales")), ["billing"])
    assert "'billing'" in str(info.value) and "'sales'" in str(info.value)
    assert "not installed" in str(info.value)


def test_dependency_not_enabled_names_both_modules():
    with pytest.raises(ModuleError, match="module 'billing' depends on 'sales', which is not enabled"):
        resolve_order(entries(entry("billing", "sales"), entry("sales")), ["billing"])


def test_enabled_but_not_installed():
    with pytest.raises(ModuleError, match=r"module 'ghost' is enabled but not installed \(installed: a\)"):
        resolve_order(entries(entry("a")), ["ghost"])


def test_unusable_module_names_its_problem():
    with pytest.raises(ModuleError, match=r"module 'a' \(entry point 'a = pkg_a'\) is unusable: no MANIFEST"):
        resolve_order(entries(entry("a", problem="no MANIFEST")), ["a"])


def test_cycle_message():
    with pytest.raises(ModuleError) as info:
        resolve_order(entries(entry("a", "b"), entry("b", "a")), ["a", "b"])
    assert str(info.value) == "dependency cycle: a -> b -> a"


def test_longer_cycle_is_named_in_full():
    found = entries(entry("a", "b"), entry("b", "c"), entry("c", "a"), entry("z"))
    with pytest.raises(ModuleError) as info:
        resolve_order(found, ["z", "c", "b", "a"])
    assert str(info.value) == "dependency cycle: a -> b -> c -> a"


def test_self_dependency_is_a_cycle():
    with pytest.raises(ModuleError, match=r"dependency cycle: a -> a"):
        resolve_order(entries(entry("a", "a")), ["a"])


def test_closure_lists_what_a_module_needs_dependencies_first():
    found = entries(entry("procurement", "billing"), entry("billing", "sales"), entry("sales"), entry("funnel"))
    assert closure(found, "procurement") == ["sales", "billing", "procurement"]
    assert closure(found, "funnel") == ["funnel"]


def test_closure_errors():
    with pytest.raises(ModuleError, match=r"no module named 'ghost' is installed \(installed: a\)"):
        closure(entries(entry("a")), "ghost")
    with pytest.raises(ModuleError, match="module 'a' needs 'b', which is not installed"):
        closure(entries(entry("a", "b")), "a")
    with pytest.raises(ModuleError, match="dependency cycle"):
        closure(entries(entry("a", "b"), entry("b", "a")), "a")


def test_dependents_are_transitive_and_only_enabled():
    found = entries(entry("sales"), entry("billing", "sales"), entry("procurement", "billing"),
                    entry("funnel"), entry("reports", "procurement"))
    assert dependents(found, ["sales", "billing", "procurement", "funnel"], "sales") == ["billing", "procurement"]
    assert dependents(found, ["sales", "billing", "procurement"], "procurement") == []
    assert dependents(found, ["sales", "billing", "funnel"], "funnel") == []
    # the order of the enabled list does not matter for the transitive walk
    assert dependents(found, ["procurement", "billing", "sales"], "sales") == ["billing", "procurement"]


def test_dependents_ignore_enabled_but_missing_modules():
    assert dependents(entries(entry("sales")), ["sales", "ghost"], "sales") == []


def test_entry_label_and_migrations_dir(tmp_path):
    item = ModuleEntry(name="billing", target="entonnoir_billing", distribution="entonnoir-billing",
                       package_dir=tmp_path, manifest=Manifest(name="billing", version="1"))
    assert item.label == "entry point 'billing = entonnoir_billing' from entonnoir-billing"
    assert item.migrations_dir is None
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    assert item.migrations_dir == tmp_path / "migrations" / "versions"
    assert ModuleEntry(name="x", target="x").version == "?"


# --- build_plugin_manager -------------------------------------------------------------------------

def test_enabled_fake_plugins_are_registered_in_dependency_order(fakes):
    found = fake_entries("fk_alpha", "fk_dep", "fk_unused")
    pm = build_plugin_manager(found, ["fk_dep", "fk_alpha"])
    names = [pm.get_name(p) for p in pm.get_plugins()]
    assert set(names) == {"core", "fk_alpha", "fk_dep"}
    implementers = [impl.plugin_name for impl in pm.hook.order_confirmed.get_hookimpls()]
    assert implementers == ["fk_alpha"]


def test_only_enabled_modules_are_imported(fakes):
    found = fake_entries("fk_alpha", "fk_unused", "fk_broken", "fk_misspelt")
    build_plugin_manager(found, ["fk_alpha"])
    assert "fk_alpha" in sys.modules
    assert "fk_unused" not in sys.modules
    assert "fk_broken" not in sys.modules
    assert "fk_misspelt" not in sys.modules


def test_plugin_failing_to_import_names_module_and_entry_point(fakes):
    with pytest.raises(ModuleError) as info:
        build_plugin_manager(fake_entries("fk_alpha", "fk_broken"), ["fk_alpha", "fk_broken"])
    text = str(info.value)
    assert "module 'fk_broken' failed to load" in text
    assert "entry point 'fk_broken = fk_broken' from entonnoir-tests" in text
    assert "ModuleNotFoundError" in text and "fk_this_module_does_not_exist" in text
    assert "crm modules disable fk_broken" in text
    assert isinstance(info.value.__cause__, ImportError)


def test_plugin_raising_at_import_is_a_module_error(fakes):
    with pytest.raises(ModuleError, match=r"module 'fk_unused' failed to load .*RuntimeError"):
        build_plugin_manager(fake_entries("fk_unused"), ["fk_unused"])


def test_misspelt_hook_is_refused_naming_the_module(fakes):
    with pytest.raises(ModuleError) as info:
        build_plugin_manager(fake_entries("fk_alpha", "fk_misspelt"), ["fk_alpha", "fk_misspelt"])
    text = str(info.value)
    assert "module 'fk_misspelt'" in text
    assert "order_confirmd" in text


def test_hook_with_unknown_argument_is_refused_naming_the_module(fakes):
    with pytest.raises(ModuleError) as info:
        build_plugin_manager(fake_entries("fk_badarg"), ["fk_badarg"])
    text = str(info.value)
    assert "module 'fk_badarg'" in text and "entry point 'fk_badarg = fk_badarg'" in text
    assert "invoice" in text


def test_plugin_manager_refuses_before_importing_when_a_dependency_is_missing(fakes):
    with pytest.raises(ModuleError, match="module 'fk_dep' depends on 'fk_alpha', which is not enabled"):
        build_plugin_manager(fake_entries("fk_alpha", "fk_dep"), ["fk_dep"])
    assert "fk_dep" not in sys.modules


def test_core_is_always_registered():
    pm = build_plugin_manager({}, [])
    assert [pm.get_name(p) for p in pm.get_plugins()] == ["core"]


def test_discovery_is_remembered_but_sees_a_package_installed_later(tmp_path, monkeypatch):
    import os

    from core.modules import discover

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "late_mod" not in discover()
    assert discover() == discover()  # remembered: the same entries, each call its own dict
    assert discover() is not discover()
    before = os.stat(site).st_mtime_ns
    (site / "late_mod").mkdir()
    (site / "late_mod" / "__init__.py").write_text(
        'MANIFEST = {"name": "late_mod", "version": "2.0", "summary": "", "depends": []}\n')
    info = site / "late_mod-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: late_mod\nVersion: 2.0\n")
    (info / "entry_points.txt").write_text("[entonnoir.plugins]\nlate_mod = late_mod\n")
    os.utime(site, ns=(before + 10**6, before + 10**6))  # what installing does, even on a coarse clock
    assert discover()["late_mod"].version == "2.0"


def test_discovery_is_kept_between_processes_until_an_entry_point_or_a_manifest_changes(tmp_path, monkeypatch):
    import tempfile

    from core import modules

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    site = tmp_path / "site"
    (site / "kept_mod").mkdir(parents=True)
    manifest = site / "kept_mod" / "__init__.py"
    manifest.write_text('MANIFEST = {"name": "kept_mod", "version": "1.0", "summary": "", "depends": []}\n')
    info = site / "kept_mod-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kept_mod\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[entonnoir.plugins]\nkept_mod = kept_mod\n")
    monkeypatch.syspath_prepend(str(site))
    assert modules.discover()["kept_mod"].version == "1.0"

    def refused():
        raise AssertionError("the entry points were read again")

    found = modules._discover
    monkeypatch.setattr(modules, "_discover", refused)
    modules._DISCOVERED.clear()  # as a new process starts
    assert modules.discover()["kept_mod"].version == "1.0"  # from the kept entry

    monkeypatch.setattr(modules, "_discover", found)
    manifest.write_text(manifest.read_text().replace('"1.0"', '"1.1"'))
    os.utime(manifest, ns=(1, manifest.stat().st_mtime_ns + 10**6))
    modules._DISCOVERED.clear()
    assert modules.discover()["kept_mod"].version == "1.1"  # a changed manifest is read again

    (info / "entry_points.txt").write_text("[entonnoir.plugins]\n")
    os.utime(info / "entry_points.txt", ns=(1, (info / "entry_points.txt").stat().st_mtime_ns + 10**6))
    modules._DISCOVERED.clear()
    assert "kept_mod" not in modules.discover()  # so is a changed entry_points.txt
