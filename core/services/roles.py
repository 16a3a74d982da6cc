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
