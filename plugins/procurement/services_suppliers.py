"""Supplier prices: what each supplier charges for a product, its minimum quantity and lead time."""

from __future__ import annotations

from sqlalchemy import select, update

from core.errors import NotFound, ValidationError
from core.models import Partner, Product
from core.schemas import load
from core.services.catalog import get_product
from plugins.procurement.models import SupplierPrice
from plugins.procurement.schemas import SupplierPriceSchema


def set_price(app, session, raw: dict, *, update_existing: bool = False, record: str | None = None,
              data: dict | None = None) -> tuple[SupplierPrice, str]:
    """Record a supplier's price for a product; ``preferred`` makes it the only preferred one."""
    from plugins.procurement.services_reorder import supplier_of

    record = record or f"supplier price {str(raw.get('sku', '')).strip()!r}"
    data = data or load(SupplierPriceSchema(), raw, record)
    product = get_product(session, data["sku"])
    supplier = supplier_of(session, data["supplier"], record)
    price = session.scalars(select(SupplierPrice).where(SupplierPrice.product_id == product.id,
                                                        SupplierPrice.supplier_id == supplier.id)).first()
    if price is not None and not update_existing:
        raise ValidationError(f"{supplier.name} has a price for {product.sku} already "
                              f"(use `crm supplier price add --update`)", record=record, field="supplier")
    if data["preferred"]:
        session.execute(update(SupplierPrice).where(SupplierPrice.product_id == product.id)
                        .values(preferred=False).execution_options(synchronize_session="fetch"))
    outcome = "updated"
    if price is None:
        price, outcome = SupplierPrice(product=product, supplier=supplier), "created"
        session.add(price)
    price.price, price.minimum_quantity = data["price"], data["minimum_quantity"]
    price.lead_time_days, price.preferred = data["lead_time_days"], data["preferred"]
    session.flush()
    return price, outcome


def remove_price(session, sku: str, supplier_ref: str) -> None:
    from core.services.partners import get_partner

    product = get_product(session, sku)
    supplier = get_partner(session, supplier_ref)
    price = session.scalars(select(SupplierPrice).where(SupplierPrice.product_id == product.id,
                                                        SupplierPrice.supplier_id == supplier.id)).first()
    if price is None:
        raise NotFound(f"supplier {supplier.name}: no price for {product.sku}")
    session.delete(price)
    session.flush()


def list_prices(session, *, sku: str | None = None, supplier: str | None = None) -> list[SupplierPrice]:
    from core.services.partners import get_partner

    query = (select(SupplierPrice).join(Product, Product.id == SupplierPrice.product_id)
             .join(Partner, Partner.id == SupplierPrice.supplier_id).order_by(Product.sku, Partner.name))
    if sku:
        query = query.where(SupplierPrice.product_id == get_product(session, sku).id)
    if supplier:
        query = query.where(SupplierPrice.supplier_id == get_partner(session, supplier).id)
    return list(session.scalars(query))


def price_dict(price: SupplierPrice) -> dict:
    return {"sku": price.product.sku, "supplier": price.supplier.name, "supplier_id": price.supplier_id,
            "price": str(price.price), "minimum_quantity": str(price.minimum_quantity),
            "lead_time_days": price.lead_time_days, "preferred": price.preferred}
