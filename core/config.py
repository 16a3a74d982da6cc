"""``crm.toml``: enabled modules, database, the company's locale and currency; environment overrides.

The company's legal identity (name, address, SIREN, RCS...) is data in the database
(``core_company``, ``crm company set``), not configuration. Older files that still carry it in
``[company]`` are accepted: those keys are read once, by ``crm migrate``, to fill the database
row (``Company.legacy``), and ignored afterwards.

Lookup order for the file: ``--config PATH``, then ``CRM_CONFIG``, then ``./crm.toml``.
``CRM_DATABASE_URL`` overrides ``database.url``. A relative SQLite path is relative to the
config file's folder. Every section is checked when the config loads: the kernel's by
:mod:`core.configschema`, a module's by the schema it declares (``register_settings``), see
:mod:`core.settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from core.files import write_private

CONFIG_NAME = "crm.toml"

DEFAULT_CONFIG = """\
# Entonnoir configuration. Edit by hand or with `crm modules enable|disable`.

[modules]
# Modules loaded by this installation; `crm modules list` shows what is installed.
enabled = []

[database]
# SQLite file beside this config by default; for a team, a PostgreSQL URL such as
# postgresql://crm@db.example.com/crm (or set CRM_DATABASE_URL).
url = {database_url}

[company]
# The company's identity (name, address, SIREN, RCS, VAT number, IBAN...) is kept in the database:
# see `crm company show` and `crm company set --help`.
currency = "EUR"
locale = {locale}
"""

#: the identity keys ``[company]`` used to hold (now ``crm company set``): accepted, deprecated
LEGACY_COMPANY_KEYS = ("name", "siren", "vat_number", "street", "postal_code", "city", "country")


@dataclass
class Company:
    """The company's configuration: the currency it invoices in and the language staff read.

    ``legacy``: identity keys an older ``crm.toml`` still carries (deprecated; ``crm migrate``
    copies them into the database once, see :mod:`core.services.company`).
    """

    currency: str = "EUR"
    locale: str = "fr_FR"
    legacy: dict = field(default_factory=dict)


@dataclass
class Config:
    """A loaded configuration. ``path`` is None for an in-memory config (tests, ``crm init``).

    ``sections`` holds the other sections as the file has them (``[billing]``, ``[notifications]``);
    ``schemas`` the schema of each section the kernel or an enabled module declared, so that
    :meth:`section` returns the section checked and with its defaults.
    """

    path: Path | None
    enabled: list[str] = field(default_factory=list)
    database_url: str = "sqlite:///crm.db"
    company: Company = field(default_factory=Company)
    sections: dict = field(default_factory=dict)
    schemas: dict = field(default_factory=dict, repr=False)
    _checked: dict = field(default_factory=dict, repr=False, compare=False)
    #: the file's text this config was read from (for :mod:`core.configmemo`); not an argument, so
    #: a config made from another (``dataclasses.replace``: other modules enabled) reads from no text
    text: str | None = field(default=None, init=False, repr=False, compare=False)
    #: recalled from :mod:`core.configmemo`: the installed modules the file was checked with (not
    #: carried over by ``replace`` either: a changed config is checked again)
    checked_with: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def label(self) -> str:
        """How errors name the file (``crm.toml``)."""
        return self.path.name if self.path else CONFIG_NAME

    def section(self, name: str) -> dict:
        """A section (``[billing]``...), checked by its schema with its defaults; empty if absent.

        :raises ConfigError: the section breaks its schema (the first problem, naming the key).
        """
        raw = self.sections.get(name, {})
        checked = self._checked.get(name)
        if checked is not None and checked[0] == raw:
            return checked[1]
        schema = self.schemas.get(name)
        if schema is None:
            return raw
        from core.configschema import check_section

        data, problems = check_section(self.label, name, schema, raw)
        if problems:
            raise ConfigError(problems[0])
        self.remember(name, raw, data)
        return data

    def remember(self, name: str, raw: dict, data: dict) -> None:
        """Keep ``data`` as the checked form of section ``name`` while it reads ``raw``."""
        import copy

        self._checked[name] = (copy.deepcopy(raw), data)


def find_config_path(explicit: str | os.PathLike | None = None) -> Path:
    """The config file to use: explicit path, ``CRM_CONFIG``, or ``./crm.toml``."""
    if explicit:
        return Path(explicit)
    if os.environ.get("CRM_CONFIG"):
        return Path(os.environ["CRM_CONFIG"])
    return Path.cwd() / CONFIG_NAME


def resolve_database_url(url: str, folder: Path) -> str:
    """Make a relative SQLite path relative to the config's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://" \
            and not url.startswith(prefix + ":memory:"):
        return prefix + str((folder / url[len(prefix):]).resolve())
    return url


SUPPORTED_DATABASES = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgresql": "postgresql",
                       "postgres": "postgresql", "postgresql+psycopg": "postgresql"}


def check_database_url(url: str) -> str:
    """``url`` if it names a database Entonnoir runs on (SQLite or PostgreSQL through psycopg 3).

    :raises ConfigError: another database, or not a URL (the message never repeats a password).
    """
    scheme, separator, _ = str(url).partition("://")
    if not separator or not scheme:
        raise ConfigError(f"{url.split('@')[-1]!r} is not a database URL "
                          f"(expected sqlite:///crm.db or postgresql://user@host/db)")
    if scheme.lower() not in SUPPORTED_DATABASES:
        raise ConfigError(f"unsupported database {scheme!r}: only sqlite (sqlite:///crm.db) and postgresql "
                          f"(postgresql://user@host/db) are supported")
    return url


def read_config(text: str, path: Path | None) -> tuple[Config, list[str]]:
    """Parse the text of a config file and check the kernel's sections.

    :returns: the config (a section with a problem takes its defaults) and every problem found,
        each one line naming the dotted key.
    """
    import tomllib

    from core.configschema import CORE_SECTIONS, check_section, kernel_schemas

    label = path.name if path else CONFIG_NAME
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None
    problems: list[str] = []
    data = {}
    for name, schema in CORE_SECTIONS.items():
        loaded, found = check_section(label, name, schema(), raw.get(name, {}))
        problems += found
        data[name] = loaded if loaded is not None else schema().load({})
    enabled = data["modules"]["enabled"]
    duplicates = sorted({name for name in enabled if enabled.count(name) > 1})
    if duplicates:
        problems.append(f"{label}: modules.enabled: {', '.join(duplicates)} listed twice")
    company = dict(data["company"])
    legacy = {key: company.pop(key) for key in LEGACY_COMPANY_KEYS if key in company}
    config = Config(path=path, enabled=list(dict.fromkeys(enabled)), company=Company(**company, legacy=legacy),
                    sections={k: v for k, v in raw.items() if k not in CORE_SECTIONS},
                    schemas=kernel_schemas())
    for name, schema in config.schemas.items():
        if name in config.sections:
            loaded, found = check_section(label, name, schema, config.sections[name])
            problems += found
    url = data["database"]["url"]
    if os.environ.get("CRM_DATABASE_URL"):
        url = os.environ["CRM_DATABASE_URL"]
        try:
            check_database_url(url)
        except ConfigError as exc:
            problems.append(f"$CRM_DATABASE_URL: {exc}")
    config.database_url = resolve_database_url(url, config.folder)
    return config, problems


def parse_config(text: str, path: Path | None) -> Config:
    """Parse and validate the text of a config file; the first problem is raised, naming the key."""
    config, problems = read_config(text, path)
    if problems:
        raise ConfigError(more(problems))
    return config


def more(problems: list[str]) -> str:
    """The first problem, and how many others ``crm config check`` would list."""
    rest = len(problems) - 1
    if not rest:
        return problems[0]
    return f"{problems[0]} (and {rest} more problem{'s' if rest > 1 else ''}: `crm config check` lists them)"


def read_text(path: Path) -> str:
    """The text of the config file at ``path``; a missing or unreadable file is a :class:`ConfigError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no configuration at {path}: run `crm init` there, or pass --config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """Find, read and validate the config file (or take it as it last checked clean, see
    :mod:`core.configmemo`)."""
    from core import configmemo

    path = find_config_path(explicit)
    text = read_text(path)
    config = configmemo.recall(path, text)
    if config is None:
        config = parse_config(text, path)
        config.text = text
    return config


def peek_enabled(explicit: str | os.PathLike | None = None) -> Config | None:
    """A config holding at least the enabled modules, read without validating the rest.

    For building the command list (``crm --help``) cheaply: the command that runs then loads and
    validates the whole file. The config as it last checked clean when it is remembered
    (:mod:`core.configmemo`), else one read from the ``[modules]`` table alone. None when there is
    no readable file.
    """
    from core import configmemo

    path = find_config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
        remembered = configmemo.recall(path, text)
        if remembered is not None:
            return remembered
        import tomllib

        enabled = tomllib.loads(text).get("modules", {}).get("enabled", [])
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(enabled, list) or not all(isinstance(name, str) for name in enabled):
        return None
    return Config(path=path, enabled=list(dict.fromkeys(enabled)))


def write_enabled(path: Path, enabled: list[str]) -> None:
    """Rewrite ``modules.enabled`` in place, keeping the admin's comments and layout."""
    import tomlkit

    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    if "modules" not in document:
        document["modules"] = tomlkit.table()
    array = tomlkit.array()
    array.extend(enabled)
    document["modules"]["enabled"] = array
    write_private(path, tomlkit.dumps(document).encode("utf-8"))


def set_value(path: Path, dotted: list[str], value) -> str:
    """The text of the config file at ``path`` with ``dotted`` (section, [table,] key) set to ``value``.

    tomlkit keeps the admin's comments, order and layout; a missing section or table is added.
    """
    import tomlkit

    document = tomlkit.parse(read_text(path))
    table = document
    for key in dotted[:-1]:
        if key not in table:
            table[key] = tomlkit.table()
        table = table[key]
    table[dotted[-1]] = value
    return tomlkit.dumps(document)


def default_config_text(database_url: str = "sqlite:///crm.db", locale: str = "fr_FR") -> str:
    """The text ``crm init`` writes (the identity goes to the database)."""
    import json

    return DEFAULT_CONFIG.format(database_url=json.dumps(database_url), locale=json.dumps(locale))
