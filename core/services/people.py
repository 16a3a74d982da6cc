"""Users and teams."""

from __future__ import annotations

from sqlalchemy import select

from core.errors import NotFound, ValidationError
from core.models import Team, User
from core.security import require


def get_user(session, login: str) -> User:
    """A user by login."""
    user = session.scalars(select(User).where(User.login == login.strip().lower())).first()
    if user is None:
        raise NotFound(f"user {login!r}: no such user (see `crm user list`)")
    return user


def get_team(session, name: str) -> Team:
    """A team by name."""
    team = session.scalars(select(Team).where(Team.name == name.strip())).first()
    if team is None:
        raise NotFound(f"team {name!r}: no such team (see `crm team list`)")
    return team


def create_user(session, raw: dict, *, record: str | None = None) -> User:
    """Create a user; the login is unique."""
    from core.schemas import UserSchema, load

    require(session.info["app"], session, "core.users")
    record = record or f"user {str(raw.get('login', '')).strip()!r}"
    data = load(UserSchema(), raw, record)
    if session.scalars(select(User.id).where(User.login == data["login"])).first():
        raise ValidationError("already taken", record=record, field="login")
    user = User(**data)
    session.add(user)
    session.flush()
    return user


def create_team(session, raw: dict) -> Team:
    """Create a team with its leader and members (by login); the leader is a member too."""
    from core.schemas import TeamSchema, load

    require(session.info["app"], session, "core.users")
    data = load(TeamSchema(), raw, f"team {str(raw.get('name', '')).strip()!r}")
    if session.scalars(select(Team.id).where(Team.name == data["name"])).first():
        raise ValidationError("already taken", record=f"team {data['name']!r}", field="name")
    team = Team(name=data["name"])
    if data["leader"]:
        team.leader = get_user(session, data["leader"])
    members = {u.login: u for u in (get_user(session, login) for login in data["members"])}
    if team.leader is not None:
        members.setdefault(team.leader.login, team.leader)
    team.members = list(members.values())
    session.add(team)
    session.flush()
    return team


def list_users(session):
    return session.scalars(select(User).order_by(User.login)).all()


def list_teams(session):
    return session.scalars(select(Team).order_by(Team.name)).all()


def user_dict(user: User) -> dict:
    return {"id": user.id, "login": user.login, "name": user.name, "email": user.email,
            "role": user.role, "active": user.active, "os_login": user.os_login, "db_role": user.db_role}


def team_dict(team: Team) -> dict:
    return {"id": team.id, "name": team.name, "leader": team.leader.login if team.leader else None,
            "members": [u.login for u in team.members]}
