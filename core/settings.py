"""Checking the whole config against the kernel and the enabled modules: ``register_settings``.

The kernel checks its own sections when it reads the file (:mod:`core.config`); the modules'
sections, the channel names and the sections nobody owns are checked when the app loads its
modules (:attr:`core.app.App.pm`), so every command, the kernel's or a module's, stops at a broken
config with the real cause. ``crm config check`` lists every problem at once.
"""

from __future__ import annotations

from core.errors import ConfigError, ModuleError


def gather(app) -> dict:
    """The schema of each enabled module's section, by section name (a module's is named after it)."""
    from marshmallow import Schema

    schemas: dict = {}
    owners: dict[str, str] = {}
    for module in app.modules:
        def register(section, schema, _module=module):
            if isinstance(schema, type) and issubclass(schema, Schema):
                schema = schema()
            if not isinstance(schema, Schema):
                raise ModuleError(f"module '{_module}' registered {schema!r} for its settings, not a "
                                  f"marshmallow Schema")
            if section != _module:
                raise ModuleError(f"module '{_module}' registered settings for section [{section}]: a "
                                  f"module's section is named after it ([{_module}])")
            if section in schemas:
                raise ModuleError(f"settings section [{section}] is registered by both '{owners[section]}' "
                                  f"and '{_module}'")
            schemas[section] = schema
            owners[section] = _module

        app.call_one(module, "register_settings", register=register)
    return schemas


def problems(app) -> list[str]:
    """Every problem of the config's sections against the kernel's and the enabled modules' schemas.

    Attaches the schemas to ``app.config`` (so ``app.config.section(name)`` returns the checked
    section with its defaults) and keeps each checked section.
    """
    from core.channels import channels
    from core.configschema import (
        CORE_SECTIONS, KNOWN_CHANNELS, _secrets, check_section, closest, kernel_schemas,
    )

    config = app.config
    schemas = {**kernel_schemas(), **gather(app)}
    config.schemas = schemas
    found: list[str] = []
    token = KNOWN_CHANNELS.set(frozenset(channels(app)))
    try:
        for name, raw in config.sections.items():
            if name in schemas:
                data, issues = check_section(config.label, name, schemas[name], raw)
                found += issues
                if not issues:
                    config.remember(name, raw, data)
            elif name in app.entries:  # a disabled module's section, or one that declares no schema
                if isinstance(raw, dict):
                    found += [f"{config.label}: {name}.{key}: {message}" for key, message in _secrets(None, raw)]
            else:
                known = sorted({*CORE_SECTIONS, *schemas, *app.entries})
                close = closest(name, known)
                found.append(f"{config.label}: [{name}]: unknown section"
                             + (f" (did you mean [{close}]?)" if close else f" (sections: {', '.join(known)})"))
    finally:
        KNOWN_CHANNELS.reset(token)
    return list(dict.fromkeys(found))


def validate(app) -> None:
    """Raise the first problem of :func:`problems` (saying how many more there are)."""
    from core.config import more

    found = problems(app)
    if found:
        raise ConfigError(more(found))


def check_text(text: str, path) -> list[str]:
    """Every problem of a config file's ``text`` (``crm config check``): TOML, kernel, modules, channels."""
    from core.app import App
    from core.config import read_config
    from core.errors import CrmError

    try:
        config, found = read_config(text, path)
    except ConfigError as exc:
        return [str(exc)]
    app = App(config, check_settings=False)
    try:
        found += problems(app)
    except CrmError as exc:  # a module missing or broken: named by the loader
        found.append(str(exc))
    finally:
        app.close()
    return list(dict.fromkeys(found))


def set_setting(path, key: str, text: str) -> list[str]:
    """Set ``key`` (``section.key`` or ``section.table.key``) to ``text`` read by the key's schema.

    The file is changed only if the new value passes its schema; it keeps its comments and layout
    (tomlkit) and is replaced atomically.

    :returns: the problems the file still has elsewhere (the new value is not one of them).
    :raises ConfigError: an unknown key, a value its schema refuses, or a key set by a command.
    """
    from core.app import App
    from core.config import read_config, read_text, set_value
    from core.configschema import CORE_SECTIONS, closest, is_secret, kernel_schemas, value_from_text
    from core.files import write_private

    label = path.name
    parts = key.split(".")
    if len(parts) < 2 or not all(parts):
        raise ConfigError(f"{key!r}: name a key as SECTION.KEY (billing.post_on_confirm, notifications.smtp.port)")
    if parts[0] == "modules":
        raise ConfigError(f"{label}: {key}: set by `crm modules enable|disable`, which migrate the database too")
    current = read_text(path)
    try:
        config, _ = read_config(current, path)
    except ConfigError:
        config = None
    schemas = {name: schema() for name, schema in CORE_SECTIONS.items()} | kernel_schemas()
    entries = {}
    if config is not None:
        app = App(config, check_settings=False)
        try:
            entries = app.entries
            schemas |= gather(app)
        except ModuleError:
            pass
        finally:
            app.close()
    section = parts[0]
    if is_secret(parts[-1]):
        parent = schemas.get(section)
        for part in parts[1:-1]:
            field = parent.fields.get(part) if parent is not None else None
            parent = getattr(field, "schema", None)
        variable = getattr(parent, "secret_variable", None)
        raise ConfigError(f"{label}: {key}: secrets do not belong in the config file: "
                          + (f"set ${variable} instead" if variable else "set it in the environment instead"))
    if section not in schemas:
        if section in entries:
            raise ConfigError(f"{label}: [{section}]: module '{section}' is not enabled or declares no "
                              f"settings: edit the file")
        close = closest(section, schemas)
        raise ConfigError(f"{label}: [{section}]: unknown section" + (f" (did you mean [{close}]?)" if close else ""))
    try:
        value = value_from_text(schemas[section], parts[1:], text)
    except ValueError as exc:
        raise ConfigError(f"{label}: {key}: {exc}") from None
    new_text = set_value(path, parts, value)
    found = check_text(new_text, path)
    mine = [p for p in found if p.startswith((f"{label}: {key}:", f"{label}: {key}.", f"{label}: {key}["))]
    if mine:
        raise ConfigError(mine[0])
    write_private(path, new_text.encode("utf-8"))
    return found
