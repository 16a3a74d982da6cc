"""Module discovery, manifests, dependency resolution and the plugin manager.

Modules are found through the ``entonnoir.plugins`` entry-point group; the built-in ones too.
The entry point names a Python package whose ``__init__.py`` holds a literal ``MANIFEST`` dict::

    MANIFEST = {
        "name": "billing",
        "version": "0.1.0",
        "summary": "Invoices, payment terms, payments and reminders",
        "depends": [],
    }

The manifest is read from the source without importing the package (as Odoo reads
``__manifest__.py``), so listing, enabling and disabling modules never runs a disabled module's
code, and a module that fails to import can still be listed and disabled. Only enabled modules
are imported and registered with pluggy, in dependency order.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ModuleError

if TYPE_CHECKING:
    import pluggy

GROUP = "entonnoir.plugins"
MANIFEST_KEYS = {"name", "version", "summary", "depends", "migrations", "commands"}


@dataclass(frozen=True)
class Manifest:
    """What a module says about itself."""

    name: str
    version: str
    summary: str = ""
    depends: tuple[str, ...] = ()
    #: folder of the module's Alembic branch, relative to its package; None for no tables.
    migrations: str | None = "migrations"
    #: the module's top-level commands as ``(name, "package.module:attribute")`` pairs, so the CLI
    #: knows their names and help without importing them; None: the module adds its commands
    #: through the ``register_commands`` hook instead (imported whenever the command list is built).
    commands: tuple[tuple[str, str], ...] | None = None


@dataclass
class ModuleEntry:
    """An installed module, as found through its entry point (not imported)."""

    name: str
    target: str
    distribution: str = ""
    package_dir: Path | None = None
    manifest: Manifest | None = None
    #: why the module cannot be used (manifest unreadable, package missing), or None.
    problem: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``name = target (distribution)``, for error messages that point at the entry point."""
        dist = f" from {self.distribution}" if self.distribution else ""
        return f"entry point '{self.name} = {self.target}'{dist}"

    @property
    def version(self) -> str:
        return self.manifest.version if self.manifest else "?"

    @property
    def depends(self) -> tuple[str, ...]:
        return self.manifest.depends if self.manifest else ()

    @property
    def migrations_dir(self) -> Path | None:
        """The module's Alembic ``versions`` folder, if it has tables."""
        if not (self.manifest and self.manifest.migrations and self.package_dir):
            return None
        path = self.package_dir / self.manifest.migrations / "versions"
        return path if path.is_dir() else None


def read_manifest(name: str, init_file: Path) -> Manifest:
    """Read the literal ``MANIFEST`` of a package's ``__init__.py`` without executing it."""
    import ast

    try:
        tree = ast.parse(init_file.read_text(encoding="utf-8"), str(init_file))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"cannot read {init_file}: {exc}") from None
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "MANIFEST" for t in targets):
                try:
                    data = ast.literal_eval(node.value)
                except ValueError:
                    raise ValueError("MANIFEST must be a literal dict (no names or calls)") from None
                return _check_manifest(name, data)
    raise ValueError(f"no MANIFEST in {init_file}")


def _check_manifest(name: str, data) -> Manifest:
    if not isinstance(data, dict):
        raise ValueError("MANIFEST must be a dict")
    unknown = set(data) - MANIFEST_KEYS
    if unknown:
        raise ValueError(f"MANIFEST has unknown keys: {', '.join(sorted(unknown))}")
    if data.get("name") != name:
        raise ValueError(f"MANIFEST name {data.get('name')!r} differs from the entry point name {name!r}")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("MANIFEST version must be a non-empty string")
    depends = data.get("depends", [])
    if not isinstance(depends, (list, tuple)) or not all(isinstance(d, str) for d in depends):
        raise ValueError("MANIFEST depends must be a list of module names")
    migrations = data.get("migrations", "migrations")
    if migrations is not None and not isinstance(migrations, str):
        raise ValueError("MANIFEST migrations must be a folder name or None")
    commands = data.get("commands")
    if commands is not None:
        commands = _check_commands(name, commands)
    return Manifest(name=name, version=version, summary=str(data.get("summary", "")),
                    depends=tuple(depends), migrations=migrations, commands=commands)


def _check_commands(name: str, commands) -> tuple[tuple[str, str], ...]:
    """``{"invoice": "plugins.billing.cli:invoice"}`` checked: each target a ``module:attribute``."""
    if not isinstance(commands, dict):
        raise ValueError('MANIFEST commands must be a dict {"name": "package.module:attribute"}')
    for command, target in commands.items():
        module, _, attribute = str(target).partition(":")
        if not (isinstance(command, str) and command and isinstance(target, str) and module and attribute):
            raise ValueError(f"MANIFEST commands: {command!r}: {target!r} is not 'package.module:attribute'")
    return tuple(commands.items())


_DISCOVERED: dict[tuple, dict[str, "ModuleEntry"]] = {}


def discover() -> dict[str, ModuleEntry]:
    """Every installed module, by name, with its manifest (or the problem reading it).

    Remembered for the life of the process (a demo or a test suite runs many commands in one
    process) while ``sys.path`` and its folders are unchanged: a folder added to the path, or a
    package installed into one (its folder's modification time changes), is looked at again.
    Kept between processes too (:func:`_recall`). Callers get their own copy of the mapping.
    """
    import os
    import sys

    def stamp(folder: str):
        try:
            return os.stat(folder or ".").st_mtime_ns
        except OSError:
            return None

    key = tuple((folder, stamp(folder)) for folder in sys.path)
    if key not in _DISCOVERED:
        _DISCOVERED.clear()
        _DISCOVERED[key] = _recall()
    return dict(_DISCOVERED[key])


def _recall() -> dict[str, ModuleEntry]:
    """What the last process found on this same path (:mod:`core.memo`), while the entry points
    are the same files (none added, removed or rewritten: :func:`_entry_point_files`) and neither
    a manifest nor this file changed; else found again, and kept for the next process."""
    import sys

    from core import memo

    key = (sys.executable, tuple(sys.path))
    files = _entry_point_files()
    kept = memo.load("modules", key)
    if kept is not None and kept["files"] == files and memo.unchanged(kept["sources"]):
        return kept["found"]
    found = _discover()
    manifests = [str(entry.package_dir / "__init__.py") for entry in found.values() if entry.package_dir]
    memo.store("modules", key, {"found": found, "files": files, "sources": memo.stamps([__file__, *manifests])})
    return found


def _entry_point_files() -> tuple:
    """Every installed distribution's ``entry_points.txt`` on ``sys.path``, with its modification time."""
    import os
    import sys

    files = []
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                path = os.path.join(folder, name, "entry_points.txt")
                try:
                    files.append((path, os.stat(path).st_mtime_ns))
                except OSError:
                    pass
    return tuple(sorted(files))


def _discover() -> dict[str, ModuleEntry]:
    from importlib.metadata import entry_points

    found: dict[str, ModuleEntry] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist else ""
        entry = ModuleEntry(name=ep.name, target=ep.value, distribution=dist)
        if ep.name in found:
            other = found[ep.name]
            entry.problem = f"the name is declared twice: by {other.label} and by {entry.label}"
            found[ep.name] = entry
            continue
        found[ep.name] = entry
        if ":" in ep.value:
            entry.problem = "the entry point must name a package, not an object"
            continue
        try:
            spec = importlib.util.find_spec(ep.value)
        except (ImportError, ValueError) as exc:
            spec, entry.problem = None, f"package not importable: {exc}"
        if spec is None:
            entry.problem = entry.problem or f"package {ep.value!r} is not installed"
            continue
        if not spec.submodule_search_locations or not spec.origin:
            entry.problem = f"{ep.value!r} is not a package"
            continue
        entry.package_dir = Path(spec.origin).parent
        try:
            entry.manifest = read_manifest(ep.name, Path(spec.origin))
        except ValueError as exc:
            entry.problem = str(exc)
    return found


def resolve_order(entries: dict[str, ModuleEntry], enabled: list[str]) -> list[str]:
    """Order the enabled modules so that each comes after what it depends on.

    Raises :class:`ModuleError` naming the modules when one is not installed, unusable, depends
    on a module that is not enabled, or the dependencies form a cycle.
    """
    for name in enabled:
        entry = entries.get(name)
        if entry is None:
            raise ModuleError(f"module '{name}' is enabled but not installed "
                              f"(installed: {', '.join(sorted(entries)) or 'none'})")
        if entry.problem:
            raise ModuleError(f"module '{name}' ({entry.label}) is unusable: {entry.problem}")
        for dep in entry.depends:
            if dep not in entries:
                raise ModuleError(f"module '{name}' depends on '{dep}', which is not installed")
            if dep not in enabled:
                raise ModuleError(f"module '{name}' depends on '{dep}', which is not enabled")
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):] + [name]
            raise ModuleError(f"dependency cycle: {' -> '.join(cycle)}")
        state[name] = "visiting"
        for dep in entries[name].depends:
            visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in sorted(enabled):
        visit(name, [])
    return order


def closure(entries: dict[str, ModuleEntry], name: str) -> list[str]:
    """``name`` and everything it needs, dependencies first (missing ones and cycles raise)."""
    if name not in entries:
        raise ModuleError(f"no module named '{name}' is installed "
                          f"(installed: {', '.join(sorted(entries)) or 'none'})")
    needed: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in needed:
            continue
        if current not in entries:
            raise ModuleError(f"module '{name}' needs '{current}', which is not installed")
        needed.add(current)
        stack.extend(entries[current].depends)
    return resolve_order(entries, sorted(needed))


def dependents(entries: dict[str, ModuleEntry], enabled: list[str], name: str) -> list[str]:
    """The enabled modules that depend on ``name``, directly or through another."""
    result: set[str] = set()
    changed = True
    while changed:
        changed = False
        for other in enabled:
            if other in result or other == name or other not in entries:
                continue
            if any(dep == name or dep in result for dep in entries[other].depends):
                result.add(other)
                changed = True
    return sorted(result)


def build_plugin_manager(entries: dict[str, ModuleEntry], enabled: list[str]) -> pluggy.PluginManager:
    """Import the enabled modules in dependency order and register them with a new manager.

    A module that fails to import, or implements a hook that does not exist (a misspelt name),
    is a :class:`ModuleError` naming the module and its entry point.
    """
    import pluggy

    from core import builtin, hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name="core")
    for name in resolve_order(entries, enabled):
        entry = entries[name]
        try:
            module = importlib.import_module(entry.target)
        except Exception as exc:  # any error in a plugin's import is the plugin's, not ours
            raise ModuleError(f"module '{name}' failed to load ({entry.label}): "
                              f"{type(exc).__name__}: {exc}. `crm modules disable {name}` "
                              f"turns it off") from exc
        extra_specs = getattr(module, "hookspecs", None)
        if extra_specs is not None and inspect.ismodule(extra_specs):
            pm.add_hookspecs(extra_specs)
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            raise ModuleError(f"module '{name}' ({entry.label}) has a bad hook: {exc}") from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin = getattr(exc, "plugin", None)
        who = pm.get_name(plugin) if plugin is not None else "?"
        raise ModuleError(f"module '{who}' implements a hook that does not exist: {exc}") from exc
    return pm
