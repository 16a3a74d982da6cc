"""The audit trail: who changed what, when (business date and wall time) and through which command.

One mechanism for every module: the app's sessions record each flushed change of a mapped row
(create with its values, update with each field's before and after, delete) in ``core_audit``,
in the same transaction, so a rolled-back command leaves no trace and a committed one always
does. Rows a session inserts with the ORM's bulk INSERT (``session.execute(insert(Model),
[values])``, no unit of work) are recorded the same way, from the values given (with their ids
when the statement returns them). Set-based jobs and commands add one summary row each (:func:`record`). On PostgreSQL the
money tables have their own triggers (billing_0009, set-based since billing_0012:
:mod:`core.audit_triggers`), which also catch changes made outside
crm; this session then leaves those tables to the triggers and hands them who and which
command through ``set_config('crm.*', ..., true)``. A model opts out with ``__audited__ = False``
(the trail itself, caches that are recomputed). A command that writes several statements
(an order's confirmation: the order, then its invoice, lines and instalments) gathers their rows in
:func:`batched` and writes them with one INSERT at its end, in the same transaction.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from decimal import Decimal
from functools import cache

LABEL_KEYS = ("number", "reference", "login", "sku", "name")


def install(app, session_factory) -> None:
    """Record the changes flushed by ``session_factory``'s sessions (the listeners find the app in
    ``session.info["app"]``, as :func:`core.recordrules.install`'s do, and for the same reason)."""
    from sqlalchemy import event

    event.listen(session_factory, "after_flush", _after_flush)
    event.listen(session_factory, "do_orm_execute", _bulk_insert)
    if app.dialect == "postgresql":
        event.listen(session_factory, "after_begin", _after_begin)


def context(app, connection) -> dict:
    """Who, when and which command, for a row of the trail (the actor identified on first need)."""
    from core.db import utcnow
    from core.security import PermissionDenied, current_actor, database_user

    actor = getattr(app, "actor", None)
    if actor is None:
        try:
            actor = current_actor(app, _Bound(connection))
        except PermissionDenied:  # nobody mapped yet (a workspace being created): the role still counts
            actor = None
    return {"logged_at": utcnow(), "business_date": app.today,
            "user_login": actor.login if actor else None, "real_user": actor.real_login if actor else None,
            "db_user": (actor.db_user if actor and actor.db_user else database_user(connection)),
            "command": (getattr(app, "command", None) or "")[:200] or None}


class _Bound:
    """A connection seen as a session (``current_actor`` asks for ``session.connection()``)."""

    def __init__(self, connection):
        self._connection = connection

    def connection(self):
        return self._connection


def record(app, session, action: str, *, record_type: str | None = None, record_id=None,
           label: str | None = None, changes=None) -> None:
    """Add one row to the trail in ``session``'s transaction (a job's summary, a module enabled...)."""
    _write(app, session, [{"action": action, "record_type": record_type,
                           "record_id": None if record_id is None else str(record_id),
                           "record_label": label, "changes": _json(changes)}])


@contextmanager
def batched(session):
    """The trail's rows of this block written together, by one INSERT when it ends without error.

    For a command whose writes each add rows (the order confirmed, then its invoice, lines and
    instalments): one statement instead of one per write. The rows are the same, in the same
    transaction, in the order they were made; a block that raises writes none (its transaction is
    rolled back). Rows made inside a savepoint opened in the block are written at once, so that
    rolling the savepoint back takes them with it. Until the block ends its rows are not in
    ``core_audit`` yet: nothing in it reads the trail. Nested blocks write with the outermost.
    """
    if "audit_batch" in session.info:
        yield
        return
    session.connection()  # the transaction the rows belong to, begun if it was not yet
    transaction = session.get_transaction()
    batch = session.info["audit_batch"] = (session.get_nested_transaction(), [])
    try:
        yield
        # a transaction rolled back in the block (without raising) took the rows' changes with it
        if batch[1] and session.get_transaction() is transaction:
            session.connection().execute(_insert(), batch[1])
    finally:
        del session.info["audit_batch"]


#: from this many rows at once, SQLite's trail rows go straight to the driver's executemany:
#: SQLAlchemy's parameter work per row doubled the trail of a bulk settlement (100,000 payments)
RAW_FROM = 1_000
#: who and when (the same for every row of one write), then the row's own columns
_WHO = ("logged_at", "business_date", "user_login", "real_user", "db_user", "command")
_ROW = ("action", "record_type", "record_id", "record_label", "changes")


def _write(app, session, entries: list[dict]) -> None:
    """Add ``entries`` (without who and when) to the trail now, or to the open :func:`batched` block's rows."""
    connection = session.connection()
    where = context(app, connection)
    batch = session.info.get("audit_batch")
    if batch is not None and batch[0] is session.get_nested_transaction():
        batch[1].extend(where | entry for entry in entries)
    elif len(entries) >= RAW_FROM and connection.dialect.name == "sqlite":
        _write_raw(session, where, entries)
    else:
        connection.execute(_insert(), [where | entry for entry in entries])


def _write_raw(session, where: dict, entries: list[dict]) -> None:
    """The same rows through :func:`core.dbutil.driver_writer`, who and when converted once as
    SQLAlchemy would bind them."""
    from core.dbutil import driver_writer
    from core.models import AuditEntry

    dialect = session.get_bind().dialect
    columns = AuditEntry.__table__.c
    who = []
    for key in _WHO:
        value, process = where[key], columns[key].type.dialect_impl(dialect).bind_processor(dialect)
        who.append(process(value) if process is not None and value is not None else value)
    who = tuple(who)
    driver_writer(session, AuditEntry.__tablename__, [*_WHO, *_ROW])(
        (*who, *(entry[key] for key in _ROW)) for entry in entries)


def _after_begin(session, transaction, connection) -> None:
    """Who and which command, for the PostgreSQL triggers of this transaction's writes (``set_config``
    local to it); a read-only transaction (a list, an API GET, rolled back) writes nothing to tell of."""
    from core.db import READ_ONLY

    if connection.get_execution_options().get(READ_ONLY):
        return
    app = session.info["app"]
    where = context(app, connection)
    connection.execute(_settings(), {"user": where["user_login"] or "", "real": where["real_user"] or "",
                                     "command": where["command"] or "", "day": where["business_date"].isoformat()})


@cache
def _settings():
    """The transaction's who, which command and business date for the money tables' triggers (billing_0009)."""
    from sqlalchemy import text

    return text("SELECT set_config('crm.user', :user, true), set_config('crm.real_user', :real, true), "
                "set_config('crm.command', :command, true), set_config('crm.business_date', :day, true)")


def _after_flush(session, flush_context) -> None:
    from sqlalchemy import inspect

    app = session.info["app"]

    skipped = _database_audited(app, session)
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            cls = type(obj)
            table = getattr(cls, "__tablename__", None)
            if table is None or table in skipped or not getattr(cls, "__audited__", True):
                continue
            state = inspect(obj)
            keys = _column_keys(state.mapper)
            values = state.dict
            if action == "create":
                changes = {key: [None, values[key]] for key in keys if values.get(key) is not None}
            elif action == "update":
                changes = {}
                modified = state.committed_state  # only an attribute set since the load has history
                for key in keys:
                    if key not in modified:
                        continue
                    history = state.attrs[key].history
                    if history.added or history.deleted:
                        changes[key] = [history.deleted[0] if history.deleted else None,
                                        history.added[0] if history.added else None]
                if not changes:
                    continue
            else:
                changes = None
            identity = state.mapper.primary_key_from_instance(obj)
            rows.append({"action": action, "record_type": table,
                         "record_id": str(identity[0]) if len(identity) == 1 else json.dumps(identity, default=str),
                         "record_label": _label(values), "changes": _json(changes)})
    if rows:
        _write(app, session, rows)


def _bulk_insert(state):
    """Record the rows of an ORM bulk INSERT of an audited model, as a flush records a new object.

    The statement runs here (``invoke_statement``) so that its RETURNING rows give each new row's id;
    they are handed back to the caller unchanged. A statement without the primary key in its
    RETURNING (or not in the order of the rows: ``sort_by_parameter_order``) records no ids.
    """
    if not state.is_insert:
        return None
    mapper = state.bind_mapper  # insert(Model), or a Core insert given bind_arguments={"mapper": Model}
    rows = state.parameters
    if mapper is None or not rows:
        return None
    from sqlalchemy import inspect

    mapper = inspect(mapper)
    app = state.session.info["app"]
    if not _recorded(app, state.session, mapper):
        return None
    rows = [rows] if isinstance(rows, dict) else list(rows)
    result = state.invoke_statement().freeze()
    ids = None
    key = mapper.primary_key[0].key if len(mapper.primary_key) == 1 else None
    returned = result()
    if key in returned.keys():
        ids = [row._mapping[key] for row in returned]
    inserted(app, state.session, mapper, rows, ids)
    return result()


def inserted(app, session, model, rows: list[dict], ids: list | None) -> None:
    """Record ``rows`` a Core INSERT wrote into ``model``'s table (``ids``: their ids, in the same
    order), as a flush records new objects; for a service that writes with Core on
    ``session.connection()`` (no ORM execution for :func:`_bulk_insert` to see). Nothing for a
    model that opts out or a table the database's triggers record. Ids that do not match the rows
    one for one are not recorded."""
    from sqlalchemy import inspect

    mapper = inspect(model)
    if not _recorded(app, session, mapper):
        return
    if ids is None or len(ids) != len(rows):
        ids = [None] * len(rows)
    table = mapper.class_.__tablename__
    keys = set(_column_keys(mapper))
    _write(app, session, [{"action": "create", "record_type": table, "record_id": None if id_ is None else str(id_),
                           "record_label": _label(values),
                           "changes": _json({k: [None, v] for k, v in values.items() if k in keys and v is not None})}
                          for values, id_ in zip(rows, ids)])


def updated(app, session, model, changed: list[tuple]) -> None:
    """Record the rows a set-based UPDATE changed in ``model``'s table, as a flush records changed
    objects: ``changed`` is ``[(id, label, {column: [before, after]})]`` (columns whose value is
    the same are left out). Nothing for a model that opts out or a table the database's triggers
    record: :func:`recorded` tells the caller whether to read the values before its UPDATE."""
    if not recorded(app, session, model):
        return
    table = model.__tablename__
    rows = []
    for id_, label, columns in changed:
        changes = {key: pair for key, pair in columns.items() if pair[0] != pair[1]}
        if changes:
            rows.append({"action": "update", "record_type": table, "record_id": str(id_),
                         "record_label": None if label is None else str(label)[:100], "changes": _json(changes)})
    if rows:
        _write(app, session, rows)


def recorded(app, session, model) -> bool:
    """Whether this session records the writes of ``model`` itself (not on a table PostgreSQL's
    triggers record, nor for a model that opts out)."""
    from sqlalchemy import inspect

    return _recorded(app, session, inspect(model))


def _recorded(app, session, mapper) -> bool:
    """Whether this session records the writes of ``mapper``'s class itself."""
    cls = mapper.class_
    table = getattr(cls, "__tablename__", None)
    return table is not None and getattr(cls, "__audited__", True) and table not in _database_audited(app, session)


_KEYS: dict = {}


@cache
def _insert():
    """``INSERT INTO core_audit``, built once (every flush and bulk INSERT writes its rows with it)."""
    from core.models import AuditEntry

    return AuditEntry.__table__.insert()


def _column_keys(mapper) -> tuple[str, ...]:
    keys = _KEYS.get(mapper)
    if keys is None:
        keys = _KEYS[mapper] = tuple(attr.key for attr in mapper.column_attrs)
    return keys


def _label(values: dict) -> str | None:
    for key in LABEL_KEYS:
        value = values.get(key)
        if value is not None:
            return str(value)[:100]
    return None


#: one encoder for every row (``json.dumps`` with options builds one per call)
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


def _json(changes) -> str | None:
    return None if changes is None else _ENCODER.encode(changes)


def _database_audited(app, session) -> frozenset:
    """The tables whose changes PostgreSQL's triggers record themselves (none on SQLite)."""
    found = app.__dict__.get("_database_audited")
    if found is None:
        found = frozenset()
        if app.dialect == "postgresql":
            from sqlalchemy import text

            found = frozenset(session.connection().execute(text(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE (p.proname = 'core_audit_row' OR p.proname LIKE 'core\\_audit\\_of\\_%') "
                "AND c.relnamespace = current_schema()::regnamespace")).scalars())
        app.__dict__["_database_audited"] = found
    return found


def sent_rows(message) -> list[dict]:
    """The trail's rows for one message sent (``message`` a ``core_notification`` row), without who and when.

    One row per document it carried (``record_type`` the document's kind, ``billing_invoice``, its
    reference as the label: ``crm audit --record invoice:F2026-000042`` finds the sending), or one
    for the message itself (its ``related`` record, else the notification). ``changes`` say what
    went where: the notification, channel, recipients, subject and the business date it was written.
    """
    documents = [a for a in json.loads(message.attachments or "[]") if "document" in a]
    what = {"notification": message.id, "channel": message.channel, "to": json.loads(message.recipients or "[]"),
            "subject": message.subject, "written_on": message.business_date,
            "documents": [f"{a['document']}:{a['ref']}" for a in documents] or None}
    base = {"action": "sent", "changes": _json(what)}
    if documents:
        return [base | {"record_type": a["document"].replace(".", "_")[:60], "record_id": str(a["ref"])[:40],
                        "record_label": str(a["ref"])[:100]} for a in documents]
    kind, _, ref = (message.related or "").partition(":")
    if not ref:
        kind, ref = "core_notification", str(message.id)
    return [base | {"record_type": kind[:60], "record_id": ref[:40], "record_label": message.subject[:100]}]


# --- reading the trail ------------------------------------------------------------------------------

def entries(session, *, record: str | None = None, user: str | None = None, start=None, end=None,
            limit: int = 1000) -> list[dict]:
    """The trail, oldest first: ``record`` is ``KIND:REF`` (``invoice:F2026-000012``, ``partner:3``)."""
    from sqlalchemy import or_, select

    from core.errors import ValidationError
    from core.models import AuditEntry

    query = select(AuditEntry).order_by(AuditEntry.id)
    if record:
        kind, _, ref = record.partition(":")
        if not kind or not ref:
            raise ValidationError("expected KIND:REF, such as invoice:F2026-000012 or partner:3",
                                  record="crm audit", field="--record")
        query = query.where(or_(AuditEntry.record_type == kind, AuditEntry.record_type.like(f"%\\_{kind}", escape="\\")),
                            or_(AuditEntry.record_label == ref, AuditEntry.record_id == ref))
    if user:
        login = user.strip().lower()
        query = query.where(or_(AuditEntry.user_login == login, AuditEntry.real_user == login,
                                AuditEntry.db_user == user.strip()))
    if start:
        query = query.where(AuditEntry.business_date >= start)
    if end:
        query = query.where(AuditEntry.business_date <= end)
    rows = session.scalars(query.limit(limit)).all()
    scales = _scales()
    return [entry_dict(row, scales) for row in rows]


def entry_dict(row, scales: dict | None = None) -> dict:
    """One row of the trail with stable keys; ``who`` reads "admin as alice" or "db:role".

    Amounts and quantities read as the services write them (``"120.00"``): PostgreSQL's triggers
    record a money column as it is stored, a count of cents (``12000``), which ``scales`` (the
    scaled columns of each table, :func:`_scales`) turns back into the amount.
    """
    who = row.user_login or (f"db:{row.db_user}" if row.db_user else None)
    if row.real_user:
        who = f"{row.real_user} as {row.user_login}"
    changes = json.loads(row.changes) if row.changes else None
    columns = (scales or {}).get(row.record_type)
    if columns and isinstance(changes, dict):
        for key, scale in columns.items():
            pair = changes.get(key)
            if isinstance(pair, list):
                changes[key] = [str(Decimal(v).scaleb(-scale)) if type(v) is int else v for v in pair]
    return {"id": row.id, "logged_at": row.logged_at.isoformat(sep=" "), "business_date": row.business_date,
            "who": who, "user": row.user_login, "real_user": row.real_user, "db_user": row.db_user,
            "command": row.command, "action": row.action, "record_type": row.record_type,
            "record_id": row.record_id, "record": row.record_label, "changes": changes}


def _scales() -> dict[str, dict[str, int]]:
    """``{table: {column: scale}}``: the columns of the registered models stored as scaled integers."""
    from core.db import Base
    from core.types import ScaledDecimal

    found = {}
    for name, table in Base.metadata.tables.items():
        columns = {column.key: column.type.scale for column in table.c if isinstance(column.type, ScaledDecimal)}
        if columns:
            found[name] = columns
    return found
