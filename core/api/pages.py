"""The web view's kernel: modules' pages, the login, the browser session and CSRF, the layout.

A module's pages are a :class:`Pages` blueprint registered through the same ``register_routes``
hook as its API (served under ``/web``, left out of the OpenAPI document)::

    board = Pages("funnel_pages", __name__, menu=[("Pipeline", "funnel_pages.pipeline")])

    @board.get("/pipeline")
    @requires("funnel.read")
    @page
    def pipeline():
        return render_page("funnel/web/board.html", title="Pipeline", ...)

A page's request acts as the user of the browser's session cookie (``crm_session``: HttpOnly,
SameSite=Lax, Secure behind https), with that user's rights and record rules, in the same one
transaction per request as the API (:class:`core.api.web.CrmFlask`). Without a session a ``GET``
is sent to the login page; every other method must carry the session's CSRF token in the form's
``csrf`` field (:func:`csrf_field` in the templates), else it is refused with 403.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, current_app, g, redirect, request, url_for
from markupsafe import Markup

from core.api.http import public, requires

COOKIE = "crm_session"
LOGIN_CSRF = "crm_login_csrf"


class Pages(Blueprint):
    """A module's web pages, with the entries they add to the menu: ``[(label, endpoint)]``, placed by
    ``order`` (the modules' pages before the kernel's reports)."""

    def __init__(self, name: str, import_name: str, *, url_prefix: str = "/web", menu=(), order: int = 50):
        super().__init__(name, import_name, url_prefix=url_prefix)
        self.menu = list(menu)
        self.order = order


def page(view):
    """Mark a view as a page: it authenticates by the session cookie and checks CSRF on writes."""
    view._crm_page = True
    return view


def authenticate(crm):
    """The actor of the browser's session (and its CSRF token in ``g``); :raises Unauthenticated: none."""
    from core.api.websessions import actor_for_cookie
    from core.db import READ_ONLY

    with crm.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        actor, g.crm_csrf = actor_for_cookie(crm, connection, request.cookies.get(COOKIE))
    return actor


def check_csrf() -> None:
    """A page's write must send back the session's CSRF token (field ``csrf``), else 403."""
    from core.security import PermissionDenied

    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, g.get("crm_csrf") or ""):
        raise PermissionDenied("the form's CSRF token is missing or wrong: reload the page and try again")


def to_login():
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")), 303)


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="csrf" value="{}">').format(g.get("crm_csrf", ""))


def render_page(template: str, /, *, title: str, status: int = 200, **context):
    """``template`` (which extends ``core/web/layout.html``) as an HTML response, with the menu and user."""
    from core.rendering import render

    crm = current_app.extensions["crm"]
    actor = crm.actor
    html = render(crm, template, title=title, menu=current_app.extensions.get("crm_menu", []),
                  user=actor.login if actor and actor.user_id else None, csrf=csrf_field(), url_for=url_for,
                  **context)
    return current_app.response_class(html, status=status, mimetype="text/html")


def set_cookie(response, name: str, value: str, *, max_age: int | None = None):
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


# --- the kernel's pages: login, logout ------------------------------------------------------------

web = Pages("web", __name__)


@web.get("/login")
@public
@page
def login():
    """The login form (a pre-session CSRF token in a cookie and the form: double submit)."""
    token = secrets.token_urlsafe(32)
    response = _login_form(token)
    return set_cookie(response, LOGIN_CSRF, token, max_age=3600)


def _login_form(token: str, *, error: str | None = None, status: int = 200):
    g.crm_csrf = token
    return render_page("core/web/login.html", title="Log in", error=error, status=status,
                       next=_safe_next(request.values.get("next")))


@web.post("/login")
@public
@page
def login_post():
    """Check the login and password; a new session cookie, then the page asked for."""
    from core.api.http import session
    from core.api.tokens import Unauthenticated
    from core.api.websessions import SESSION_HOURS, TooManyFailures, log_in

    cookie = request.cookies.get(LOGIN_CSRF, "")
    if not cookie or not hmac.compare_digest(cookie, request.form.get("csrf", "")):
        from core.security import PermissionDenied

        raise PermissionDenied("the form's CSRF token is missing or wrong: reload the page and try again")
    try:
        token, _ = log_in(session(), request.form.get("login", ""), request.form.get("password", ""),
                          address=request.remote_addr)
    except TooManyFailures as exc:
        response = _login_form(cookie, error=str(exc), status=429)
        response.headers["Retry-After"] = str(exc.retry)
        return response
    except Unauthenticated as exc:  # the failure is counted: the request's transaction commits
        return _login_form(cookie, error=str(exc), status=401)
    response = redirect(_safe_next(request.form.get("next")) or url_for("web.home"), 303)
    response.delete_cookie(LOGIN_CSRF, path="/")
    return set_cookie(response, COOKIE, token, max_age=SESSION_HOURS * 3600)


@web.post("/logout")
@requires("core.open")
@page
def logout():
    """End the session (its row is deleted) and go back to the login page."""
    from core.api.http import session
    from core.api.websessions import log_out

    log_out(session(), request.cookies.get(COOKIE))
    response = redirect(url_for("web.login"), 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@web.get("/")
@requires("core.open")
@page
def home():
    """The first page of the menu."""
    menu = current_app.extensions.get("crm_menu", [])
    return redirect(url_for(menu[0][1]) if menu else url_for("web.login"), 303)


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (``/web/...``): never an open redirect to another site."""
    if target and target.startswith("/web/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
