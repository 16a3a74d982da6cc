"""One exception family for everything a person may need to read.

The CLI turns a :class:`CrmError` into one line on stderr and a non-zero exit status; anything
else is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class CrmError(Exception):
    """An error meant for the operator: its text says what is wrong and, if it can, what is right."""

    exit_code = 1


class ConfigError(CrmError):
    """The configuration file is missing, unreadable or holds a bad value (the key is named)."""


class ValidationError(CrmError):
    """Input refused; ``record`` and ``field`` say where, so the message can name them.

    ``errors`` keeps every problem found as ``(record, field, message)`` when there are several
    (an import lists every bad row, not just the first).
    """

    def __init__(self, message: str, *, record: str | None = None, field: str | None = None,
                 errors: list[tuple[str | None, str | None, str]] | None = None):
        self.record = record
        self.field = field
        self.errors = errors or [(record, field, message)]
        where = ": ".join(part for part in (record, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class NotFound(CrmError):
    """A record asked for by id, code or name does not exist."""


class StateError(CrmError):
    """A transition is not allowed from the record's current state."""


class ModuleError(CrmError):
    """A module cannot be found, loaded, enabled or disabled (the modules are named)."""


class HookError(CrmError):
    """A plugin's hook implementation raised; the operation was rolled back.

    ``plugin`` and ``hook`` name the culprit; ``__cause__`` holds the original exception.
    """

    def __init__(self, plugin: str, hook: str, error: BaseException):
        self.plugin = plugin
        self.hook = hook
        self.error = error
        detail = str(error) or type(error).__name__
        super().__init__(f"plugin '{plugin}' failed in hook '{hook}': {detail}")
