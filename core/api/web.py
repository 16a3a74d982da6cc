"""The Flask application behind ``crm serve``: one transaction per request, as the token's user.

A request goes: bearer token → actor (the token's user, rights, record rules; ``core.api.tokens``)
→ ``X-Crm-Today`` (admins only) → one transaction around the view → the response (kept for its
``Idempotency-Key`` on a POST) → commit (a GET rolls back: a read writes nothing). Errors of every
kind leave as RFC 9457 problem details.
A worker serves one request at a time (gunicorn's sync workers): the app's actor, business date
and command line are the request's while it runs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api

from core.api.problems import Problem
from core.db import READ_ONLY
from core.security import Actor

log = logging.getLogger("crm.api")
API_PREFIX = "/api/v1"
TODAY_HEADER = "X-Crm-Today"
SAFE = ("GET", "HEAD", "OPTIONS")
#: who a public route (lead capture, the health check) acts as: nobody, with no right and no record
ANONYMOUS = Actor(login="anonymous", user_id=None, roles=frozenset(), rights=frozenset(), scope="own")


class JSON(DefaultJSONProvider):
    """Exact JSON: Decimals as strings (never floats), dates as ISO 8601."""

    sort_keys = False

    @staticmethod
    def default(value):
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return DefaultJSONProvider.default(value)


class CrmApi(Api):
    """flask-smorest's Api, with HTTP errors (404 route, 405, webargs 422) as problem details."""

    ERROR_SCHEMA = Problem

    def handle_http_exception(self, error):
        from core.api.problems import http_problem

        return http_problem(error)


class CrmFlask(Flask):
    json_provider_class = JSON

    def dispatch_request(self):
        from core.api import idempotency

        if request.routing_exception is not None:
            return super().dispatch_request()  # 404 / 405, no transaction
        crm = self.extensions["crm"]
        view = self.view_functions[request.url_rule.endpoint]
        public = getattr(view, "_crm_public", False) or request.url_rule.endpoint.startswith("api-docs.")
        is_page = getattr(view, "_crm_page", False)
        if is_page and not public:
            from core.api import pages
            from core.api.tokens import Unauthenticated

            try:
                crm.actor = pages.authenticate(crm)
            except Unauthenticated:
                if request.method in SAFE:
                    return pages.to_login()
                raise
            if request.method not in SAFE:
                pages.check_csrf()
        elif public:
            crm.actor = ANONYMOUS
        else:
            # a write's token is read before its transaction begins, whose trail context names the
            # token's user; a read's on the read's own connection (one checkout, one transaction)
            crm.actor = None if request.method in SAFE else _authenticate(crm)
        try:
            session = crm.session()
            try:
                if request.method in SAFE:  # a read takes no write lock (SQLite), so reads run side by side
                    connection = session.connection(execution_options={READ_ONLY: True})
                    if crm.actor is None:
                        crm.actor = _authenticate(crm, connection)
                crm._today = _today(crm, crm.actor)
                token = crm.actor.extra.get("token_id")
                crm.command = f"api {request.method} {request.path}" + (f" (token {token})" if token else "")
                g.crm_session = session
                replay = idempotency.replay(crm, session)
                if replay is not None:
                    return replay
                response = self.make_response(super().dispatch_request())
                idempotency.keep(crm, session, response)
                # a read writes nothing, whatever a module's query did; a write commits as one unit
                session.rollback() if request.method in SAFE else session.commit()
                return response
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        finally:
            g.pop("crm_session", None)
            crm.actor = None
            crm._today = None


def _authenticate(crm, connection=None):
    """The actor of the request's bearer token, read on ``connection`` (else on a connection of its own)."""
    from core.api.tokens import actor_for_token

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else None
    if connection is not None:
        return actor_for_token(crm, connection, token)
    with crm.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        return actor_for_token(crm, connection, token)


def _today(crm, actor):
    """``X-Crm-Today`` replays a business date, as ``--today`` does; only an admin may send it."""
    from core.app import parse_today
    from core.errors import CrmError, ValidationError
    from core.security import PermissionDenied

    text = request.headers.get(TODAY_HEADER)
    if not text:
        return crm.__dict__.get("_served_today")  # None: CRM_TODAY or the calendar date, read afresh
    if "admin" not in actor.roles:
        raise PermissionDenied(f"{actor.who} may not set {TODAY_HEADER}: only an admin replays a business date")
    try:
        return parse_today(text)
    except CrmError as exc:
        raise ValidationError(str(exc).replace("--today", TODAY_HEADER), field=TODAY_HEADER) from None


def create_app(crm, *, proxies: int = 0) -> Flask:
    """The WSGI application serving ``crm`` (a :class:`core.app.App`) with every enabled module's routes.

    ``proxies``: how many reverse proxies stand in front; their ``X-Forwarded-For``/``-Proto``/``-Host``
    are then believed (the client's address, for limits per source), never otherwise.
    """
    from flask import Blueprint as PlainBlueprint
    from flask_smorest import Blueprint

    from core.api.pages import Pages
    from core.api.problems import problem_for
    from core.errors import ModuleError

    flask = CrmFlask("entonnoir")
    flask.config.update(
        API_TITLE="Entonnoir", API_VERSION="v1", OPENAPI_VERSION="3.1.0", OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json", JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        API_SPEC_OPTIONS={"security": [{"token": []}], "info": {
            "description": "The HTTP door onto Entonnoir's services: the same rights, record rules, audit "
                           "trail and errors as the `crm` command line (docs/api.md)."}},
    )
    flask.extensions["crm"] = crm
    crm.__dict__["_served_today"] = crm.__dict__.get("_today")  # `crm --today D serve`: the default date
    api = CrmApi(flask)
    api.spec.components.security_scheme("token", {"type": "http", "scheme": "bearer",
                                                  "description": "a personal token from `crm token create`"})
    menus = []
    for blueprint in crm.gather("register_routes", PlainBlueprint, "API blueprint or Pages").values():
        if isinstance(blueprint, Pages):  # web pages: not in the OpenAPI document
            flask.register_blueprint(blueprint)
            menus.append((blueprint.order, blueprint.menu))
        elif isinstance(blueprint, Blueprint):
            api.register_blueprint(blueprint)
        else:
            raise ModuleError(f"routes {blueprint.name!r}: register a flask_smorest Blueprint (API) or "
                              f"core.api.pages.Pages (web pages)")
    flask.extensions["crm_menu"] = [entry for _, menu in sorted(menus, key=lambda m: m[0]) for entry in menu]
    flask.register_error_handler(Exception, problem_for)
    _check_doors(flask)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        flask.wsgi_app = ProxyFix(flask.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return flask


def _check_doors(flask) -> None:
    """Every route asks a right (``requires``) or is declared public: none is open by omission."""
    from core.errors import ModuleError

    for rule in flask.url_map.iter_rules():
        view = flask.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule.endpoint.startswith("api-docs."):
            continue
        if not getattr(view, "_crm_right", None) and not getattr(view, "_crm_public", False):
            raise ModuleError(f"route {rule.rule} ({rule.endpoint}) declares no right: decorate it with "
                              f"core.api.http.requires(RIGHT) or public")
