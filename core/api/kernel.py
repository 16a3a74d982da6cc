"""The kernel's endpoints: the health check, partners and products (orders and reports: core.api.orders)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from core.api.http import Page, Record, Rows, body, extensions_of, payload, public, requires, session
from core.api.http import app as crm
from core.schemas import PartnerSchema, ProductSchema

partners = Blueprint("partners", __name__, url_prefix="/api/v1/partners", description="Customers and suppliers")
products = Blueprint("products", __name__, url_prefix="/api/v1/products", description="The catalogue")
meta = Blueprint("meta", __name__, url_prefix="/api/v1", description="The server itself")


class Health(Record):
    status = fields.String(required=True)
    version = fields.String()
    modules = fields.List(fields.String())


@meta.get("/health")
@meta.response(200, Health)
@public
def health():
    """Whether the server answers (no token needed): its version and enabled modules."""
    from core import __version__

    return {"status": "ok", "version": __version__, "modules": crm().modules}


# --- partners ---------------------------------------------------------------------------------------

class PartnerOut(Record):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String()
    is_customer = fields.Boolean()
    is_supplier = fields.Boolean()
    email = fields.String(allow_none=True)
    siren = fields.String(allow_none=True)
    salesperson = fields.String(allow_none=True)


class PartnerQuery(Record):
    role = fields.String(metadata={"enum": ["customer", "supplier"]}, load_default=None)
    search = fields.String(load_default=None, metadata={"description": "part of the name or e-mail, or a SIREN"})


class PartnerIn(PartnerSchema):
    extensions = fields.Dict(metadata={"description": "modules' fields: {module: {field: value}}"})


@partners.get("/")
@partners.arguments(PartnerQuery, location="query", as_kwargs=True)
@partners.response(200, PartnerOut(many=True))
@partners.paginate(Page)
@requires("core.read")
def list_partners(role, search):
    """Active partners by name (``crm partner list``)."""
    from core import extensions
    from core.services.partners import load_partners, partner_dict, partners_query

    def shape(page):
        extra = extensions.read(crm(), session(), "partner", [p.id for p in page], only="listed")
        return [partner_dict(p, extra.get(p.id)) for p in page]

    return Rows(partners_query(role=role, search=search), shape, load=lambda query: load_partners(session(), query))


@partners.get("/<ref>")
@partners.response(200, PartnerOut)
@requires("core.read")
def show_partner(ref):
    """One partner by id, name or SIREN (``crm partner show``)."""
    from core import extensions
    from core.services.partners import get_partner, partner_dict

    found = get_partner(session(), ref)
    return partner_dict(found, extensions.read(crm(), session(), "partner", [found.id]).get(found.id))


@partners.post("/")
@body(PartnerIn)
@partners.response(201, PartnerOut)
@requires("core.partner.write")
def create_partner(**_):
    """Add a partner (``crm partner add``): a duplicate SIREN or e-mail is refused, naming the existing one."""
    from core import extensions
    from core.services.partners import create_partner as create, partner_dict

    data = payload()
    values = extensions_of(data)
    record = f"partner {str(data.get('name', '')).strip()!r}"
    created = create(crm(), session(), data, record=record, extensions=values)
    return partner_dict(created, extensions.read(crm(), session(), "partner", [created.id]).get(created.id))


# --- products ---------------------------------------------------------------------------------------

class ProductOut(Record):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    name = fields.String(required=True)
    unit = fields.String()
    list_price = fields.String(metadata={"description": "excl. VAT, exact decimal"})
    vat_rate = fields.String()
    stockable = fields.Boolean()
    kind = fields.String()


class ProductQuery(Record):
    search = fields.String(load_default=None, metadata={"description": "part of the SKU or name"})


class ProductIn(ProductSchema):
    extensions = fields.Dict(metadata={"description": "modules' fields: {module: {field: value}}"})


@products.get("/")
@products.arguments(ProductQuery, location="query", as_kwargs=True)
@products.response(200, ProductOut(many=True))
@products.paginate(Page)
@requires("core.read")
def list_products(search):
    """Active products by SKU (``crm product list``)."""
    from core import extensions
    from core.services.catalog import product_dict, products_query

    def shape(page):
        extra = extensions.read(crm(), session(), "product", [p.id for p in page], only="listed")
        return [product_dict(p, extra.get(p.id)) for p in page]

    return Rows(products_query(search=search), shape)


@products.get("/<sku>")
@products.response(200, ProductOut)
@requires("core.read")
def show_product(sku):
    """One product by SKU (``crm product show``)."""
    from core import extensions
    from core.services.catalog import get_product, product_dict

    found = get_product(session(), sku)
    return product_dict(found, extensions.read(crm(), session(), "product", [found.id]).get(found.id))


@products.post("/")
@body(ProductIn)
@products.response(201, ProductOut)
@requires("core.product.write")
def create_product():
    """Add a product (``crm product add``)."""
    from core import extensions
    from core.services.catalog import create_product as create, product_dict

    data = payload()
    values = extensions_of(data)
    created = create(session(), data, record=f"product {str(data.get('sku', '')).strip()!r}", app=crm(),
                     extensions=values)
    return product_dict(created, extensions.read(crm(), session(), "product", [created.id]).get(created.id))
