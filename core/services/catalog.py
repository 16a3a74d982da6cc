"""Products."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select

from core.errors import NotFound, ValidationError
from core.models import Product


def get_product(session, ref) -> Product:
    """A product by SKU (or by id)."""
    text = str(ref).strip()
    product = session.scalars(select(Product).where(Product.sku == text)).first()
    if product is None and text.isdigit():
        product = session.get(Product, int(text))
    if product is None:
        raise NotFound(f"product {text!r}: no such SKU (see `crm product list`)")
    return product


def create_product(session, raw: dict, *, record: str | None = None, validated: bool = False, app=None,
                   extensions: dict | None = None) -> Product:
    """Create a product; the SKU is unique. With ``app``, the modules' fields (``extensions``,
    ``{"module": {"field": "text"}}``) are validated and stored with it."""
    from core.schemas import ProductSchema, load
    from core.security import require

    require(app or session.info["app"], session, "core.product.write")
    from core import extensions as ext

    record = record or f"product {str(raw.get('sku', '')).strip()!r}"
    data = raw if validated else load(ProductSchema(), raw, record)
    values = ext.load(app, "product", extensions, record, creating=True) if app is not None else {}
    if session.scalars(select(Product.id).where(Product.sku == data["sku"])).first():
        raise ValidationError("already exists", record=record, field="sku")
    product = Product(**data)
    session.add(product)
    session.flush()
    if app is not None:
        ext.save(app, session, "product", product, values, changes={k: (None, v) for k, v in data.items()})
    return product


def update_product(session, product: Product, data: dict, *, app=None, extensions: dict | None = None,
                   record: str | None = None) -> dict:
    """Apply validated fields (and, with ``app``, the modules' ``extensions``) to a product;
    returns ``{field: (old, new)}``, extension fields as ``module.field``."""
    from core.security import require

    require(app or session.info["app"], session, "core.product.write")
    from core import extensions as ext

    values = ext.load(app, "product", extensions, record or f"product {product.sku!r}", creating=False) \
        if app is not None else {}
    changes = {}
    for field, value in data.items():
        if field != "sku" and getattr(product, field) != value:
            changes[field] = (getattr(product, field), value)
            setattr(product, field, value)
    session.flush()
    if app is not None:
        changes.update(ext.save(app, session, "product", product, values, changes=changes))
    return changes


def list_products(session, *, search: str | None = None):
    return session.scalars(products_query(search=search)).all()


def products_query(*, search: str | None = None):
    """Active products by SKU, as a ``Select`` (the API reads it a page at a time)."""
    query = select(Product).where(Product.active.is_(True)).order_by(Product.sku)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Product.sku).like(pattern), func.lower(Product.name).like(pattern)))
    return query


def product_dict(product: Product, extensions: dict | None = None) -> dict:
    """Stable JSON shape of a product; ``extensions`` (``{module: {field: value}}``) nested by module."""
    # Quantized to the column's scale: a schema default (Decimal("20")) must print as the stored
    # value reads back ("20.00"), so `product add --json` and `product show --json` agree.
    return {"id": product.id, "sku": product.sku, "name": product.name, "unit": product.unit,
            "list_price": str(Decimal(product.list_price).quantize(Decimal("0.0001"))),
            "vat_rate": str(Decimal(product.vat_rate).quantize(Decimal("0.01"))),
            "stockable": product.stockable, "kind": product.kind, **(extensions or {})}
