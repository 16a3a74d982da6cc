"""Who is running, and what they may do: one check that every door asks.

Modules declare their rights (:class:`Permission`, through ``register_permissions``) and the
record rules of their entities (:class:`RecordRule`, through ``register_record_rules``); a role
is a set of rights; the services call :func:`require` before they write. The identity comes
from the connection, never from what the operator types: on PostgreSQL the session's
``current_user`` mapped through ``core_user.db_role``; on SQLite the OS login of the real uid
mapped through ``core_user.os_login`` (there the database file's permissions are the boundary).
An admin holding ``core.impersonate`` may act as someone else (``crm --as LOGIN``); the trail
then says "admin as alice". Jobs run as the built-in ``system`` actor, with the system role.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from core.errors import CrmError

#: the built-in roles: what they are for, and which records they see where a rule is declared
BUILTIN_ROLES = {
    "sales": ("salespeople: their own leads, deals, customers and orders", "own"),
    "sales_manager": ("sales team leaders: their team's records, targets and pipelines", "team"),
    "collections": ("the collections team: reminders, cases, payments", "all"),
    "purchasing": ("buyers: suppliers, stock, reorder rules, purchase orders", "all"),
    "accountant": ("invoices, credit notes, refunds, write-offs, billing settings, the audit", "all"),
    "admin": ("every right, modules and settings included", "all"),
    "system": ("the jobs and the worker: only the rights their jobs need", "all"),
}
#: a Permission given to every role
EVERYONE = tuple(BUILTIN_ROLES)
SCOPES = ("own", "team", "all")
SYSTEM_LOGIN = "system"


class PermissionDenied(CrmError):
    """An action refused for lack of a right: names who, the right and the roles that have it."""

    exit_code = 4


@dataclass(frozen=True)
class Permission:
    """A named right a module declares, the built-in roles that hold it and the commands it opens.

    :param name: ``module.thing.action`` (``billing.invoice.credit``)
    :param summary: what it allows, for ``crm role show`` and docs/permissions.md
    :param roles: the built-in roles holding it (``admin`` holds every right anyway)
    :param commands: the ``crm`` commands (paths such as ``"invoice credit"``) that need it; every
        command of the module must be listed under exactly one right
    """

    name: str
    summary: str
    roles: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordRule:
    """Rows of ``model`` belong to the user in its ``owner`` column: ``own`` and ``team`` scopes see only theirs.

    A row without an owner is seen by everyone (an unassigned lead is anyone's to take). With
    ``follows`` (a mapped class with its own rule), ``owner`` is instead the column holding the id
    of a ``follows`` row, and the row is seen by whoever sees that one (a payment follows its
    customer). Applied by :mod:`core.recordrules`.
    """

    name: str
    model: type
    owner: str
    follows: type | None = None


@dataclass(frozen=True)
class Actor:
    """The person (or the system) a command runs as."""

    login: str
    user_id: int | None
    roles: frozenset
    rights: frozenset
    scope: str = "all"
    team_user_ids: tuple = ()
    real_login: str | None = None  # the admin acting for ``login`` (crm --as)
    db_user: str | None = None  # current_user on PostgreSQL, the OS login on SQLite
    extra: dict = field(default_factory=dict, compare=False)

    def can(self, right: str) -> bool:
        return "admin" in self.roles or right in self.rights

    @property
    def who(self) -> str:
        return f"{self.real_login} as {self.login}" if self.real_login else self.login


# --- what the modules declare -----------------------------------------------------------------

def permissions(app) -> dict[str, Permission]:
    """Every right declared by the kernel and the enabled modules, by name (gathered once per app)."""
    if "_permissions" not in app.__dict__:
        found = app.gather("register_permissions", Permission, "permission")
        for item in found.values():
            unknown = set(item.roles) - set(BUILTIN_ROLES)
            if unknown:
                raise CrmError(f"permission '{item.name}' names unknown roles: {', '.join(sorted(unknown))}")
        app.__dict__["_permissions"] = found
    return app.__dict__["_permissions"]


def command_rights(app) -> dict[str, str]:
    """``{"invoice credit": "billing.invoice.credit", ...}``: the right each command needs."""
    if "_command_rights" not in app.__dict__:
        found: dict[str, str] = {}
        for perm in permissions(app).values():
            for path in perm.commands:
                if path in found:
                    raise CrmError(f"command 'crm {path}' is listed under two rights: {found[path]} and {perm.name}")
                found[path] = perm.name
        app.__dict__["_command_rights"] = found
    return app.__dict__["_command_rights"]


def record_rules(app) -> dict[str, RecordRule]:
    """The record rules of the enabled modules, by name."""
    if "_record_rules" not in app.__dict__:
        app.__dict__["_record_rules"] = app.gather("register_record_rules", RecordRule, "record rule")
    return app.__dict__["_record_rules"]


def builtin_rights(app, role: str) -> set[str]:
    """The rights of a built-in role (admin: every declared right)."""
    perms = permissions(app).values()
    return {p.name for p in perms} if role == "admin" else {p.name for p in perms if role in p.roles}


def role_rights(app, connection, role: str) -> set[str]:
    """The rights of ``role``, built-in or custom (custom rights are rows of ``core_role_right``)."""
    from sqlalchemy import select

    from core.models import Role, RoleRight

    if role in BUILTIN_ROLES:
        return builtin_rights(app, role)
    rows = connection.execute(select(RoleRight.right).join(Role, Role.id == RoleRight.role_id)
                              .where(Role.name == role)).scalars()
    return set(rows)


def roles_having(app, connection, right: str) -> list[str]:
    """Every role (built-in and custom) that holds ``right``."""
    from sqlalchemy import select

    from core.models import Role, RoleRight

    names = [name for name in BUILTIN_ROLES if right in builtin_rights(app, name)]
    names += connection.execute(select(Role.name).join(RoleRight, RoleRight.role_id == Role.id)
                                .where(RoleRight.right == right).order_by(Role.name)).scalars().all()
    return names


# --- who is running -----------------------------------------------------------------------------

def os_login() -> str:
    """The login of the real uid (not $USER or $LOGNAME, which anyone can set)."""
    import os
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def database_user(connection) -> str:
    """``current_user`` on PostgreSQL; the OS login on SQLite.

    On PostgreSQL it is asked once per database connection and kept with it (``Connection.info``
    lives as long as the pooled connection): nothing here changes a session's role (no ``SET ROLE``).
    """
    if connection.dialect.name == "postgresql":
        known = connection.info
        if "current_user" not in known:
            from sqlalchemy import text

            known["current_user"] = connection.execute(text("SELECT current_user")).scalar()
        return known["current_user"]
    return os_login()


def identify(app, connection, *, as_login: str | None = None) -> Actor:
    """The actor of this connection: its database role or OS login mapped to a crm user.

    :param as_login: act as this user instead; needs ``core.impersonate`` (``crm --as``)
    :raises PermissionDenied: nobody is mapped to this identity, or impersonation is refused
    """
    from sqlalchemy import select

    from core.models import User

    who = database_user(connection)
    column = User.db_role if connection.dialect.name == "postgresql" else User.os_login
    kind = "database role" if connection.dialect.name == "postgresql" else "OS login"
    row = connection.execute(select(User.id, User.login, User.role, User.active).where(column == who)).first()
    if row is None or not row.active:
        option = "--db-role" if kind == "database role" else "--os-login"
        raise PermissionDenied(f"you are the {kind} '{who}', which is no active crm user: an admin maps you "
                               f"with `crm user identity LOGIN {option} {who}`")
    actor = _actor(app, connection, row, db_user=who)
    if as_login and as_login != actor.login:
        if not actor.can("core.impersonate"):
            raise PermissionDenied(f"{actor.login} may not act as {as_login}: the right core.impersonate is "
                                   f"missing (roles that have it: {', '.join(roles_having(app, connection, 'core.impersonate'))})")
        other = connection.execute(select(User.id, User.login, User.role, User.active)
                                   .where(User.login == as_login.strip().lower())).first()
        if other is None or not other.active:
            raise PermissionDenied(f"--as {as_login}: no active crm user has this login (see `crm user list`)")
        actor = _actor(app, connection, other, db_user=who, real_login=actor.login)
    return actor


def actor_of_user(app, connection, row, *, db_user: str | None = None) -> Actor:
    """The actor of a ``core_user`` row (``id, login, role``) identified by another door (an API token)."""
    return _actor(app, connection, row, db_user=db_user)


def _actor(app, connection, row, *, db_user: str, real_login: str | None = None) -> Actor:
    from sqlalchemy import or_, select

    from core.models import Role, Team, TeamMember, UserRole

    roles = {row.role, *connection.execute(select(UserRole.role).where(UserRole.user_id == row.id)).scalars()}
    rights: set[str] = set()
    scopes = []
    custom = set(roles) - set(BUILTIN_ROLES)  # only a custom role's scope is a row to read
    custom = dict(connection.execute(select(Role.name, Role.scope).where(Role.name.in_(custom))).all()) \
        if custom else {}
    for role in roles:
        rights |= role_rights(app, connection, role)
        scopes.append(BUILTIN_ROLES[role][1] if role in BUILTIN_ROLES else custom.get(role, "own"))
    scope = max(scopes, key=SCOPES.index) if scopes else "own"
    mates = ()
    if scope == "team":  # the record rules read the team only for this scope
        team_ids = select(Team.id).outerjoin(TeamMember, TeamMember.team_id == Team.id).where(
            or_(Team.leader_id == row.id, TeamMember.user_id == row.id))
        mates = connection.execute(select(TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))
                                   .union(select(Team.leader_id).where(Team.id.in_(team_ids)))).scalars()
    return Actor(login=row.login, user_id=row.id, roles=frozenset(roles), rights=frozenset(rights), scope=scope,
                 team_user_ids=tuple(sorted({row.id, *(m for m in mates if m is not None)})),
                 real_login=real_login, db_user=db_user)


def system_actor(app) -> Actor:
    """The actor jobs and the worker run as: the rights of the ``system`` role, nothing more."""
    return Actor(login=SYSTEM_LOGIN, user_id=None, roles=frozenset({"system"}),
                 rights=frozenset(builtin_rights(app, "system")), db_user=None)


@contextmanager
def as_system(app):
    """Run a block as the system user (jobs, the worker); the trail keeps who launched it."""
    launcher = getattr(app, "actor", None)
    app.actor = replace(system_actor(app), real_login=launcher.login if launcher else None,
                        db_user=launcher.db_user if launcher else None)
    try:
        yield app.actor
    finally:
        app.actor = launcher


def current_actor(app, session) -> Actor:
    """The app's actor, identified from ``session``'s connection the first time it is asked for."""
    actor = getattr(app, "actor", None)
    if actor is None:
        actor = identify(app, session.connection(), as_login=getattr(app, "as_login", None))
        app.actor = actor
    return actor


def acting_user(app, session, login: str | None = None):
    """The :class:`core.models.User` who acts: the actor's, or ``login``'s for a holder of core.impersonate.

    What a module records as "done by" (a case's history, a deal's move) comes from here, never from
    an option or an environment variable anyone could set. None for the system user.
    """
    from core.services.people import get_user

    actor = current_actor(app, session)
    if login and login.strip().lower() != actor.login:
        require(app, session, "core.impersonate")
        return get_user(session, login)
    return get_user(session, actor.login) if actor.user_id is not None else None


def default_owner(app, session):
    """The :class:`core.models.User` a new record belongs to when nobody is named: a limited actor
    (own/team scope) themselves, so what a salesperson creates is theirs; None for everyone else."""
    actor = current_actor(app, session)
    if actor.scope == "all" or actor.user_id is None:
        return None
    from core.models import User

    return session.get(User, actor.user_id)


def require(app, session, right: str) -> Actor:
    """Refuse unless the acting user holds ``right``; every service calls it before it writes.

    :returns: the actor, for services that record who did it
    :raises PermissionDenied: naming who, the missing right and the roles that have it
    """
    actor = current_actor(app, session)
    if not actor.can(right):
        known = permissions(app).get(right)
        what = f" ({known.summary})" if known else ""
        holders = roles_having(app, session.connection(), right)
        raise PermissionDenied(f"{actor.who} (roles: {', '.join(sorted(actor.roles))}) lacks the right "
                               f"{right}{what}; roles that have it: {', '.join(holders) or 'none'}")
    return actor


def require_app(app, right: str) -> Actor:
    """:func:`require` for a service that runs its own transactions (an import, the jobs, delivery)."""
    with app.transaction() as session:
        return require(app, session, right)


def require_command(app, session, path: str) -> Actor:
    """The door's check: the right the command ``path`` declares (an undeclared command: admins only)."""
    right = command_rights(app).get(path)
    if right is None:
        actor = current_actor(app, session)
        if "admin" in actor.roles:
            return actor
        raise PermissionDenied(f"command 'crm {path}' declares no right, so only admins may run it (its module "
                               f"lists it in the commands of a Permission in register_permissions)")
    return require(app, session, right)


# --- record rules -------------------------------------------------------------------------------

def install_record_rules(app, session_factory) -> None:
    """Limit the queries and writes of ``session_factory``'s sessions by the record rules (own/team scopes)."""
    from core import recordrules

    recordrules.install(app, session_factory)


# --- nobody is locked out ---------------------------------------------------------------------------

def adopt_operator(connection) -> str | None:
    """Map whoever creates or migrates the workspace to an admin user, if they are nobody yet.

    On SQLite that is the OS login (who can write the file can do anything anyway); on PostgreSQL
    the ``current_user``, only when it may create objects in the schema (the owner's kind of role:
    an operator's role is never promoted by running ``crm migrate``).

    :returns: the login of the user mapped, or None when nothing changed
    """
    import re

    from sqlalchemy import select, text, update

    from core.db import utcnow
    from core.models import AuditEntry, User, UserRole

    who = database_user(connection)
    postgres = connection.dialect.name == "postgresql"
    column = User.db_role if postgres else User.os_login
    if connection.execute(select(User.id).where(column == who)).first():
        return None
    if postgres and not connection.execute(text("SELECT has_schema_privilege(current_schema(), 'CREATE')")).scalar():
        return None
    login = re.sub(r"[^a-z0-9._-]", "-", who.lower())[:64] or "admin"
    row = connection.execute(select(User.id, column).where(User.login == login)).first()
    if row is not None and row[1] is None:
        connection.execute(update(User).where(User.id == row.id).values({column.key: who}))
        user_id = row.id
    else:
        if row is not None:  # the login is someone else's mapping: take a free one
            login = f"{login}-admin"
        user_id = connection.execute(User.__table__.insert().values(
            login=login, name=who, role="admin", active=True, created_at=utcnow(), **{column.key: who})).inserted_primary_key[0]
    if not connection.execute(select(UserRole.role).where(UserRole.user_id == user_id, UserRole.role == "admin")).first():
        connection.execute(UserRole.__table__.insert().values(user_id=user_id, role="admin"))
    connection.execute(AuditEntry.__table__.insert().values(
        logged_at=utcnow(), user_login=login, db_user=who, command="crm init/migrate", action="create",
        record_type="core_user", record_id=str(user_id), record_label=login,
        changes='{"role": [null, "admin"], "%s": [null, "%s"]}' % (column.key, who.replace('"', ""))))
    return login
