"""The OpenAPI document covers every route of every enabled module, each with its schemas and its right."""

from __future__ import annotations

import pytest

from core.api.openapi import gaps

pytestmark = pytest.mark.modules("funnel", "billing", "procurement")


def _rules(app):
    from core.api.pages import Pages
    from core.api.web import create_app

    flask = create_app(app)
    return flask, [(rule.rule, set(rule.methods)) for rule in flask.url_map.iter_rules()
                   if rule.endpoint != "static" and not rule.endpoint.startswith("api-docs.")
                   and not isinstance(flask.blueprints.get(rule.endpoint.split(".")[0]), Pages)]  # web pages


def test_every_route_is_documented_with_its_schemas(api_server, app):
    spec = api_server.client().get("/openapi.json", token=None, expect=200).json
    flask, rules = _rules(app)
    assert len(rules) > 30
    assert gaps(spec, rules) == []
    assert {"/api/v1/leads/", "/api/v1/invoices/{ref}/facturx", "/api/v1/stock/", "/api/v1/orders/{ref}/confirm"} \
        <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []  # the one public route
    # a route whose schema is forgotten is caught
    leads = spec["paths"]["/api/v1/leads/"]
    broken = {**spec, "paths": {**spec["paths"], "/api/v1/leads/": {
        **leads, "get": {**leads["get"], "responses": {"200": {"description": "OK"}}}}}}
    assert gaps(broken, rules) == ["GET /api/v1/leads/: a success response without a schema "
                                   "(@blp.response(code, Schema))"]
    missing = {**spec, "paths": {k: v for k, v in spec["paths"].items() if k != "/api/v1/stock/"}}
    assert gaps(missing, rules) == ["GET /api/v1/stock/: not in the OpenAPI document"]


def test_a_route_without_a_right_stops_the_server():
    from flask_smorest import Api, Blueprint

    from core.api.web import CrmFlask, _check_doors
    from core.errors import ModuleError

    careless = Blueprint("careless", __name__, url_prefix="/api/v1/careless")

    @careless.get("/")
    @careless.response(200)
    def everything():
        """Forgot to ask a right."""
        return {}

    flask = CrmFlask("test")
    flask.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    Api(flask).register_blueprint(careless)
    with pytest.raises(ModuleError, match=r"route /api/v1/careless/ \(careless.everything\) declares no right"):
        _check_doors(flask)
