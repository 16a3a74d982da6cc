"""PostgreSQL's own audit of a table: three statement triggers that write the trail set-based.

``core_audit_row()`` (core_0009) records each changed row with generic ``jsonb`` work: both
rows turned into ``jsonb`` and compared key by key, then one INSERT per row. On a wide table
that is what a bulk write costs most (100,000 invoices settled: 1.4 s for the UPDATE, 7 s more
for its trail). The triggers made here write the very same rows (``changes`` as that function
would have them, each statement's rows at its end) with one ``INSERT ... SELECT`` per statement
over its transition tables, comparing column by column in SQL: only the columns that changed
are turned into ``jsonb``. Within one statement the rows' order is not promised (the row
trigger's was the statement's plan's); an update pairs its rows before and after by ``id``,
which money rows never change (other tables point at them). JIT is off in them: the planner,
which cannot count the rows of a join of transition tables, would compile the wide expressions
for seconds.

The function names the table's columns, so it is made again whenever they change: a migration
that alters an audited table calls :func:`install` after it (a test compares each function with
the columns of its table). Function: ``core_audit_of_<table>()``; triggers:
``<table>_audit_insert``, ``_update`` and ``_delete``.
"""

from __future__ import annotations

#: the columns whose value, first found, labels the record (as ``core_audit_row()`` reads them)
LABEL_COLUMNS = ("number", "reference", "name")
#: types whose SQL equality is exactly the equality of their ``jsonb`` form (any other type is
#: compared through ``to_jsonb``, as ``core_audit_row()`` compares everything)
NATIVE = frozenset({"smallint", "integer", "bigint", "boolean", "date", "timestamp without time zone",
                    "character varying", "text", "jsonb"})
EVENTS = ("insert", "update", "delete")
#: ``jsonb_build_object`` takes at most 100 arguments: the pairs of a wide table go in chunks
_CHUNK = 40


def function_name(table: str) -> str:
    return f"core_audit_of_{table}"


def columns_of(bind, table: str) -> list[tuple[str, str]]:
    """``[(column, type)]`` of ``table`` in the current schema, in their order."""
    from sqlalchemy import text

    return [tuple(row) for row in bind.execute(text(
        "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
        "WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum"), {"table": table})]


def install(bind, table: str) -> None:
    """(Re)make ``table``'s audit function and triggers from its columns now, in place of
    ``core_audit_row()``'s row trigger ``<table>_audit`` if it is there."""
    from sqlalchemy import text

    schema = bind.execute(text("SELECT current_schema()")).scalar()
    bind.execute(text(function_sql(schema, table, columns_of(bind, table))))
    bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_audit ON {table}"))
    for event in EVENTS:
        bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_audit_{event} ON {table}"))
        referencing = {"insert": "NEW TABLE AS new_rows", "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                       "delete": "OLD TABLE AS old_rows"}[event]
        bind.execute(text(f"CREATE TRIGGER {table}_audit_{event} AFTER {event.upper()} ON {table} "
                          f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function_name(table)}()"))


def uninstall(bind, table: str) -> None:
    """Back to ``core_audit_row()``'s row trigger (a downgrade)."""
    from sqlalchemy import text

    for event in EVENTS:
        bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_audit_{event} ON {table}"))
    bind.execute(text(f"DROP FUNCTION IF EXISTS {function_name(table)}()"))
    bind.execute(text(f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
                      "FOR EACH ROW EXECUTE FUNCTION core_audit_row()"))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _object(pairs: list[str]) -> str:
    """``jsonb_build_object`` of ``pairs`` (``'key', value``), in chunks joined by ``||``."""
    chunks = [pairs[i:i + _CHUNK] for i in range(0, len(pairs), _CHUNK)] or [[]]
    return " || ".join(f"jsonb_build_object({', '.join(chunk)})" for chunk in chunks)


def function_sql(schema: str, table: str, columns: list[tuple[str, str]]) -> str:
    """``CREATE OR REPLACE FUNCTION core_audit_of_<table>()`` for ``columns`` (``[(name, type)]``).

    Each row as ``core_audit_row()`` writes it: ``record_id`` the ``id`` column's text,
    ``record_label`` the first of number/reference/name, ``changes`` ``{column: [before, after]}``
    (``jsonb`` text) of every column for a create or a delete, of the columns whose ``jsonb`` form
    changed for an update (an update that changed nothing leaves no row).
    """
    names = [name for name, _ in columns]

    def text_of(alias: str, column: str) -> str:  # rec ->> 'column' of the row's jsonb
        return f"(to_jsonb({alias}.{_q(column)}) #>> '{{}}')" if column in names else "NULL::text"

    def record(alias: str) -> tuple[str, str]:
        labels = [text_of(alias, c) for c in LABEL_COLUMNS if c in names]
        return text_of(alias, "id"), (f"coalesce({', '.join(labels)})" if labels else "NULL::text")

    def differs(name: str, kind: str) -> str:
        o, n = f"o.{_q(name)}", f"n.{_q(name)}"
        return f"{o} IS DISTINCT FROM {n}" if kind in NATIVE else f"to_jsonb({o}) IS DISTINCT FROM to_jsonb({n})"

    trail = f"{_q(schema)}.core_audit"
    head = (f"INSERT INTO {trail} (logged_at, business_date, user_login, real_user, db_user, command, action, "
            "record_type, record_id, record_label, changes)\n"
            "        SELECT timezone('UTC', clock_timestamp())::timestamp(0), "
            "coalesce(nullif(current_setting('crm.business_date', true), '')::date, current_date), "
            "nullif(current_setting('crm.user', true), ''), nullif(current_setting('crm.real_user', true), ''), "
            "current_user, nullif(current_setting('crm.command', true), ''), ")
    new_id, new_label = record("n")
    old_id, old_label = record("o")
    created = _object([f"{_literal(c)}, jsonb_build_array(NULL::jsonb, n.{_q(c)})" for c in names])
    deleted = _object([f"{_literal(c)}, jsonb_build_array(o.{_q(c)}, NULL::jsonb)" for c in names])
    # only the columns that changed are turned into jsonb (a chain of || is cheaper than one
    # jsonb_build_object of every column, whose arguments are each typed on every call)
    changed = " || ".join(f"CASE WHEN {differs(c, kind)} THEN jsonb_build_object({_literal(c)}, "
                          f"jsonb_build_array(o.{_q(c)}, n.{_q(c)})) ELSE '{{}}'::jsonb END" for c, kind in columns)
    key = "id" if "id" in names else None
    pairing = (f"JOIN old_rows o ON o.{_q(key)} = n.{_q(key)}" if key else
               "JOIN (SELECT row_number() OVER () AS core_audit_position, * FROM old_rows) o USING (core_audit_position)")
    return f"""CREATE OR REPLACE FUNCTION {_q(schema)}.{function_name(table)}() RETURNS trigger LANGUAGE plpgsql
    SET jit = off AS $$
    BEGIN
        -- written by core.audit_triggers for the columns of {table}: made again when they change
        IF TG_OP = 'INSERT' THEN
            {head}'create', TG_TABLE_NAME, {new_id}, {new_label}, ({created})::text
            FROM new_rows n;
        ELSIF TG_OP = 'DELETE' THEN
            {head}'delete', TG_TABLE_NAME, {old_id}, {old_label}, ({deleted})::text
            FROM old_rows o;
        ELSE
            {head}'update', TG_TABLE_NAME, {new_id}, {new_label}, d.changes::text
            FROM new_rows n {pairing}
            CROSS JOIN LATERAL (SELECT {changed} AS changes) d
            WHERE d.changes <> '{{}}'::jsonb;
        END IF;
        RETURN NULL;
    END $$"""
