"""Record rules at work: one SQL filter on every ORM query of a limited actor, one check on its writes.

Modules declare their rules (:class:`core.security.RecordRule`, hook ``register_record_rules``);
this module applies them, so lists, shows, reports and exports of every module are limited the
same way and a record outside the rule does not exist for that user (a show says "not found").

- **Reading.** Each ORM ``SELECT`` (``UPDATE``/``DELETE`` too) of an actor whose scope is ``own``
  or ``team`` gets, for every rule, ``owner IS NULL OR owner IN (the users they may see)``; a rule
  that ``follows`` another record (a payment follows its customer) gets ``column IN (the ids of
  the records of that rule they may see)``. A record reached *through* one they may see (the
  customer named on their order, loaded as its relationship) is part of it and is not filtered.
- **Writing.** A flush refuses to create or change a record of a rule so that it belongs to
  somebody the actor may not see, or to change one that belongs to such a person (a salesperson
  neither gives a customer, a deal or an order to a colleague nor takes or edits theirs): one
  line naming who, the record and the owner, and nothing is written.
"""

from __future__ import annotations

from contextlib import contextmanager


def install(app, session_factory) -> None:
    """Filter the queries of ``session_factory``'s sessions and check their flushes.

    The listeners find the app in ``session.info["app"]`` (the factory's ``info``): a listener
    holding the app would keep it, its engine and its caches alive in SQLAlchemy's registry of
    Session listeners for the life of the process (the demo makes an app per command).
    """
    from sqlalchemy import event

    event.listen(session_factory, "do_orm_execute", _filter)
    event.listen(session_factory, "before_flush", _check_writes)


def visible_users(actor) -> tuple | None:
    """The user ids whose records ``actor`` sees, or None when they see every record."""
    if actor is None or actor.scope == "all":
        return None
    return (actor.user_id,) if actor.scope == "own" else actor.team_user_ids


def criterion(app, rule, users: tuple):
    """The SQL condition a row of ``rule.model`` meets when one of ``users`` may see it."""
    from sqlalchemy import inspect, or_, select

    from core.security import record_rules

    column = getattr(rule.model, rule.owner)
    if rule.follows is None:
        return or_(column.is_(None), column.in_(users))
    parent = next((r for r in record_rules(app).values() if r.model is rule.follows), None)
    if parent is None:
        return None  # the record it follows has no rule: everyone sees it, and so this row
    key = inspect(rule.follows).primary_key[0]
    return or_(column.is_(None), column.in_(select(key).where(criterion(app, parent, users))))


def _ruled(app) -> frozenset:
    found = app.__dict__.get("_ruled_mappers")
    if found is None:
        from sqlalchemy import inspect

        from core.security import record_rules

        found = app.__dict__["_ruled_mappers"] = frozenset(inspect(r.model) for r in record_rules(app).values())
    return found


def _actor(app, state):
    """The app's actor; identified now if the statement reads a ruled entity and nobody asked yet
    (the statement's entities are looked at only then: finding them costs more than the rest)."""
    actor = getattr(app, "actor", None)
    if actor is None and any(mapper in _ruled(app) for mapper in state.all_mappers):
        from core.security import current_actor

        actor = current_actor(app, state.session)  # an unmapped identity is refused here, as at every door
    return actor


@contextmanager
def every_record(session):
    """Queries of this block see every record, whatever the actor's rules: for the checks that must
    (a duplicate SIREN is a duplicate even if another salesperson owns it), never to show them."""
    before = session.info.get("every_record", False)
    session.info["every_record"] = True
    try:
        yield session
    finally:
        session.info["every_record"] = before


def sees(app, session, obj) -> bool:
    """Whether the actor may see ``obj``, a record of a rule declared with an ``owner`` column."""
    from core.security import current_actor, record_rules

    users = visible_users(current_actor(app, session))
    rule = next((r for r in record_rules(app).values() if r.model is type(obj) and r.follows is None), None)
    return users is None or rule is None or getattr(obj, rule.owner) in (None, *users)


def _filter(state) -> None:
    app = state.session.info["app"]
    if state.is_column_load or state.is_relationship_load or state.session.info.get("every_record"):
        return  # a record's own columns, the records hanging off one already allowed, or a duplicate check
    users = visible_users(_actor(app, state))
    if users is None:
        return
    statement = state.statement
    memo = _limited(app)
    limited = memo.get(statement)
    if limited is None:
        limited = memo[statement] = {}
    found = limited.get(users)
    if found is None:
        from sqlalchemy.sql.util import find_tables

        options = _options(app, users)
        tables = {t.name for t in find_tables(statement, include_joins=True, include_aliases=True, include_crud=True)}
        wanted = [option for table, option in options.items() if table in tables]
        # only the rules of the tables it reads: each option costs every statement its cache key
        found = limited[users] = statement.options(*wanted) if wanted else _UNRULED
    if found is not _UNRULED:
        state.statement = found


#: what :func:`_limited` keeps for a statement that reads no ruled table (not the statement itself:
#: a value holding its own weak key would keep it forever)
_UNRULED = object()


def _limited(app):
    """``{statement: {users: the statement with their rules}}``: a statement built once (a service's
    prepared query) is limited once per set of users, its cache key computed once; an entry goes with
    its statement (weak keys), so the statements built per call leave nothing behind."""
    found = app.__dict__.get("_limited_statements")
    if found is None:
        from weakref import WeakKeyDictionary

        found = app.__dict__["_limited_statements"] = WeakKeyDictionary()
    return found


def _options(app, users: tuple) -> dict:
    """``{table: loader criteria}`` of every rule for ``users``, built once per set of users."""
    cache = app.__dict__.setdefault("_rule_options", {})
    found = cache.get(users)
    if found is None:
        from sqlalchemy.orm import with_loader_criteria

        from core.security import record_rules

        found = cache[users] = {
            rule.model.__table__.name: with_loader_criteria(rule.model, condition, include_aliases=True,
                                                            propagate_to_loaders=False)
            for rule in record_rules(app).values() if (condition := criterion(app, rule, users)) is not None}
    return found


def _check_writes(session, flush_context, instances) -> None:
    app = session.info["app"]
    users = visible_users(getattr(app, "actor", None))
    if users is None:
        return
    from core.security import record_rules

    owned = {r.model: r for r in record_rules(app).values() if r.follows is None}
    for obj in [*session.new, *session.dirty]:
        rule = owned.get(type(obj))
        if rule is None:
            continue
        owner, changed = _owner(obj, rule)
        if owner is not None and owner not in users and (changed or obj in session.new):
            _refuse(app, session, obj, rule, owner, "make {record} belong to {user}")
        before = _owner_before(obj, rule)
        if obj in session.dirty and before is not None and before not in users:
            _refuse(app, session, obj, rule, before, "change {record}, which belongs to {user}")


def _owner_before(obj, rule) -> int | None:
    """The owner ``obj`` has in the database (before this flush)."""
    from sqlalchemy import inspect

    history = inspect(obj).attrs[rule.owner].history
    before = [*history.deleted, *history.unchanged]
    return before[0] if before else None


def _owner(obj, rule) -> tuple[int | None, bool]:
    """The owner ``obj`` will have once flushed, and whether that changed: its column, or the user
    its relationship on that column names (set as an object, the column is filled only by the flush)."""
    from sqlalchemy import inspect

    state = inspect(obj)
    owner, changed = getattr(obj, rule.owner), state.attrs[rule.owner].history.has_changes()
    for key in _owner_relationships(state.mapper, rule.owner):
        if key in state.dict and state.attrs[key].history.has_changes():
            related = state.dict[key]
            owner, changed = (getattr(related, "id", None) if related is not None else None), True
    return owner, changed


_RELATIONSHIPS: dict = {}


def _owner_relationships(mapper, owner: str) -> tuple[str, ...]:
    """The relationships of ``mapper`` that set its ``owner`` column (``salesperson`` for ``salesperson_id``)."""
    found = _RELATIONSHIPS.get((mapper, owner))
    if found is None:
        column = mapper.columns[owner]
        found = _RELATIONSHIPS[(mapper, owner)] = tuple(
            r.key for r in mapper.relationships if column in r.local_columns)
    return found


def _refuse(app, session, obj, rule, owner, what: str) -> None:
    from core.models import User
    from core.security import PermissionDenied

    actor = app.actor
    with session.no_autoflush:
        user = session.get(User, owner)
    whose = "their own" if actor.scope == "own" else "their teams'"
    label = next((str(getattr(obj, key)) for key in ("number", "name", "id") if getattr(obj, key, None)), "(new)")
    action = what.format(record=f"{rule.name} {label}", user=user.login if user else owner)
    raise PermissionDenied(f"{actor.who} sees only {whose} records (record rule {rule.name}), so may not {action}")
