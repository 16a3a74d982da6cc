"""What a module's routes use: the request's session and app, the body, documented schemas, pagination.

A module declares a :class:`flask_smorest.Blueprint` in its ``register_routes`` hook::

    from core.api.http import Blueprint, Record, body, payload, session

    blp = Blueprint("commissions", __name__, url_prefix="/api/v1/commissions")

    @blp.get("/rates")
    @blp.response(200, RateOut(many=True))
    def rates():
        return services.list_rates(session())

Each request runs in one transaction (committed when the view returns, rolled back when it
raises), as the token's user with that user's rights and record rules; the services' errors
become RFC 9457 problem details (core.api.web).
"""

from __future__ import annotations

import http as _http
from collections.abc import Sequence
from copy import deepcopy
from functools import wraps

from flask import current_app, g, request
from flask_smorest import Blueprint, Page  # noqa: F401 - re-exported for the modules
from marshmallow import Schema, post_dump

from core.errors import ValidationError

__all__ = ["Blueprint", "Page", "Record", "Rows", "app", "body", "each", "payload", "public", "requires", "session"]


def app():
    """The :class:`core.app.App` serving this request."""
    return current_app.extensions["crm"]


def session():
    """The session of this request's transaction."""
    return g.crm_session


def payload(*, required: bool = True) -> dict:
    """The request's JSON object, raw: the service validates it, with the same errors as the CLI.

    ``required=False``: an empty body reads as ``{}`` (a cancel whose reason is optional).
    """
    if not required and not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("the request body must be a JSON object (Content-Type: application/json)",
                              field="body")
    return data


def requires(right: str):
    """The right a route asks at its door, as a command does (the services check theirs again).

    Every route names one (or is :func:`public`): the server refuses to start otherwise.
    """
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            from core.security import require

            require(app(), session(), right)
            return view(*args, **kwargs)

        wrapper._crm_right = right
        return wrapper

    return decorator


def extensions_of(data: dict) -> dict | None:
    """The modules' fields of a body (``"extensions": {"credit_hold": {"limit": "5000"}}``), taken out of it."""
    found = data.pop("extensions", None)
    if found is not None and not isinstance(found, dict):
        raise ValidationError("must be an object of {module: {field: value}}", field="extensions")
    return found


def public(view):
    """A route anyone may call without a token (it acts as ``anonymous``: no right, no record)."""
    view._crm_public = True
    view._apidoc = {**getattr(view, "_apidoc", {}), "manual_doc": {"security": []}}  # no token in the OpenAPI
    return view


def body(schema, *, description: str | None = None, example=None):
    """Document ``schema`` as the JSON body of the route (the view reads it with :func:`payload`).

    The body is not parsed here: the service validates the raw data, so a refusal reads the same
    as at the command line (``partner 'X': siren: ...``) and nothing is checked twice.
    """
    parameters = {"in": "json", "required": True, "schema": schema}
    if description:
        parameters["description"] = description
    if example is not None:
        parameters["example"] = example

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)

        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        docs = wrapper._apidoc.setdefault("arguments", {})
        docs.setdefault("parameters", []).append(parameters)
        docs.setdefault("responses", {})[422] = _http.HTTPStatus(422).name
        return wrapper

    return decorator


class Record(Schema):
    """An output schema: the fields it declares are documented; the service's other keys pass through.

    The services' dicts (``order_dict``...) are the stable shapes the CLI's ``--json`` prints; a
    response schema names and types their main keys for the OpenAPI document, and keys it does not
    declare (a module's extension fields) are kept as they are, never dropped.
    """

    @post_dump(pass_original=True)
    def _keep_the_rest(self, data, original, **kwargs):
        if isinstance(original, dict):
            for key, value in original.items():
                data.setdefault(key, value)
        return data


class Rows(Sequence):
    """The rows of a list, shaped by ``shape(page_of_rows) -> [dict]`` only for the page asked
    (``@blp.paginate(Page)``).

    ``rows`` is a list, or better a ``Select`` of whole records, run page by page: a ``COUNT`` for the
    total and ``LIMIT``/``OFFSET`` for the page (a page of 20 out of 100,000 invoices reads 20), the
    record rules applying to both. ``load(select) -> [records]`` reads a page (default: the records
    as they come; a service passes its own to load what its shape reads in a few queries).
    """

    def __init__(self, rows, shape, *, load=None):
        self.rows = rows
        self.shape = shape
        self.load = load or (lambda query: session().scalars(query).unique().all())

    def __len__(self):
        if isinstance(self.rows, Sequence):
            return len(self.rows)
        from sqlalchemy import func, select

        return session().scalar(select(func.count()).select_from(self.rows.order_by(None).subquery()))

    def __getitem__(self, index):
        if isinstance(self.rows, Sequence):
            page = self.rows[index] if isinstance(index, slice) else [self.rows[index]]
        elif isinstance(index, slice):
            start = index.start or 0
            page = self.load(self.rows.offset(start).limit(max(index.stop - start, 0)))
        else:
            page = self.load(self.rows.offset(index).limit(1))
        return self.shape(page) if isinstance(index, slice) else self.shape(page)[0]


def each(shape):
    """A page shaper from a one-row shaper: ``Rows(rows, each(lambda lead: lead_dict(session(), lead)))``."""
    return lambda rows: [shape(row) for row in rows]
