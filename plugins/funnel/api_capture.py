"""Lead capture's public door: ``POST /api/v1/forms/KEY`` from a website's form (no token).

A plain HTML form (``application/x-www-form-urlencoded`` or ``multipart/form-data``) or a page's
script (JSON) posts the visitor's fields; the rules are :mod:`plugins.funnel.capture`'s. A browser's
cross-origin script asks first with ``OPTIONS`` (CORS preflight), answered for the form's origins.
"""

from __future__ import annotations

from flask import make_response, redirect, request
from flask_smorest import Blueprint
from marshmallow import fields
from werkzeug.exceptions import RequestEntityTooLarge

from core.api.http import Record, body, public, session
from core.api.http import app as crm

forms = Blueprint("forms", __name__, url_prefix="/api/v1/forms",
                  description="Lead capture: websites' forms post leads here, without a token")


class FormPost(Record):
    name = fields.String(required=True, metadata={"description": "or the field the form's `fields` maps to name"})
    email = fields.String()
    company = fields.String()
    phone = fields.String()
    notes = fields.String(metadata={"description": "the visitor's message"})
    hp = fields.String(metadata={"description": "the honeypot (the form's `honeypot` field): left empty by people"})


class Received(Record):
    status = fields.String(metadata={"enum": ["received"]})


def _own_options(view):
    """OPTIONS is the preflight's route, not Flask's automatic answer."""
    view.provide_automatic_options = False
    return view


def _cors(response, form):
    origin = request.headers.get("Origin")
    if origin and (not form.origins or origin in form.origins):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _refusal(form, refused):
    from core.api.problems import problem

    titles = {403: "Forbidden", 413: "Content Too Large", 422: "Unprocessable Content", 429: "Too Many Requests"}
    return _cors(problem(refused.status, titles[refused.status], str(refused), kind="capture",
                         headers=refused.headers), form)


@forms.post("/<key>")
@body(FormPost, description="the visitor's fields, as JSON or as an HTML form posts them",
      example={"name": "Jeanne Martin", "email": "jeanne@martin.fr", "notes": "A quote for 40 chairs?", "hp": ""})
@forms.response(201, Received)
@forms.alt_response(303, description="an HTML form's post, sent on to the form's `redirect` page")
@forms.alt_response(429, description="too many posts from this address: retry after `Retry-After` seconds")
@forms.alt_response(413, description="the body or a field is too large")
@public
@_own_options
def post_form(key):
    """Post a website form's fields: a lead for the form's owner (flagged if a duplicate), who is told."""
    from plugins.funnel.capture import Refused, capture, check_origin, count_post, find_form

    app, db = crm(), session()
    form = find_form(app, key)
    app.actor, app.command = form.actor, f"web form {form.name} from {request.remote_addr}"
    try:
        check_origin(form, request.headers.get("Origin"))
        try:
            count_post(db, form, request.remote_addr)
        finally:
            db.commit()  # the post counts, whatever becomes of it
        request.max_content_length = form.max_body
        try:
            posted = _posted()
        except RequestEntityTooLarge:
            raise Refused(413, f"form {form.name}: the body is larger than {form.max_body} bytes") from None
        capture(app, db, form, posted)
    except Refused as refused:
        return _refusal(form, refused)
    if form.redirect and request.mimetype != "application/json":
        return _cors(redirect(form.redirect, 303), form)
    return _cors(make_response({"status": "received"}, 201), form)


def _posted() -> dict:
    from core.api.http import payload

    if request.mimetype == "application/json":
        return payload()
    return {name: request.form.get(name) for name in request.form}


@forms.route("/<key>", methods=["OPTIONS"])
@forms.response(204)
@public
def preflight(key):
    """A browser asking whether a page of another origin may post to the form (CORS)."""
    from plugins.funnel.capture import Refused, check_origin, find_form

    form = find_form(crm(), key)
    try:
        check_origin(form, request.headers.get("Origin"))
    except Refused as refused:
        return _refusal(form, refused)
    response = _cors(make_response("", 204), form)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response
