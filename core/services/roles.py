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
    from core.pgroles import grant_operator

    grant_operator(app, session, user)  # their database role follows their rights (PostgreSQL)
    return user_roles(session, user)


def user_roles(session, user: User) -> list[str]:
    """Every role ``user`` holds: ``core_user.role`` and those given with ``crm user role``."""
    return sorted({user.role, *session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))})


def set_identity(app, session, login: str, *, os_login: str | None = None, db_role: str | None = None) -> User:
    """Say which OS login (SQLite) or database role (PostgreSQL) is user ``login``.

    On PostgreSQL the database role is granted what the user's rights need, and a role it replaces
    loses its grants (:mod:`core.pgroles`).
    """
    from core.pgroles import grant_operator, revoke_operator

    require(app, session, "core.users")
    user = get_user(session, login)
    before = user.db_role
    for column, value in (("os_login", os_login), ("db_role", db_role)):
        if value is None:
            continue
        other = session.scalars(select(User).where(getattr(User, column) == value, User.id != user.id)).first()
        if other is not None:
            raise ValidationError(f"already {other.login}'s", record=f"user {user.login}", field=column)
        setattr(user, column, value or None)
    session.flush()
    if db_role is not None:
        if before and before != user.db_role:
            revoke_operator(app, session, before)
        grant_operator(app, session, user)
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
the CLI, the jobs, the HTTP API and any other module ask the same question (a service that runs
its own transactions, an import or the jobs, calls `require_app(app, right)`). A flow that does
something as its consequence checks the right of the flow: confirming an order posts its invoice
under `core.order.write`, a credit note is posted under `billing.invoice.credit`; posting by hand
needs `billing.invoice.post`. An import needs `core.import` and the right of what it writes
(`crm import products` also needs `core.product.write`). A refused action names who, the
missing right and the roles that have it, exits with status 4 and writes nothing. `admin` holds
every right. Custom roles: `crm role create NAME [--from ROLE] [--scope own|team|all]`,
`crm role grant|revoke NAME RIGHT...`; `crm user role LOGIN ROLE [--remove]` gives a role (a
user also holds the role of `crm user add --role`).

**Record rules** (`register_record_rules`, applied by `core/recordrules.py`): a role whose scope
is `own` (sales) sees and changes only the records it owns, `team` (sales_manager) those of its
teams' members, `all` (collections, purchasing, accountant, admin, system) everything; a record
nobody owns is everyone's. The kernel adds the rule to every ORM query of such a user, so lists,
shows, exports and reports are limited alike, and a record outside the rule does not exist for
them: `crm partner show` of a colleague's customer says "no such partner", as for a typo.
Reports written in SQL take the reader's users from the period (`Period.visible_ids`); the
aging and the receivables are per customer (those the reader sees). Rules:

| rule | a row belongs to |
| --- | --- |
| `core.partner` | the customer's salesperson (`core_partner.salesperson_id`) |
| `core.order` | the order's salesperson |
| `billing.invoice` | the invoice's salesperson (the order's, else the customer's) |
| `billing.payment`, `.refund`, `.write_off`, `.reminder`, `.case`, `.task` | whoever sees the customer |
| `funnel.lead`, `funnel.deal`, `funnel.activity` | their owner |

Why so, as Odoo's "own documents only" rules on `sale.order` and `crm.lead` (`user_id` is me or
nobody) and the invoice's salesperson: **a salesperson works only for the customers they see**.
A deal, an order or a lead conversion names a customer they see, or it is "no such partner"; an
order takes the customer's salesperson, else the salesperson who takes it; a deal's order is its
owner's. A lead whose company is already a colleague's customer is not converted into a second
customer: crm says so, and their manager converts it or hands the customer over (`crm partner
edit ID --salesperson LOGIN`). Nothing can be given away or taken: a limited user may not make a
record belong to someone they do not see, nor change one that does. What a record they see
shows of another one (the customer named on their order) is shown with it. Duplicate checks
(SIREN, e-mail, a lead's company) look at every record, and name one the user does not see only
as "a partner another salesperson owns". The demo gives each customer a salesperson and runs
each step as that person.

## The audit trail

Every change to a record (create, update with each field's before and after, delete), every
command that may change something, every module enabled or disabled and every job run is in
`core_audit` with who, the business date, the wall time and the command line, written in the
same transaction. `crm audit [--record invoice:F2026-000012] [--user LOGIN] [--from D --to D]
[--json]` reads it. On PostgreSQL the money tables (invoices, lines, payments, allocations,
refunds, write-offs) are recorded by triggers, so an UPDATE typed in psql is there too with the
role that typed it; a trigger refuses every UPDATE, DELETE and TRUNCATE of the trail, whoever
asks. The triggers record an amount as it is stored (cents: `12000`); `crm audit` shows it as the
services write it on either database (`"120.00"`, a quantity `"2.000"`). The three bulk imports
write their rows set-based and are recorded by their command, not row by row: `crm lead import`
(the command line names the file), `crm market import` (reference data) and `crm payment import`,
whose bank statement is in the trail with the file's SHA-256 and its line counts, and whose
payments, allocations, write-offs and settled invoices are each recorded.

Every document that leaves crm is in the trail too. A message the outbox delivers (an invoice,
a reminder, a statement, a purchase order, by e-mail, file or webhook) is recorded as `sent` in
the commit that marks it sent: who delivered it (the `system` user and who launched the jobs, or
the operator of `crm notifications deliver`), the business date and wall time, the command, the
recipients, the subject and the documents attached; `crm audit --record invoice:F2026-000042`
finds it. A document written to a file (`crm invoice pdf|facturx`, `crm po pdf`,
`crm documents print`, `crm partner statement`, `crm reminders letter`) is recorded as `printed`
with the file.

## Database roles (PostgreSQL)

`crm user identity LOGIN --db-role ROLE` maps an existing role (`CREATE ROLE alice_pg LOGIN`,
made by the database's administrator) and grants it exactly what that user needs in the
workspace's schema, after revoking whatever it had: `USAGE` on the schema, `SELECT` on every
table and `USAGE, SELECT` on the sequences; `SELECT, INSERT` on `core_audit`, never `UPDATE` or
`DELETE`; `INSERT, UPDATE, DELETE` on the business tables; on the tables of users, roles and
teams only for holders of `core.users`, on the company's for `core.company`, on the jobs' runs
for `core.jobs.run` (so no salesperson makes themselves admin with psql); nothing more on the
migration tables. `crm user role` grants again when the user's roles change, `--db-role ''`
revokes everything, and `crm migrate` or enabling a module grants the new tables to every
mapped role. Run these as the role that owns the workspace's tables.
"""
