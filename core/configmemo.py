"""A config file that checked clean, remembered between processes (kept by :mod:`core.memo`).

Every command checks the whole ``crm.toml`` (the kernel's sections and the enabled modules', by
their marshmallow schemas) before it runs. The outcome only changes when the file, the environment
or the code that checks it changes, so a clean check is remembered: the next command reading the
same file takes the checked config from here and neither imports marshmallow nor loads the
modules' schemas (about a sixth of an everyday command's start-up).

An entry is kept under the file's path and the ``CRM_*`` environment, and holds the text it was
made from, the checked config, the installed modules (name, target, distribution) and every source
file of the kernel, of marshmallow and of the enabled modules that was loaded when the check ran,
with its modification time. Any difference (the text edited, a variable set, a module installed or
removed, a file of that code changed) and the check runs again, in full, as if nothing had been
remembered. A config with a problem is never remembered.
"""

from __future__ import annotations

import os
import sys

from core import memo


def recall(path, text: str):
    """The checked config remembered for ``path`` reading ``text``, or None (check it)."""
    entry = memo.load("config", _key(path))
    if entry is None or entry["text"] != text or not memo.unchanged(entry["sources"]):
        return None
    config = entry["config"]
    config.path = path  # as this process names it (the same file: the key is its absolute path)
    config.checked_with = entry["entries"]
    return config


def still_valid(config, entries: dict) -> bool:
    """Whether a recalled ``config`` may skip the modules' check: the installed modules are those
    it was checked with (a module installed, removed or retargeted since changes what is valid)."""
    return config.checked_with is not None and config.checked_with == _entries(entries)


def remember(config, entries: dict, modules: list[str]) -> None:
    """Remember ``config`` (every section checked clean) for the next command."""
    if config.path is None or config.text is None:
        return
    for name in config.schemas:  # a section the file leaves out is its defaults: kept checked too
        config.section(name)
    prefixes = ("core", "marshmallow", *(entries[name].target for name in modules))
    sources = memo.stamps(getattr(module, "__file__", None) or "" for name, module in list(sys.modules.items())
                          if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes))
    kept = type(config)(path=config.path, enabled=config.enabled, database_url=config.database_url,
                        company=config.company, sections=config.sections)
    kept.text, kept._checked = config.text, dict(config._checked)
    memo.store("config", _key(config.path),
               {"text": config.text, "config": kept, "entries": _entries(entries), "sources": sources})


def _key(path) -> tuple:
    environment = sorted((key, value) for key, value in os.environ.items() if key.startswith("CRM_"))
    return (os.path.abspath(path), tuple(environment))


def _entries(entries: dict) -> tuple:
    return tuple(sorted((name, entry.target, entry.distribution) for name, entry in entries.items()))
