"""Products."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select

from core.errors import NotFound, ValidationError
from core.models import Product
from core.schemas import ProductSchema, load


def get_product(session, ref) -> Product:
    """A product by SKU (or by id)."""
    text = str(ref).strip()
    product = session.scalars(select(Product).where(Product.sku == text)).first()
    if product is None and text.isdigit():
        product = session.get(Product, int(text))
    if product is None:
        raise NotFound(f"product {text!r}: no such SKU (see `crm product list`)")
    return product


def create_product(session, raw: dict, *, record: str | None = None, validated: bool = False) -> Product:
    """Create a product; the SKU is unique."""
    record = record or f"product {str(raw.get('sku', '')).strip()!r}"
    data = raw if validated else load(ProductSchema(), raw, record)
    if session.scalars(select(Product.id).where(Product.sku == data["sku"])).first():
        raise ValidationError("already exists", record=record, field="sku")
    product = Product(**data)
    session.add(product)
    session.flush()
    return product


def update_product(session, product: Product, data: dict) -> dict:
    """Apply validated fields to a product; returns ``{field: (old, new)}``."""
    changes = {}
    for field, value in data.items():
        if field != "sku" and getattr(product, field) != value:
            changes[field] = (getattr(product, field), value)
            setattr(product, field, value)
    session.flush()
    return changes


def list_products(session, *, search: str | None = None):
    query = select(Product).where(Product.active.is_(True)).order_by(Product.sku)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Product.sku).like(pattern), func.lower(Product.name).like(pattern)))
    return session.scalars(query).all()


def product_dict(product: Product) -> dict:
    # Quantized to the column's scale: a schema default (Decimal("20")) must print as the stored
    # value reads back ("20.00"), so `product add --json` and `product show --json` agree.
    return {"id": product.id, "sku": product.sku, "name": product.name, "unit": product.unit,
            "list_price": str(Decimal(product.list_price).quantize(Decimal("0.0001"))),
            "vat_rate": str(Decimal(product.vat_rate).quantize(Decimal("0.01"))),
            "stockable": product.stockable, "kind": product.kind}
