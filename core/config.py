"""``crm.toml``: enabled modules, database, the company's locale and currency; environment overrides.

The company's legal identity (name, address, SIREN, RCS...) is data in the database
(``core_company``, ``crm company set``), not configuration. Older files that still carry it in
``[company]`` are accepted: those keys are read once, by ``crm migrate``, to fill the database
row (``Company.legacy``), and ignored afterwards.

Lookup order for the file: ``--config PATH``, then ``CRM_CONFIG``, then ``./crm.toml``.
``CRM_DATABASE_URL`` overrides ``database.url``. A relative SQLite path is relative to the
config file's folder. Sections other than the kernel's belong to plugins (``[billing]``...)
and are handed to them as they are.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError

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
    """A loaded configuration. ``path`` is None for an in-memory config (tests, ``crm init``)."""

    path: Path | None
    enabled: list[str] = field(default_factory=list)
    database_url: str = "sqlite:///crm.db"
    company: Company = field(default_factory=Company)
    sections: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def section(self, name: str) -> dict:
        """A plugin's own section (``[billing]``...), empty if absent."""
        return self.sections.get(name, {})


def _flatten(messages, prefix=""):
    for key, value in messages.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, dotted + ".")
        else:
            text = value[0] if isinstance(value, list) else value
            if text == "Unknown field.":
                text = "unknown key"
            yield dotted, str(text).rstrip(".")


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


def parse_config(text: str, path: Path | None) -> Config:
    """Parse and validate the text of a config file; errors name the key."""
    label = path.name if path else CONFIG_NAME
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None
    from marshmallow import ValidationError as SchemaError

    from core.configschema import ConfigSchema

    kernel = {key: raw[key] for key in ("modules", "database", "company") if key in raw}
    try:
        data = ConfigSchema().load(kernel)
    except SchemaError as exc:
        key, message = next(_flatten(exc.messages))
        raise ConfigError(f"{label}: {key}: {message}") from None
    enabled = data["modules"]["enabled"]
    duplicates = sorted({name for name in enabled if enabled.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{label}: modules.enabled: {', '.join(duplicates)} listed twice")
    company = dict(data["company"])
    legacy = {key: company.pop(key) for key in LEGACY_COMPANY_KEYS if key in company}
    config = Config(path=path, enabled=list(enabled), company=Company(**company, legacy=legacy),
                    sections={k: v for k, v in raw.items() if k not in kernel})
    url = os.environ.get("CRM_DATABASE_URL") or data["database"]["url"]
    config.database_url = resolve_database_url(url, config.folder)
    return config


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """Find, read and validate the config file."""
    path = find_config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no configuration at {path}: run `crm init` there, or pass --config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_config(text, path)


def peek_enabled(explicit: str | os.PathLike | None = None) -> Config | None:
    """A config holding only the enabled modules, read without validating the rest.

    For building the command list (``crm --help``) cheaply: the command that runs then loads and
    validates the whole file. None when there is no readable file.
    """
    path = find_config_path(explicit)
    try:
        enabled = tomllib.loads(path.read_text(encoding="utf-8")).get("modules", {}).get("enabled", [])
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
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
    tmp.replace(path)


def default_config_text(database_url: str = "sqlite:///crm.db", locale: str = "fr_FR") -> str:
    """The text ``crm init`` writes (the identity goes to the database)."""
    import json

    return DEFAULT_CONFIG.format(database_url=json.dumps(database_url), locale=json.dumps(locale))
