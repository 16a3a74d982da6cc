"""PostgreSQL: what an operator's database role may do in the workspace's schema, granted by crm.

``crm user identity LOGIN --db-role ROLE`` maps a role to a crm user and grants it exactly what
that user's commands need, and ``crm user role`` grants again when their roles change:

- ``USAGE`` on the schema, ``SELECT`` on every table, ``USAGE, SELECT`` on its sequences;
- ``INSERT`` on the audit trail, never ``UPDATE`` or ``DELETE`` (the trail's trigger refuses them
  from anyone anyway);
- ``INSERT, UPDATE, DELETE`` on the business tables (crm checks each right in its services; the
  database keeps the trail of the money tables whoever writes them);
- on the tables that decide who may do what (users, roles, teams), the company's identity and
  the jobs' runs, only for holders of the right that changes them (``core.users``,
  ``core.company``, ``core.jobs.run``): a salesperson's role cannot make itself admin with psql;
- nothing on the schema's migration tables (``alembic_version*``) beyond reading them.

Everything granted before is revoked first, so the grants are always exactly these. The role
that runs the command must own the schema's tables (the workspace's owner).
"""

from __future__ import annotations

from sqlalchemy import text

from core.errors import CrmError, ValidationError

#: the tables only holders of a right may change
GUARDED = {"core_user": "core.users", "core_user_role": "core.users", "core_role": "core.users",
           "core_role_right": "core.users", "core_team": "core.users", "core_team_member": "core.users",
           "core_company": "core.company", "core_job_run": "core.jobs.run"}
TRAIL = "core_audit"


def role_exists(connection, role: str) -> bool:
    return connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None


def owns_workspace(connection, role: str) -> bool:
    """A superuser, or the role owning the schema's tables: it needs no grant (and must not lose its own)."""
    return bool(connection.execute(text(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = :r) OR EXISTS (SELECT 1 FROM pg_tables "
        "WHERE schemaname = current_schema() AND tableowner = :r)"), {"r": role}).scalar())


def operator_statements(connection, role: str, rights: set[str]) -> list[str]:
    """The REVOKE and GRANT statements giving ``role`` what a holder of ``rights`` needs."""
    quote = connection.dialect.identifier_preparer.quote
    schema = connection.execute(text("SELECT current_schema()")).scalar()
    tables = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                     "ORDER BY tablename")).scalars().all()
    writable = [t for t in tables if t != TRAIL and not t.startswith("alembic_version")
                and GUARDED.get(t, "") in rights | {""}]
    s, r = quote(schema), quote(role)
    statements = [*revoke_statements(connection, role),
                  f"GRANT USAGE ON SCHEMA {s} TO {r}",
                  f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}",
                  f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}"]
    if TRAIL in tables:
        statements.append(f"GRANT INSERT ON {s}.{quote(TRAIL)} TO {r}")
    if writable:
        statements.append(f"GRANT INSERT, UPDATE, DELETE ON {', '.join(f'{s}.{quote(t)}' for t in writable)} TO {r}")
    return statements


def revoke_statements(connection, role: str) -> list[str]:
    quote = connection.dialect.identifier_preparer.quote
    s, r = quote(connection.execute(text("SELECT current_schema()")).scalar()), quote(role)
    return [f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}", f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
            f"REVOKE ALL ON SCHEMA {s} FROM {r}"]


def grant_operator(app, session, user) -> list[str]:
    """Grant ``user``'s database role what their roles' rights need (PostgreSQL; nothing on SQLite).

    :returns: the statements run
    :raises ValidationError: the role does not exist
    :raises CrmError: the database refused (the operator running this does not own the tables)
    """
    if app.dialect != "postgresql" or not user.db_role:
        return []
    from core.services.roles import user_roles

    connection = session.connection()
    if not role_exists(connection, user.db_role):
        raise ValidationError(f"no such database role: create it first (CREATE ROLE \"{user.db_role}\" LOGIN)",
                              record=f"user {user.login}", field="db_role")
    return _grant(app, connection, user.db_role, user_roles(session, user))


def grant_everyone(app, connection) -> int:
    """Grant again every mapped, existing database role (after migrations added tables); how many."""
    if connection.dialect.name != "postgresql":
        return 0
    from core.models import User, UserRole

    users = connection.execute(text(f"SELECT id, role, db_role FROM {User.__tablename__} "
                                    "WHERE db_role IS NOT NULL AND active")).all()
    count = 0
    for user_id, role, db_role in users:
        if role_exists(connection, db_role):
            held = connection.execute(text(f"SELECT role FROM {UserRole.__tablename__} WHERE user_id = :u"),
                                      {"u": user_id}).scalars()
            count += bool(_grant(app, connection, db_role, {role, *held}))
    return count


def _grant(app, connection, db_role: str, roles) -> list[str]:
    from core.security import role_rights

    if owns_workspace(connection, db_role):
        return []
    rights: set[str] = set()
    for role in roles:
        rights |= role_rights(app, connection, role)
    return _run(connection, operator_statements(connection, db_role, rights))


def revoke_operator(app, session, role: str | None) -> list[str]:
    """Take back what :func:`grant_operator` gave ``role`` (its mapping changed or was cleared)."""
    if app.dialect != "postgresql" or not role or not role_exists(session.connection(), role) \
            or owns_workspace(session.connection(), role):
        return []
    return _run(session.connection(), revoke_statements(session.connection(), role))


def _run(connection, statements: list[str]) -> list[str]:
    from sqlalchemy.exc import DBAPIError

    try:
        for statement in statements:
            connection.exec_driver_sql(statement)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        raise CrmError(f"granting the database role failed: {reason} (run this as the role that owns the "
                       f"workspace's tables)") from None
    return statements
