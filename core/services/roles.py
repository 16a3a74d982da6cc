"""Roles and users' identities: custom roles, their rights, who holds which role, who is which login."""

from __future__ import annotations

from sqlalchemy import delete, select

from core.errors import NotFound, ValidationError
from core.models import Role, RoleRight, User, UserRole
from core.security import BUILTIN_ROLES, SCOPES, builtin_rights, permissions, require
from core.services.people import get_user

ROLE_NAME = r"^[a-z][a-z0-9_]{1,39}$"


def list_roles(app, session) -> list[dict]:
    """Built-in roles then custom ones, each with its scope and how many rights it holds."""
    rows = [{"name": name, "builtin": True, "scope": scope, "description": text,
             "rights": len(builtin_rights(app, name))} for name, (text, scope) in BUILTIN_ROLES.items()]
    for role in session.scalars(select(Role).order_by(Role.name)):
        count = len(session.scalars(select(RoleRight.right).where(RoleRight.role_id == role.id)).all())
        rows.append({"name": role.name, "builtin": False, "scope": role.scope, "description": role.description,
                     "rights": count})
    return rows


def show_role(app, session, name: str) -> dict:
    """A role with its rights (name and summary) and the users holding it."""
    from core.security import role_rights

    row = next((r for r in list_roles(app, session) if r["name"] == name), None)
    if row is None:
        raise NotFound(f"role {name!r}: no such role (see `crm role list`)")
    perms = permissions(app)
    rights = sorted(role_rights(app, session.connection(), name))
    holders = session.scalars(select(User.login).outerjoin(UserRole, UserRole.user_id == User.id)
                              .where((User.role == name) | (UserRole.role == name)).distinct().order_by(User.login))
    return row | {"rights": [{"name": r, "summary": perms[r].summary if r in perms else "(not declared)"}
                             for r in rights], "users": list(holders)}


def create_role(app, session, name: str, *, description: str | None = None, scope: str = "all",
                based_on: str | None = None) -> Role:
    """A custom role, empty or with the rights of ``based_on``."""
    import re

    from core.security import role_rights

    require(app, session, "core.users")
    if not re.match(ROLE_NAME, name or ""):
        raise ValidationError("lower-case letters, digits and _, starting with a letter", record=f"role {name!r}",
                              field="name")
    if name in BUILTIN_ROLES or session.scalars(select(Role.id).where(Role.name == name)).first():
        raise ValidationError("already taken", record=f"role {name!r}", field="name")
    if scope not in SCOPES:
        raise ValidationError(f"one of {', '.join(SCOPES)}", record=f"role {name!r}", field="scope")
    role = Role(name=name, description=description, scope=scope)
    session.add(role)
    session.flush()
    if based_on:
        _known_role(session, based_on)
        for right in sorted(role_rights(app, session.connection(), based_on)):
            session.add(RoleRight(role_id=role.id, right=right))
    session.flush()
    return role


def grant(app, session, name: str, right: str) -> None:
    """Give custom role ``name`` the right ``right`` (a declared one)."""
    role = _custom(app, session, name, right)
    if right not in permissions(app):
        raise ValidationError("no module declares this right (see `crm role show admin`)", record=f"role {name}",
                              field=right)
    if not session.get(RoleRight, (role.id, right)):
        session.add(RoleRight(role_id=role.id, right=right))
        session.flush()


def revoke(app, session, name: str, right: str) -> None:
    """Take ``right`` from custom role ``name``."""
    role = _custom(app, session, name, right)
    found = session.get(RoleRight, (role.id, right))
    if found is None:
        raise ValidationError("the role does not hold this right", record=f"role {name}", field=right)
    session.delete(found)
    session.flush()


def _custom(app, session, name: str, right: str) -> Role:
    require(app, session, "core.users")
    if name in BUILTIN_ROLES:
        raise ValidationError(f"built-in roles are declared by the modules; make a custom one: "
                              f"crm role create my_{name} --from {name}", record=f"role {name}", field="name")
    role = session.scalars(select(Role).where(Role.name == name)).first()
    if role is None:
        raise NotFound(f"role {name!r}: no such role (see `crm role list`)")
    return role


def _known_role(session, name: str) -> None:
    if name not in BUILTIN_ROLES and not session.scalars(select(Role.id).where(Role.name == name)).first():
        raise NotFound(f"role {name!r}: no such role (see `crm role list`)")


def give_role(app, session, login: str, role: str, *, remove: bool = False) -> list[str]:
    """Give ``login`` the role (or take it back with ``remove``); returns the user's roles."""
    require(app, session, "core.users")
    user = get_user(session, login)
    _known_role(session, role)
    held = session.get(UserRole, (user.id, role))
    if remove:
        if held is None and user.role != role:
            raise ValidationError(f"does not hold the role {role}", record=f"user {user.login}", field="role")
        if held is not None:
            session.delete(held)
    elif held is None and user.role != role:
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    return user_roles(session, user)


def user_roles(session, user: User) -> list[str]:
    """Every role ``user`` holds: ``core_user.role`` and those given with ``crm user role``."""
    return sorted({user.role, *session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))})


def set_identity(app, session, login: str, *, os_login: str | None = None, db_role: str | None = None) -> User:
    """Say which OS login (SQLite) or database role (PostgreSQL) is user ``login``."""
    require(app, session, "core.users")
    user = get_user(session, login)
    for column, value in (("os_login", os_login), ("db_role", db_role)):
        if value is None:
            continue
        other = session.scalars(select(User).where(getattr(User, column) == value, User.id != user.id)).first()
        if other is not None:
            raise ValidationError(f"already {other.login}'s", record=f"user {user.login}", field=column)
        setattr(user, column, value or None)
    session.flush()
    return user


def remove_rights_of(session, role_id: int) -> None:
    session.execute(delete(RoleRight).where(RoleRight.role_id == role_id))


def matrix(app) -> list[dict]:
    """Every declared command with its right and, per built-in role, whether the role may run it."""
    from core.security import BUILTIN_ROLES, command_rights

    rights = {role: builtin_rights(app, role) for role in BUILTIN_ROLES}
    return [{"command": path, "right": right, "roles": {role: right in rights[role] for role in BUILTIN_ROLES}}
            for path, right in sorted(command_rights(app).items())]


def matrix_markdown(app) -> str:
    """docs/permissions.md: the roles, the rights, and the allow/deny matrix of every command."""
    from core.security import BUILTIN_ROLES, permissions

    roles = list(BUILTIN_ROLES)
    lines = [PERMISSIONS_INTRO.rstrip(), "", "## Roles", "", "| role | sees | for |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {scope} | {text} |" for name, (text, scope) in BUILTIN_ROLES.items()]
    lines += ["", "## Rights", "", "| right | allows | built-in roles holding it |", "| --- | --- | --- |"]
    for perm in sorted(permissions(app).values(), key=lambda p: p.name):
        holders = [role for role in roles if perm.name in builtin_rights(app, role)]
        lines.append(f"| `{perm.name}` | {perm.summary} | {', '.join(holders)} |")
    lines += ["", "## Commands", "", "Each command needs one right, checked before it runs (✓ allowed, · refused with "
              "exit status 4).", "", "| command | right | " + " | ".join(roles) + " |",
              "| --- | --- | " + " | ".join("---" for _ in roles) + " |"]
    for row in matrix(app):
        marks = " | ".join("✓" if row["roles"][role] else "·" for role in roles)
        lines.append(f"| `crm {row['command']}` | `{row['right']}` | {marks} |")
    return "\n".join(lines) + "\n"


PERMISSIONS_INTRO = """\
# People, roles and rights

<!-- Generated by `crm role matrix --markdown` in a workspace with every module enabled; a test
compares this file with the code (tests/security/test_matrix.py). Do not edit by hand. -->

## Who is running

Every command runs as a crm user, and crm finds out who from the connection, never from what
you type:

- **PostgreSQL**: each operator connects with their own database role (password, `.pgpass`,
  service file, peer or certificate: whatever libpq supports) and crm maps `current_user` to the
  user whose database role it is (`crm user identity alice --db-role alice_pg`).
- **SQLite**: the OS login of the real uid (not `$USER`) is mapped to a user
  (`crm user identity alice --os-login alice`). **On SQLite the database file's permissions are
  the boundary**: whoever can write `crm.db` can change anything in it, rights or not. Keep the
  workspace private (crm makes it so) and use PostgreSQL for a team.
- `crm whoami [--json]` says who crm takes you for. No environment variable makes you someone
  else. An admin holding `core.impersonate` may act as another user with `crm --as LOGIN ...`;
  the audit trail then reads "admin as alice". `--user LOGIN` on the funnel's and collections'
  commands records the action as done by LOGIN, with the same right.
- `crm init` maps whoever creates the workspace to an admin user, and `crm migrate` does the
  same for whoever runs it if they are nobody yet (on PostgreSQL only a role that may create
  objects in the schema), so nobody is locked out.
- Jobs (`crm jobs run`, the worker) run as the `system` user with the `system` role: only the
  rights their jobs need. The trail keeps who launched them.

## Roles, rights and record rules

Modules declare their rights with the `register_permissions` hook and the built-in roles that
hold them; the services call `core.security.require(app, session, right)` before they write, so
the CLI, the jobs and any other door ask the same question. A refused action names who, the
missing right and the roles that have it, exits with status 4 and writes nothing. `admin` holds
every right. Custom roles: `crm role create NAME [--from ROLE] [--scope own|team|all]`,
`crm role grant|revoke NAME RIGHT...`; `crm user role LOGIN ROLE [--remove]` gives a role (a
user also holds the role of `crm user add --role`).

Record rules (`register_record_rules`): a role whose scope is `own` (sales) sees and changes only
the records it owns, `team` (sales_manager) those of its teams' members, `all` everything; a
record nobody owns is everyone's. The kernel adds the rule to every query of such a user
(lists, shows, reports, exports). Rules declared: leads, deals and activities by owner
(funnel). None yet for customers and sales orders: the services follow a deal to its customer,
who often belongs to another salesperson, so that rule needs those lookups to bypass it first.

## The audit trail

Every change to a record (create, update with each field's before and after, delete), every
command that may change something, every module enabled or disabled and every job run is in
`core_audit` with who, the business date, the wall time and the command line, written in the
same transaction. `crm audit [--record invoice:F2026-000012] [--user LOGIN] [--from D --to D]
[--json]` reads it. On PostgreSQL the money tables (invoices, lines, payments, allocations,
refunds, write-offs) are recorded by triggers, so an UPDATE typed in psql is there too with the
role that typed it; a trigger refuses every UPDATE, DELETE and TRUNCATE of the trail, whoever
asks. Grant operator roles `SELECT, INSERT` on `core_audit` (and `USAGE` on its sequence), never
`UPDATE` or `DELETE`.
"""
