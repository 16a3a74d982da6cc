"""Errors as RFC 9457 problem details (``application/problem+json``), the same errors as the CLI's;
on the web view's pages, the same error as an HTML page.

``detail`` is the one line the CLI prints; a refused input also lists ``errors`` as
``[{"record", "field", "message"}]``. An unexpected error says only that it happened (the
traceback goes to the server's log).
"""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from core.errors import ConfigError, CrmError, HookError, NotFound, StateError, ValidationError
from core.security import PermissionDenied

log = logging.getLogger("crm.api")
TYPES = "https://entonnoir.dev/problems/"


class Problem(Schema):
    """RFC 9457 problem details: every error the API answers."""

    type = fields.String(metadata={"description": "https://entonnoir.dev/problems/<kind> or about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "the one line the CLI prints for the same error"})
    instance = fields.String()
    errors = fields.List(fields.Dict(), metadata={"description": "refused input: [{record, field, message}]"})


def problem(status: int, title: str, detail: str | None = None, *, kind: str | None = None, headers=None,
            **extra):
    """The error as problem details; on a web page (:func:`for_a_page`), as a page saying the same."""
    response = _error_page(status, title, detail, extra.get("errors")) if for_a_page() else None
    if response is None:
        body = {"type": TYPES + kind if kind else "about:blank", "title": title, "status": status}
        if detail:
            body["detail"] = detail
        body["instance"] = request.path
        body.update(extra)
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def for_a_page() -> bool:
    """Whether the request is a browser's: a view marked as a page (:func:`core.api.pages.page`), or an
    unknown address under ``/web/``."""
    rule = request.url_rule
    if rule is not None:
        return bool(getattr(current_app.view_functions.get(rule.endpoint), "_crm_page", False))
    return request.path == "/web" or request.path.startswith("/web/")


def _error_page(status: int, title: str, detail: str | None, errors):
    """The error as an HTML page in the web view's layout (``core/web/error.html``): its status, the
    CLI's line and the refused fields, with a way on (the login page after a 401, else the start).
    ``None`` when even that page cannot be rendered (the problem details are answered instead)."""
    from core.api.pages import render_page

    try:
        return render_page("core/web/error.html", title=title, status=status, detail=detail, errors=errors or [],
                           login=status == 401)
    except Exception:  # noqa: BLE001 - the error being answered matters more than its page
        log.exception("%s %s: the error page could not be rendered", request.method, request.path)
        return None


def status_of(exc: CrmError) -> tuple[int, str, str]:
    """The HTTP status, title and problem type of one of our errors."""
    from core.api.tokens import Unauthenticated

    if isinstance(exc, HookError) and isinstance(exc.error, CrmError) and not isinstance(exc.error, HookError):
        return status_of(exc.error)  # a module refusing (a credit hold) is that refusal
    if isinstance(exc, Unauthenticated):
        return 401, "Unauthorized", "unauthenticated"
    if isinstance(exc, PermissionDenied):
        return 403, "Forbidden", "forbidden"
    if isinstance(exc, NotFound):
        return 404, "Not Found", "not-found"
    if isinstance(exc, StateError):
        return 409, "Conflict", "state"
    if isinstance(exc, ValidationError):
        return 422, "Unprocessable Content", "validation"
    if isinstance(exc, (HookError, ConfigError)):
        return 500, "Internal Server Error", "server"
    return 422, "Unprocessable Content", "refused"  # a business rule refused a well-formed request


def problem_for(exc: BaseException):
    """The error handler of every exception a view (or the request's set-up) raises."""
    if isinstance(exc, HTTPException):
        return http_problem(exc)
    if isinstance(exc, CrmError):
        status, title, kind = status_of(exc)
        extra = {}
        if isinstance(exc, ValidationError):
            extra["errors"] = [{"record": r, "field": f, "message": m} for r, f, m in exc.errors]
        headers = {"WWW-Authenticate": 'Bearer realm="crm"'} if status == 401 else None
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc, exc_info=exc)
        return problem(status, title, str(exc), kind=kind, headers=headers, **extra)
    if type(exc).__module__.startswith("sqlalchemy") and "IntegrityError" in type(exc).__name__:
        return problem(409, "Conflict", "a concurrent request changed the same records: retry", kind="conflict")
    log.error("%s %s failed", request.method, request.path, exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error; the server's log has the details",
                   kind="server")


def http_problem(error: HTTPException):
    """Flask's and webargs' HTTP errors (unknown route, wrong method, bad query argument)."""
    from core.schemas import flatten_messages

    code = error.code or 500
    data = getattr(error, "data", None) or {}
    extra = {}
    detail = error.description if code != 500 else None
    messages = data.get("messages")
    if messages:
        errors = []
        for location, found in messages.items():
            for field, message in flatten_messages(found):
                errors.append({"record": location, "field": field, "message": message})
        extra["errors"] = errors
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(code, error.name, detail, headers=dict(data.get("headers") or {}), **extra)
