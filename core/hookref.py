"""The hook reference: every spec of ``core.hookspecs`` with its documentation and implementers."""

from __future__ import annotations

import inspect

from core import hookspecs


def spec_functions() -> list:
    """The hook spec functions, in the order they are declared."""
    functions = [obj for obj in vars(hookspecs).values()
                 if inspect.isfunction(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")]
    return sorted(functions, key=lambda f: f.__code__.co_firstlineno)


def hook_table(app=None) -> list[dict]:
    """One row per hook: name, arguments, summary line, and the enabled modules implementing it."""
    implementers: dict[str, list[str]] = {}
    if app is None:  # no workspace: the kernel's own implementations are still there
        from core.modules import build_plugin_manager

        pm = build_plugin_manager({}, [])
    else:
        pm = app.pm
    for name in dir(pm.hook):
        caller = getattr(pm.hook, name)
        if hasattr(caller, "get_hookimpls"):
            implementers[name] = sorted({impl.plugin_name for impl in caller.get_hookimpls()})
    rows = []
    for offered_by, function in [*(("core", f) for f in spec_functions()), *module_specs(pm, app)]:
        doc = inspect.getdoc(function) or ""
        rows.append({
            "name": function.__name__,
            "arguments": list(inspect.signature(function).parameters),
            "summary": doc.splitlines()[0] if doc else "",
            "offered_by": offered_by,
            "implemented_by": implementers.get(function.__name__, []),
        })
    return rows


def module_specs(pm, app=None) -> list[tuple[str, object]]:
    """``(module, spec function)`` of the hooks modules offer each other (billing's ``payment_recorded``...)."""
    kernel = {f.__name__ for f in spec_functions()}
    packages = {entry.target: name for name, entry in (app.entries.items() if app is not None else [])}
    found = []
    for name in dir(pm.hook):
        caller = getattr(pm.hook, name)
        spec = getattr(caller, "spec", None)
        if spec is None or name in kernel:
            continue
        namespace = getattr(spec.namespace, "__name__", "")
        module = next((m for package, m in packages.items() if namespace.startswith(package + ".")),
                      namespace.rsplit(".", 2)[-2] if namespace.count(".") >= 2 else namespace)
        found.append((module, spec.function))
    return sorted(found, key=lambda item: (item[0], item[1].__code__.co_firstlineno))


def _builtin_pm():
    """A plugin manager with the modules shipped with Entonnoir (loaded in memory, none enabled)."""
    from core.modules import build_plugin_manager, discover

    entries = {name: entry for name, entry in discover().items() if entry.distribution == "entonnoir"}
    return build_plugin_manager(entries, sorted(entries))


def builtin_implementers() -> dict[str, list[str]]:
    """Which modules shipped with Entonnoir implement each hook."""
    pm = _builtin_pm()
    found: dict[str, list[str]] = {}
    for name in dir(pm.hook):
        caller = getattr(pm.hook, name)
        if hasattr(caller, "get_hookimpls"):
            found[name] = sorted({impl.plugin_name for impl in caller.get_hookimpls()})
    return found


def _inline(text: str) -> str:
    """reStructuredText inline markup to Markdown."""
    return text.replace(":class:`", "`").replace("``", "`")


def _doc_to_markdown(doc: str) -> list[str]:
    """Docstring text to Markdown: ``:param x:`` lines become a list, ``::`` blocks code blocks."""
    out: list[str] = []
    lines = doc.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.endswith("::"):
            lead = stripped[:-2].rstrip()
            out += ([f"**{lead}**"] if lead == "Example" else [_inline(lead) + ":"]) if lead else []
            out += ["", "```python"]
            index += 1
            block: list[str] = []
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith("    ")):
                block.append(lines[index][4:])
                index += 1
            while block and not block[0].strip():
                block.pop(0)
            while block and not block[-1].strip():
                block.pop()
            out += block + ["```", ""]
            continue
        if stripped.startswith(":param "):
            name, _, text = stripped[len(":param "):].partition(":")
            out.append(f"- `{name.strip()}`: {_inline(text.strip())}")
        elif stripped.startswith(":returns:"):
            out.append(f"- **returns**: {_inline(stripped[len(':returns:'):].strip())}")
        elif line.startswith("    ") and out and out[-1].startswith("- "):
            out[-1] += " " + _inline(stripped)
        else:
            out.append(_inline(line))
        index += 1
    while out and not out[-1].strip():
        out.pop()
    return out


def markdown() -> str:
    """``docs/hooks.md``: every hook's documentation, arguments and built-in implementers."""
    implementers = builtin_implementers()
    lines = ["# Hook reference", "",
             "Generated from `core/hookspecs.py` by `crm hooks --markdown > docs/hooks.md`; a test fails when",
             "this file is out of date. Do not edit it by hand.", ""]
    lines += _doc_to_markdown(inspect.getdoc(hookspecs) or "")
    for function in spec_functions():
        arguments = ", ".join(inspect.signature(function).parameters)
        built_in = [name for name in implementers.get(function.__name__, [])]
        lines += ["", f"## `{function.__name__}({arguments})`", "",
                  f"*Implemented by:* {', '.join(f'`{n}`' for n in built_in) if built_in else 'no built-in module yet'}",
                  ""]
        lines += _doc_to_markdown(inspect.getdoc(function) or "")
    offered = module_specs(_builtin_pm())
    if offered:
        lines += ["", "# Hooks offered by modules", "",
                  "A module may declare hooks of its own (a `hookspecs` submodule); a module implementing them",
                  "names the offering module in its manifest's `depends`."]
    for module, function in offered:
        arguments = ", ".join(inspect.signature(function).parameters)
        built_in = [name for name in implementers.get(function.__name__, [])]
        lines += ["", f"## `{function.__name__}({arguments})` — offered by `{module}`", "",
                  f"*Implemented by:* {', '.join(f'`{n}`' for n in built_in) if built_in else 'no built-in module yet'}",
                  ""]
        lines += _doc_to_markdown(inspect.getdoc(function) or "")
    return "\n".join(lines).rstrip() + "\n"
