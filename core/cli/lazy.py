"""The enabled modules' commands, known by name and help before any of them is imported.

A module lists its top-level commands in its manifest (``"commands": {"invoice":
"plugins.billing.cli:invoice"}``), read from the source like the rest of the manifest: ``crm
--help`` lists them with the first line of their docstring, read with ``ast``, and a command's
code is imported only when it runs (or its own ``--help`` is asked). A module without that key
adds its commands through the ``register_commands`` hook, as before: it is imported whenever the
command list is built.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CommandRef:
    """A module's command not imported yet: its name, ``module:attribute`` and where it lives."""

    name: str
    module: str
    target: str
    package: str
    package_dir: Path

    def load(self):
        """The click command itself (its module imported)."""
        import click

        from core.errors import ModuleError

        path, _, attribute = self.target.partition(":")
        try:
            command = getattr(importlib.import_module(path), attribute)
        except Exception as exc:  # the module's own failure, named with its entry in the manifest
            raise ModuleError(f"module '{self.module}': command '{self.name}' ({self.target}) failed to load: "
                              f"{type(exc).__name__}: {exc}. `crm modules disable {self.module}` turns it off") from exc
        if not isinstance(command, click.Command):
            raise ModuleError(f"module '{self.module}': command '{self.name}' ({self.target}) is not a click command")
        return command

    def placeholder(self):
        """A click command holding only the name and help, read from the source without importing it
        (what ``crm --help`` lists)."""
        import click

        path, _, attribute = self.target.partition(":")
        texts = _help(self.package, self.package_dir, path, attribute, depth=0)
        return click.Command(self.name, help=texts.get("help"), short_help=texts.get("short_help"))


def module_commands(entries: dict, enabled: list[str], extensible=frozenset()) -> tuple[
        dict[str, CommandRef], list[CommandRef], list[str]]:
    """The commands the enabled modules declare in their manifests: their own by name, those that
    extend a kernel group of ``extensible`` (``export``), and the modules that declare none."""
    from core.modules import resolve_order

    commands: dict[str, CommandRef] = {}
    extending: list[CommandRef] = []
    by_hook: list[str] = []
    for name in resolve_order(entries, enabled):
        entry = entries[name]
        if entry.manifest.commands is None:
            by_hook.append(name)
            continue
        for command, target in entry.manifest.commands:
            ref = CommandRef(command, name, target, entry.target, entry.package_dir)
            if command in extensible:
                extending.append(ref)
            else:
                commands[command] = ref
    return commands, extending, by_hook


def _help(package: str, package_dir: Path, module: str, attribute: str, depth: int) -> dict:
    """The ``help``/``short_help`` of command ``attribute`` in ``module`` (of ``package``), following
    a re-export (``from .cli_money import payment``); empty when the source does not say.

    The source is scanned, not parsed: a syntax tree of every command module would cost ``crm
    --help`` more than importing them.
    """
    if depth > 2 or not (module == package or module.startswith(package + ".")):
        return {}
    relative = module[len(package):].lstrip(".").split(".") if module != package else []
    path = package_dir.joinpath(*relative)
    text = _source(path / "__init__.py" if path.is_dir() else path.with_suffix(".py"))
    found = _definition(text, attribute)
    if found is None:
        for line in re.findall(r"^from ([\w.]+) import ([^\n]+)$", text, re.M):
            for alias in line[1].split("#")[0].strip("() ").split(","):
                original, _, name = alias.strip().partition(" as ")
                if (name or original).strip() == attribute:
                    return _help(package, package_dir, line[0], original.strip(), depth + 1)
        return {}
    texts = {}
    start, end = found
    decorators = text[:start].rstrip().rsplit("\n\n", 1)[-1]
    for call in re.findall(r"\.(?:command|group)\((.*)", decorators):
        for key, value in re.findall(r"\b(short_help|help)=(\"[^\"\n]*\"|'[^'\n]*')", call):
            texts[key] = ast.literal_eval(value)
    body = re.match(r"\s*([rRuU]?(\"\"\"|\'\'\').*?\2)", text[end:], re.S)
    if body is not None and "help" not in texts:
        texts["help"] = inspect.cleandoc(ast.literal_eval(body.group(1)))
    return texts


#: a definition's parameters, return annotation and colon, up to its body
_SIGNATURE = re.compile(r"\(.*?\)\s*(?:->[^:]*)?:[ \t]*\n", re.S)


def _definition(text: str, attribute: str) -> tuple[int, int] | None:
    """Where ``def attribute(...):`` starts in ``text`` and where its body starts, or None.

    A string search and one fixed pattern: a pattern per command's name cost ``crm --help`` a
    compilation per command listed.
    """
    padded, head = "\n" + text, f"\ndef {attribute}("
    at = padded.find(head)
    while at != -1:
        signature = _SIGNATURE.match(padded, at + len(head) - 1)
        if signature is not None:
            return at, signature.end() - 1  # in ``text``: one less than in ``padded``
        at = padded.find(head, at + 1)
    return None


@functools.lru_cache(maxsize=64)
def _source(path: Path) -> str:
    """A command module's source, read once per process (it holds several commands)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return ""
