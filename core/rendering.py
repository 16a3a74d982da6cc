"""The one jinja2 environment: plugin template folders, business overrides, locale-aware filters.

Lookup order: the business's override folder (``[templates] folder`` in ``crm.toml``, relative
to it), then each enabled module's folders (``register_template_dirs``). A template can extend
the one it overrides with the ``default:`` prefix (``{% extends "default:billing/invoice.html" %}``).
HTML and XML templates are autoescaped; text templates (``.txt``) are not. The environment is
sandboxed (an admin edits the override templates). Templates are written in English and
translated with ``{{ _("...") }}`` from ``i18n/<language>.po`` beside each template folder.

Filters, in the company's locale (``[company] locale``, French by default):
``money`` ("1 234,56 €"), ``date`` ("28 novembre 2026"), ``shortdate`` ("28/11/2026"),
``percent`` ("5,5 %"), ``number``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from core.errors import CrmError


def _day(value):
    """A date, also from the ISO text a JSON context carries."""
    import datetime as dt

    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _filters(locale: str, currency: str) -> dict:
    from babel.dates import format_date
    from babel.numbers import format_currency, format_decimal

    def money(value, currency_code: str | None = None):
        if value is None:
            return ""
        return format_currency(Decimal(value), currency_code or currency, locale=locale)

    def date(value, style: str = "long"):
        return "" if value is None else format_date(_day(value), format=style, locale=locale)

    def shortdate(value):
        return "" if value is None else format_date(_day(value), format="short", locale=locale)

    def percent(value):
        if value is None:
            return ""
        return f"{format_decimal(Decimal(value).normalize(), locale=locale)}\N{NO-BREAK SPACE}%"

    def number(value, places: int | None = None):
        if value is None:
            return ""
        value = Decimal(value)
        if places is not None:
            value = value.quantize(Decimal(1).scaleb(-places))
        return format_decimal(value, locale=locale, decimal_quantization=places is not None)

    return {"money": money, "date": date, "shortdate": shortdate, "percent": percent, "number": number}


def environment(app, *, locale: str | None = None):
    """The template environment for ``app`` (built once per locale and cached on the app)."""
    cache = app.__dict__.setdefault("_template_envs", {})
    locale = locale or app.config.company.locale
    if locale in cache:
        return cache[locale]
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    plugin_dirs: list[Path] = []
    for result in app.call("register_template_dirs"):
        plugin_dirs.extend(Path(p) for p in result)
    defaults = FileSystemLoader([str(p) for p in plugin_dirs])
    folder = app.config.section("templates").get("folder")
    overrides = [app.config.folder / folder] if folder else []
    loaders = [FileSystemLoader([str(p) for p in overrides])] if overrides else []
    loaders.append(defaults)
    # Sandboxed: an admin edits the override folder's templates, and a template must not reach
    # Python's internals (``{{ ''.__class__.__mro__ }}``) through the objects it is given.
    env = SandboxedEnvironment(
        loader=ChoiceLoader([*loaders, PrefixLoader({"default": defaults}, delimiter=":")]),
        autoescape=select_autoescape(enabled_extensions=("html", "xml", "htm", "svg"), default_for_string=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"], bytecode_cache=_bytecode_cache(),
    )
    env.catalog = translations([*overrides, *plugin_dirs], locale)
    env.install_gettext_callables(env.catalog.gettext, env.catalog.ngettext, newstyle=True)
    env.filters.update(_filters(locale, app.config.company.currency))
    env.globals["company"] = CompanyGlobal(app)
    env.globals["lang"] = locale.split("_")[0]
    env.globals["locale"] = locale
    cache[locale] = env
    return env


def _bytecode_cache():
    """Compiled templates kept between processes (a one-off ``crm invoice pdf`` does not compile the
    invoice's template again): jinja2's cache in a folder of the system's temporary directory that
    only this user may read (a stale entry is recompiled, its source's checksum no longer matching).
    None when no such folder can be had: templates then compile in each process."""
    from jinja2 import FileSystemBytecodeCache

    try:
        return FileSystemBytecodeCache(pattern="entonnoir-%s.cache")
    except (OSError, RuntimeError):
        return None


def asset_folders(app) -> list[Path]:
    """The folders a document's page may take files from: the workspace's override folder and
    every module's template folder (what ``register_template_dirs`` gives)."""
    cache = app.__dict__
    if "_asset_folders" not in cache:
        folders = [Path(p) for result in app.call("register_template_dirs") for p in result]
        folder = app.config.section("templates").get("folder")
        cache["_asset_folders"] = ([app.config.folder / folder] if folder else []) + folders
    return cache["_asset_folders"]


class CompanyGlobal:
    """``company`` in templates: the identity in the database (``crm company set``), read when first
    used, with the configured ``currency`` and ``locale``. A document that renders inside its own
    transaction passes ``company=`` in its context instead, which wins over this global."""

    def __init__(self, app):
        self._app = app

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("currency", "locale"):
            return getattr(self._app.config.company, name)
        from core.services.company import current

        data = current(self._app)
        if name not in data:
            raise AttributeError(name)
        return data[name]


def render(app, name: str, /, *, locale: str | None = None, **context) -> str:
    """Render template ``name`` (``billing/reminder.txt``) with ``context``."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        return environment(app, locale=locale).get_template(name).render(**context)
    except SecurityError as exc:
        raise CrmError(f"template {name}: refused by the sandbox: {exc}") from None
    except TemplateNotFound as exc:
        raise CrmError(f"template {exc.name!r} not found (enabled modules and the override folder)") from None
    except TemplateSyntaxError as exc:
        raise CrmError(f"template {exc.filename or name}: line {exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise CrmError(f"template {name}: {exc.message}") from None


class Catalog:
    """Translations of English source texts into one language, merged from every module's ``i18n/<lang>.po``.

    Templates and reports are written in English (``{{ _("Invoice") }}``); each module ships a
    PO file per language beside its templates. The override folder's PO files are read first,
    so a business can reword a single phrase without copying a template.
    """

    def __init__(self, messages: dict[str, str]):
        self.messages = messages

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def translations(folders, locale: str) -> Catalog:
    """The catalog for ``locale`` from ``<folder>/i18n/<language>.po`` (earlier folders win)."""
    from babel.messages.pofile import read_po

    language = locale.split("_")[0]
    messages: dict[str, str] = {}
    for folder in folders:
        path = Path(folder) / "i18n" / f"{language}.po"
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            try:
                catalog = read_po(handle, locale=language)
            except Exception as exc:  # noqa: BLE001 - a broken PO file is the admin's to fix
                raise CrmError(f"{path}: cannot read translations ({exc})") from None
        for entry in catalog:
            if entry.id and entry.string and isinstance(entry.id, str) and entry.id not in messages:
                messages[entry.id] = entry.string
    return Catalog(messages)


def gettext(app, locale: str | None = None):
    """``_`` for Python code (a report's labels), in ``locale`` or the company's."""
    return environment(app, locale=locale).catalog.gettext
