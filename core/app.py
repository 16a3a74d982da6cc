"""The application object: config, today's date, modules, database and hook calls.

An :class:`App` is built by a factory (the CLI, a test fixture), never at import time. Plugins
are imported the first time the plugin manager is needed, once.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
from contextlib import contextmanager
from functools import cached_property
from typing import Iterator

from core.config import Config
from core.errors import ConfigError, CrmError, HookError, ModuleError


def parse_today(value: str | None) -> dt.date | None:
    """Parse ``--today`` / ``CRM_TODAY`` (YYYY-MM-DD, from 2000-01-01 to 2099-12-31)."""
    from core.validators import FIRST_DATE, LAST_DATE

    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--today: {value!r} is not a date (expected YYYY-MM-DD)") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ConfigError(f"--today: {value} is out of range (business dates run from {FIRST_DATE} "
                          f"to {LAST_DATE})")
    return day


class App:
    """One running Entonnoir: what every service and hook receives as ``app``."""

    def __init__(self, config: Config, *, today: dt.date | None = None, entries=None, check_settings: bool = True):
        self.config = config
        self._today = today
        #: where :attr:`today` comes from, for ``crm whoami`` ("--today", "calendar"...)
        self.today_source = "--today" if today is not None else None
        #: check every section of the config when the modules load (off only to list commands cheaply)
        self.check_settings = check_settings
        #: who the services act for (core.security): identified from the connection on first need
        self.actor = None
        #: ``crm --as LOGIN``: act as this user (needs core.impersonate)
        self.as_login: str | None = None
        #: the command line being run, for the audit trail
        self.command: str | None = None
        if entries is not None:
            self.__dict__["entries"] = entries

    # --- time -----------------------------------------------------------------------------
    @property
    def today(self) -> dt.date:
        """The business date: ``--today``, else ``CRM_TODAY``, else the workspace's own day
        (``[workspace] today`` in crm.toml), else the calendar date.

        Every time-based decision reads it from here so a period can be replayed day by day.
        """
        if self._today is None:
            self._today, self.today_source = self._default_today()
        return self._today

    def _default_today(self) -> tuple[dt.date, str]:
        if os.environ.get("CRM_TODAY"):
            return parse_today(os.environ["CRM_TODAY"]), "$CRM_TODAY"
        if "workspace" in self.config.sections:
            day = parse_today(self.config.section("workspace").get("today"))
            if day is not None:
                return day, f"workspace.today in {self.config.label}"
        return dt.date.today(), "calendar"

    # --- modules --------------------------------------------------------------------------
    @cached_property
    def entries(self):
        """Every installed module (enabled or not), from the entry points, none imported."""
        from core.modules import discover

        return discover()

    @cached_property
    def modules(self) -> list[str]:
        """The enabled modules in dependency order (validated)."""
        from core.modules import resolve_order

        return resolve_order(self.entries, self.config.enabled)

    @cached_property
    def pm(self):
        """The pluggy plugin manager with the enabled modules registered (imported on first use)."""
        from core.modules import build_plugin_manager

        pm = build_plugin_manager(self.entries, self.modules)
        if self.check_settings:
            # Every section is checked against its module's schema as the modules load, so a
            # typo stops every command with its real cause (core.settings); a file that checked
            # clean with this same code is not checked again (core.configmemo).
            from core import configmemo

            if configmemo.still_valid(self.config, self.entries):
                return pm
            self.__dict__["pm"] = pm
            try:
                from core.settings import validate

                validate(self)
            except BaseException:
                del self.__dict__["pm"]
                raise
            configmemo.remember(self.config, self.entries, self.modules)
        return pm

    def settings(self, section: str) -> dict:
        """Section ``section`` of the config, checked by its schema, with its defaults."""
        self.pm  # the modules' schemas are attached as they load
        return self.config.section(section)

    def is_enabled(self, name: str) -> bool:
        return name in self.config.enabled

    def call(self, hook: str, **kwargs):
        """Call a hook on every enabled plugin; a failure names the plugin and rolls back.

        :returns: the list of non-None results (pluggy's rule).
        """
        caller = getattr(self.pm.hook, hook)
        try:
            return caller(**kwargs)
        except HookError:
            raise
        except Exception as exc:
            raise HookError(self._culprit(caller, exc), hook, exc) from exc

    def call_one(self, module: str, hook: str, **kwargs):
        """Call a hook on one module only (``install`` runs on the module being enabled)."""
        others = [p for p in self.pm.get_plugins() if self.pm.get_name(p) != module]
        caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
        try:
            return caller(**kwargs)
        except (HookError, ModuleError):
            raise
        except Exception as exc:
            raise HookError(module, hook, exc) from exc

    def gather(self, hook: str, kind: type, label: str) -> dict:
        """Call a ``register_*(register)`` hook on each module and index what they register by name.

        Each item must be an instance of ``kind`` with a ``name``; a name registered twice is an
        error naming both modules (``label`` says what the items are, for the message).
        """
        from core.errors import ModuleError

        items: dict = {}
        owners: dict[str, str] = {}
        for module in ["core", *self.modules]:
            def register(item, _module=module):
                if not isinstance(item, kind):
                    raise ModuleError(f"module '{_module}' registered {item!r}, not a {kind.__name__}")
                if item.name in items:
                    raise ModuleError(f"{label} '{item.name}' is registered by both "
                                      f"'{owners[item.name]}' and '{_module}'")
                items[item.name] = item
                owners[item.name] = _module

            self.call_one(module, hook, register=register)
        return items

    @staticmethod
    def _culprit(caller, exc: BaseException) -> str:
        """The plugin whose implementation is on the traceback of ``exc``."""
        codes = {}
        for impl in caller.get_hookimpls():
            codes[inspect.unwrap(impl.function).__code__] = impl.plugin_name
        tb = exc.__traceback__
        while tb is not None:
            name = codes.get(tb.tb_frame.f_code)
            if name:
                return name
            tb = tb.tb_next
        return "unknown"

    # --- database -------------------------------------------------------------------------
    @cached_property
    def engine(self):
        from core.db import make_engine

        return make_engine(self.config.database_url)

    @cached_property
    def _sessionmaker(self):
        from sqlalchemy.orm import sessionmaker

        from core import audit, security

        factory = sessionmaker(bind=self.engine, expire_on_commit=False, info={"app": self})
        audit.install(self, factory)  # every flushed change goes into the trail, same transaction
        security.install_record_rules(self, factory)  # own/team roles see their records only
        return factory

    def session(self):
        """A new session (the caller owns its transaction)."""
        return self._sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator:
        """One unit of work: commits if the block succeeds, rolls everything back if it raises."""
        session = self.session()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


__all__ = ["App", "CrmError", "parse_today"]
