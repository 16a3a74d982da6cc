"""Extension fields: modules add fields to records they do not own (the Odoo way).

A module declares, through the ``register_fields(register)`` hook, an :class:`Extension` of an
entity (``partner``, ``product``, ``order``... or an entity another module made
:class:`Extensible`, such as billing's ``invoice``): the fields it adds, stored in **its own
table** (one row per record, keyed by the record's id, created by its migration), optional
read-only :class:`Computed` fields (one SQL query for a whole list), and an optional ``check``
that may refuse a change of the record in the change's transaction.

Everything that shows, takes or prints a record asks this module: the CLI's ``--set
module.field=value``, ``show``/``list``/``--json`` (nested under the module's name), CSV import and
export (``module.field`` columns), documents (``extensions.module.field``), and
:func:`entity_schema` gives the marshmallow schema of an entity with its extensions for any
other door. The kernel's tables never change shape: a disabled module's table keeps its rows,
and they are back when it is enabled again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from core.errors import CrmError, ModuleError, ValidationError

if TYPE_CHECKING:  # marshmallow is imported where a schema is built (a list without extensions needs none)
    from marshmallow import Schema
    from marshmallow import fields as mfields

#: the kernel's extensible entities: name -> table
KERNEL_ENTITIES = {"partner": "core_partner", "contact": "core_contact", "product": "core_product",
                   "order": "core_sales_order", "order_line": "core_sales_order_line", "user": "core_user",
                   "team": "core_team"}


@dataclass(frozen=True)
class Extensible:
    """An entity whose records other modules may extend (``Extensible("invoice", "billing_invoice")``).

    :param name: the entity's word (``invoice``), what extensions name.
    :param table: its table, whose ``id`` the extension tables are keyed by.
    """

    name: str
    table: str


@dataclass(frozen=True)
class Field:
    """One stored extension field.

    :param name: the field's name within the module (``limit``); shown as ``module.name``.
    :param field: the marshmallow field: type, validation, default, choices (``validate=OneOf``).
    :param label: ``{"en": ..., "fr": ...}``; the company's language is shown, English otherwise.
    :param help: ``{"en": ..., "fr": ...}``: what the field means (``--help``, the hook reference).
    :param required: a record cannot be created without it.
    :param listed: shown as a column by ``list`` commands (always in ``show`` and ``--json``).
    :param searchable: a ``list --where module.field=value`` may filter on it.
    :param printed: handed to documents (``extensions.module.field`` in templates).
    :param column: the column of the module's table (default: ``name``).
    """

    name: str
    field: mfields.Field
    label: dict = field(default_factory=dict)
    help: dict = field(default_factory=dict)
    required: bool = False
    listed: bool = False
    searchable: bool = False
    printed: bool = False
    column: str | None = None


@dataclass(frozen=True)
class Computed:
    """A read-only field computed in SQL for a whole set of records at once.

    :param query: ``query()`` returns a SQLAlchemy select of two labelled columns, ``record_id``
        and ``value``, for every record that has a value (the kernel outer-joins it: one query
        for a list of 100,000 rows, never one per row).
    :param field: the marshmallow field that dumps the value (``fields.Decimal(as_string=True)``).
    """

    name: str
    query: Callable
    field: mfields.Field
    label: dict = field(default_factory=dict)
    help: dict = field(default_factory=dict)
    listed: bool = False
    printed: bool = False


@dataclass
class Extension:
    """A module's fields on one entity, stored in the module's own table.

    :param entity: the extended entity (``partner``).
    :param table: the module's table (a SQLAlchemy ``Table`` or mapped class), one row per record.
    :param key: its column holding the record's id (unique; ``ondelete="CASCADE"``).
    :param fields: the stored :class:`Field` items.
    :param computed: the read-only :class:`Computed` fields.
    :param check: ``check(app, session, record, changes)`` called after a change of the record
        (its own fields or any extension's), in the change's transaction; ``changes`` is
        ``{"name": (old, new), "module.field": (old, new)}``. Raise :class:`core.errors.CrmError`
        to refuse: the command is rolled back and the message names the module.
    """

    entity: str
    table: Any
    key: str
    fields: tuple = ()
    computed: tuple = ()
    check: Callable | None = None
    module: str = ""

    @property
    def sql_table(self):
        return getattr(self.table, "__table__", self.table)

    def column(self, item: Field):
        return self.sql_table.c[item.column or item.name]

    def schema(self) -> Schema:
        """The marshmallow schema of this module's stored fields."""
        from marshmallow import Schema

        return Schema.from_dict({f.name: _copy(f.field, f.required) for f in self.fields},
                                name=f"{self.module}_{self.entity}")()


def _copy(field_: mfields.Field, required: bool) -> mfields.Field:
    import copy

    clone = copy.copy(field_)
    clone.required = required or clone.required
    if not clone.required:
        clone.allow_none = True
    return clone


@dataclass
class Registry:
    """What the enabled modules declared: extensible entities and their extensions."""

    entities: dict[str, str]
    extensions: dict[str, list[Extension]]

    def of(self, entity: str) -> list[Extension]:
        return self.extensions.get(entity, [])


def registry(app) -> Registry:
    """Call ``register_fields`` on the kernel and each enabled module (once per app), checked."""
    if "_extensions" in app.__dict__:
        return app.__dict__["_extensions"]
    entities = dict(KERNEL_ENTITIES)
    found: list[Extension] = []
    for module in ["core", *app.modules]:
        def register(item, _module=module):
            if isinstance(item, Extensible):
                if item.name in entities:
                    raise ModuleError(f"module '{_module}' declares entity '{item.name}' extensible, "
                                      f"but it already is")
                entities[item.name] = item.table
            elif isinstance(item, Extension):
                item.module = _module
                found.append(item)
            else:
                raise ModuleError(f"module '{_module}' registered {item!r}, not an Extension or Extensible")

        app.call_one(module, "register_fields", register=register)
    extensions: dict[str, list[Extension]] = {}
    for item in found:
        if item.entity not in entities:
            raise ModuleError(f"module '{item.module}' extends '{item.entity}', which no enabled module "
                              f"declares extensible (known: {', '.join(sorted(entities))})")
        if any(other.module == item.module for other in extensions.get(item.entity, [])):
            raise ModuleError(f"module '{item.module}' extends '{item.entity}' twice")
        names = [f.name for f in (*item.fields, *item.computed)]
        if len(set(names)) != len(names):
            raise ModuleError(f"module '{item.module}' declares a field of '{item.entity}' twice")
        extensions.setdefault(item.entity, []).append(item)
    app.__dict__["_extensions"] = result = Registry(entities, extensions)
    return result


def of(app, entity: str) -> list[Extension]:
    """The enabled modules' extensions of ``entity``."""
    return registry(app).of(entity)


def entity_schema(app, entity: str, base: type[Schema] | None = None) -> type[Schema]:
    """The marshmallow schema of ``entity`` with its extensions nested by module (for any door)."""
    from marshmallow import Schema
    from marshmallow import fields as mfields

    nested = {ext.module: mfields.Nested(type(ext.schema()), required=False) for ext in of(app, entity)}
    if base is None:
        return Schema.from_dict(nested, name=f"{entity}_extensions")
    return type(f"{base.__name__}WithExtensions", (base,), nested)


def label(app, item) -> str:
    language = (app.config.company.locale or "en")[:2]
    return item.label.get(language) or item.label.get("en") or item.name


# --- input ----------------------------------------------------------------------------------------

def parse_assignments(app, entity: str, items, record: str | None = None) -> dict[str, dict[str, str]]:
    """``["credit_hold.limit=5000"]`` (``--set``) into ``{"credit_hold": {"limit": "5000"}}``, names checked."""
    known = {(ext.module, f.name) for ext in of(app, entity) for f in ext.fields}
    readonly = {(ext.module, c.name) for ext in of(app, entity) for c in ext.computed}
    values: dict[str, dict[str, str]] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        module, dot, field_name = name.strip().partition(".")
        if not sep or not dot:
            raise ValidationError(f"{item!r}: expected MODULE.FIELD=VALUE", record=record, field="--set")
        if (module, field_name) in readonly:
            raise ValidationError("is computed, it cannot be set", record=record, field=f"{module}.{field_name}")
        if (module, field_name) not in known:
            choices = ", ".join(sorted(f"{m}.{f}" for m, f in known)) or "none: no enabled module extends it"
            raise ValidationError(f"no such field of {entity} (fields: {choices})", record=record,
                                  field=f"{module}.{field_name}")
        # an empty value clears the field (``--set credit_hold.limit=``)
        values.setdefault(module, {})[field_name] = value if value.strip() else None
    return values


def load(app, entity: str, raw: dict | None, record: str | None, *, creating: bool) -> dict[str, dict]:
    """Validate extension values, each with its module's schema; an error names ``module.field``.

    On creation every extending module gets its row (its defaults, its required fields checked);
    on a change only the modules and fields given are validated and written.
    """
    from marshmallow import ValidationError as SchemaError

    raw = raw or {}
    data: dict[str, dict] = {}
    for ext in of(app, entity):
        given = raw.get(ext.module)
        if not creating and not given:
            continue
        try:
            data[ext.module] = ext.schema().load(given or {}, partial=not creating)
        except SchemaError as exc:
            from core.schemas import flatten_messages

            problems = list(flatten_messages(exc.messages, f"{ext.module}."))
            name, message = problems[0]
            raise ValidationError(message, record=record, field=name,
                                  errors=[(record, f, m) for f, m in problems]) from None
    return data


def save(app, session, entity: str, record, values: dict[str, dict], *, changes: dict | None = None) -> dict:
    """Write ``values`` to each module's table for ``record``, then run every module's ``check``.

    Called by the record's service inside its transaction, after the record itself was flushed.
    ``changes`` are the record's own changed fields; the extension changes are added to them.

    :returns: ``{"module.field": (old, new)}`` for the extension fields that changed.
    """
    from sqlalchemy import select

    changed: dict = {}
    for ext in of(app, entity):
        if ext.module not in values:
            continue
        table, key = ext.sql_table, ext.sql_table.c[ext.key]
        wanted = values[ext.module]
        stored = {f.name: ext.column(f) for f in ext.fields if f.name in wanted}
        row = session.execute(select(*stored.values()).where(key == record.id)).first() if stored else None
        if stored and row is None:
            insert_values = {key.name: record.id, **{c.name: wanted[n] for n, c in stored.items()}}
            session.execute(table.insert().values(**insert_values))
            changed.update({f"{ext.module}.{n}": (None, wanted[n]) for n in stored if wanted[n] is not None})
        elif stored:
            old = dict(zip(stored, row))
            diff = {n: wanted[n] for n in stored if old[n] != wanted[n]}
            if diff:
                session.execute(table.update().where(key == record.id)
                                .values(**{stored[n].name: v for n, v in diff.items()}))
                changed.update({f"{ext.module}.{n}": (old[n], v) for n, v in diff.items()})
    run_checks(app, session, entity, record, {**(changes or {}), **changed})
    return changed


def run_checks(app, session, entity: str, record, changes: dict) -> None:
    """Ask each extending module's ``check`` whether the change may stand; a refusal names the module."""
    if not changes:
        return
    for ext in of(app, entity):
        if ext.check is None:
            continue
        try:
            ext.check(app, session, record, changes)
        except CrmError as exc:
            raise Refused(ext.module, describe(entity, record), exc) from exc


class Refused(ValidationError):
    """A module's ``check`` refused a change: ``plugin 'm' refused partner "X": why``."""

    def __init__(self, module: str, what: str, error: CrmError):
        self.plugin = module
        field_name = getattr(error, "field", None)
        text = str(error)
        if field_name and isinstance(error, ValidationError):
            text = f"{field_name}: {text.split(f'{field_name}: ', 1)[-1]}"
        super().__init__(f"plugin '{module}' refused {what}: {text}")
        self.field = field_name


def describe(entity: str, record) -> str:
    """How messages name a record: ``partner "Dupont SA"``, ``order SO2026-000001``."""
    for attribute in ("name", "number", "sku", "login"):
        value = getattr(record, attribute, None)
        if value:
            return f'{entity} "{value}"' if attribute == "name" else f"{entity} {value}"
    return f"{entity} {getattr(record, 'id', '?')}"


def conditions(app, entity: str, items, id_column) -> list:
    """``--where module.field=value`` (searchable fields only) as SQL conditions on ``id_column``."""
    from sqlalchemy import exists

    found = []
    for module, wanted in parse_assignments(app, entity, items, "--where").items():
        ext = next(e for e in of(app, entity) if e.module == module)
        values = load(app, entity, {module: wanted}, "--where", creating=False)[module]
        for name, value in values.items():
            item = next(f for f in ext.fields if f.name == name)
            if not item.searchable:
                raise ValidationError("cannot be searched (the module does not mark it searchable)",
                                      record="--where", field=f"{module}.{name}")
            table = ext.sql_table
            found.append(exists().where(table.c[ext.key] == id_column, ext.column(item) == value))
    return found


# --- output ---------------------------------------------------------------------------------------

#: ids per query when a list of ids is given (a select of ids is joined whole)
CHUNK = 5_000


def read(app, session, entity: str, ids, *, only: str | None = None, dump: bool = True) -> dict[int, dict]:
    """``{record_id: {module: {field: value}}}`` for ``ids`` (a list or a select of ids).

    One query whatever the number of records: the records' ids outer-joined with each extending
    module's table and computed query (``only="listed"`` or ``"printed"`` keeps those fields).
    ``dump`` gives JSON-ready values (Decimals as strings); otherwise Python values (templates).
    """
    from sqlalchemy import column, select, table as sql_table

    extensions = of(app, entity)
    if not extensions:
        return {}
    base = sql_table(registry(app).entities[entity], column("id"))
    if isinstance(ids, (list, tuple, set, frozenset)):
        ids = list(ids)
        if len(ids) > CHUNK:  # a database takes a bounded number of parameters (SQLite: 32,766)
            merged: dict[int, dict] = {}
            for start in range(0, len(ids), CHUNK):
                merged.update(read(app, session, entity, ids[start:start + CHUNK], only=only, dump=dump))
            return merged
        ids_query = select(base.c.id).where(base.c.id.in_(ids))
    else:
        ids_query = ids
    records = ids_query.subquery("records")
    record_id = records.c[list(records.c.keys())[0]]
    selected, plan, joined = [record_id], [], records
    for ext in extensions:
        table = ext.sql_table.alias(f"x_{ext.module}")
        stored = [f for f in ext.fields if only is None or getattr(f, only)]
        computed = [c for c in ext.computed if only is None or getattr(c, only)]
        if stored:
            joined = joined.outerjoin(table, table.c[ext.key] == record_id)
        for item in stored:
            selected.append(table.c[item.column or item.name])
            plan.append((ext.module, item))
        for item in computed:
            sub = item.query().subquery(f"c_{ext.module}_{item.name}")
            joined = joined.outerjoin(sub, sub.c.record_id == record_id)
            selected.append(sub.c.value)
            plan.append((ext.module, item))
    if not plan:
        return {}
    modules = list(dict.fromkeys(module for module, _ in plan))
    # one converter per column, chosen once (a list of 100,000 rows calls them 200,000 times)
    slots = [(modules.index(module), item.name, _dumper(item.field) if dump else None) for module, item in plan]
    result: dict[int, dict] = {}
    for row in session.execute(select(*selected).select_from(joined)):
        values = [{} for _ in modules]
        for (slot, name, convert), value in zip(slots, row[1:]):
            values[slot][name] = convert(value) if convert is not None and value is not None else value
        result[row[0]] = dict(zip(modules, values))
    return result


def _dumper(field_: mfields.Field):
    """How a stored value becomes JSON: the field's own serialisation, or a shortcut that gives the same."""
    from marshmallow import fields as mfields

    if type(field_) is mfields.String:
        return None
    if type(field_) is mfields.Integer:
        return int
    if type(field_) is mfields.Decimal and field_.as_string and field_.places is not None:
        quantum = field_.places  # marshmallow keeps places as the quantum, Decimal("0.01")
        exponent = quantum.as_tuple().exponent
        return lambda value: str(value if value.as_tuple().exponent == exponent else Decimal(value).quantize(quantum))
    return lambda value: field_._serialize(value, None, None)


def attach(app, session, entity: str, record_id: int, data: dict) -> dict:
    """Nest the record's extension fields into its JSON ``data`` under each module's name."""
    values = read(app, session, entity, [record_id]).get(record_id, {})
    data.update({module: fields_ for module, fields_ in values.items() if module not in data})
    return data


def printed(app, session, entity: str, record_id: int) -> dict[str, dict]:
    """A document's view of a record's extensions: ``{module: {field: value}}``, the fields marked
    ``printed``, Python values (Decimals, dates) for the template's filters."""
    return read(app, session, entity, [record_id], only="printed", dump=False).get(record_id) \
        or blank(app, entity, only="printed")


def blank(app, entity: str, *, only: str | None = None) -> dict[str, dict]:
    """The values of a record that no extension row describes yet (all None)."""
    values = {ext.module: {item.name: None for item in (*ext.fields, *ext.computed)
                           if only is None or getattr(item, only)} for ext in of(app, entity)}
    return {module: fields_ for module, fields_ in values.items() if fields_}


def columns(app, entity: str, *, only: str | None = None) -> list[tuple[str, str, str]]:
    """``(module, field, label)`` of the fields to show, in declaration order."""
    return [(ext.module, item.name, label(app, item)) for ext in of(app, entity)
            for item in (*ext.fields, *ext.computed) if only is None or getattr(item, only)]


def flat(values: dict[str, dict]) -> dict[str, Any]:
    """``{"credit_hold": {"limit": 1}}`` into ``{"credit_hold.limit": 1}`` (tables, CSV)."""
    return {f"{module}.{name}": value for module, fields_ in values.items() for name, value in fields_.items()}


def nest(row: dict) -> tuple[dict, dict[str, dict]]:
    """Split a CSV row into its own cells and the ``module.field`` cells, nested by module."""
    own, nested = {}, {}
    for name, value in row.items():
        module, dot, field_name = name.partition(".")
        if dot:
            if str(value).strip():
                nested.setdefault(module, {})[field_name] = value
        else:
            own[name] = value
    return own, nested


def csv_columns(app, entity: str) -> tuple[str, ...]:
    """The ``module.field`` CSV columns of ``entity`` (stored fields only: computed ones are not imported)."""
    return tuple(f"{ext.module}.{f.name}" for ext in of(app, entity) for f in ext.fields)
