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
    for function in spec_functions():
        doc = inspect.getdoc(function) or ""
        rows.append({
            "name": function.__name__,
            "arguments": list(inspect.signature(function).parameters),
            "summary": doc.splitlines()[0] if doc else "",
            "implemented_by": implementers.get(function.__name__, []),
        })
    return rows
