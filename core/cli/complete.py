"""Completion of record references (invoice numbers, partner names...) for ``crm shell``'s tab key
and click's shell completion: a cheap query per keystroke, through the app's usual session."""

from __future__ import annotations

from typing import Callable

#: at most this many suggestions per key press
LIMIT = 50


def references(column_of: Callable) -> Callable:
    """A click ``shell_complete`` callback offering the values of a column that start with what is typed.

    ``column_of`` returns the column (``lambda: Invoice.number``), so the models are imported only
    when something is completed. Case does not matter; nothing is offered when the workspace does
    not open (completion never raises).
    """

    def complete(ctx, param, incomplete: str):
        from click.shell_completion import CompletionItem

        from core.cli.context import State

        state = ctx.find_object(State)
        app = state.try_app() if state is not None else None
        if app is None:
            return []
        try:
            from sqlalchemy import String, cast, func, select

            column = column_of()
            text = cast(column, String)
            prefix = incomplete.lstrip("'\"").lower()
            query = select(text).where(column.is_not(None))
            if prefix:
                query = query.where(func.lower(text).startswith(prefix, autoescape=True))
            with app.transaction() as session:
                values = session.scalars(query.distinct().order_by(text).limit(LIMIT)).all()
        except Exception:  # a completion that fails offers nothing; the command itself will say why
            return []
        return [CompletionItem(value) for value in values]

    return complete
