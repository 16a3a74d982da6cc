"""Supplier prices: what each supplier charges for a product, from which quantity, and its lead time.

A supplier may have several prices for one product, each from a minimum quantity on: price
breaks. A tier is identified by (product, supplier, minimum quantity); the lowest minimum is the
supplier's minimum order quantity, and a purchase order line is priced at the highest tier its
quantity reaches (see ``services_reorder``). Preference belongs to the supplier, not the tier.
"""

from __future__ import annotations

from sqlalchemy import select, update

from core.errors import NotFound, ValidationError
from core.models import Partner, Product
from core.security import require
from core.services.catalog import get_product
from plugins.procurement.models import SupplierPrice


def set_price(app, session, raw: dict, *, update_existing: bool = False, record: str | None = None,
              data: dict | None = None) -> tuple[SupplierPrice, str]:
    """Record a supplier's price for a product from a minimum quantity on (a new tier, or with
    ``update_existing`` the tier of that minimum replaced).

    ``preferred`` makes this supplier the product's only preferred one (all its tiers); without it,
    a tier takes the preference of the supplier's other tiers for the product, so tiers never disagree.
    """
    from core.schemas import load
    from plugins.procurement.schemas import SupplierPriceSchema

    require(app, session, "procurement.settings")
    from plugins.procurement.services_rules import supplier_of

    record = record or f"supplier price {str(raw.get('sku', '')).strip()!r}"
    data = data or load(SupplierPriceSchema(), raw, record)
    product = get_product(session, data["sku"])
    supplier = supplier_of(session, data["supplier"], record)
    tiers = list(session.scalars(select(SupplierPrice).where(SupplierPrice.product_id == product.id,
                                                             SupplierPrice.supplier_id == supplier.id)))
    price = next((t for t in tiers if t.minimum_quantity == data["minimum_quantity"]), None)
    if price is not None and not update_existing:
        raise ValidationError(f"{supplier.name} has a price for {product.sku} from {price.minimum_quantity} already "
                              f"(use `crm supplier price add --update`, or another --minimum for a price break)",
                              record=record, field="supplier")
    siblings = [t for t in tiers if t is not price]
    preferred = data["preferred"] or (bool(siblings) and siblings[0].preferred)
    if data["preferred"]:
        session.execute(update(SupplierPrice).where(SupplierPrice.product_id == product.id)
                        .values(preferred=SupplierPrice.supplier_id == supplier.id)
                        .execution_options(synchronize_session="fetch"))
    outcome = "updated"
    if price is None:
        price, outcome = SupplierPrice(product=product, supplier=supplier), "created"
        session.add(price)
    price.price, price.minimum_quantity = data["price"], data["minimum_quantity"]
    price.lead_time_days, price.preferred = data["lead_time_days"], preferred
    session.flush()
    return price, outcome


def remove_price(session, sku: str, supplier_ref: str, minimum_quantity=None) -> int:
    """Forget a supplier's prices for a product (only the tier from ``minimum_quantity`` if given);
    returns how many tiers were removed."""
    require(session.info["app"], session, "procurement.settings")
    from core.services.partners import get_partner

    product = get_product(session, sku)
    supplier = get_partner(session, supplier_ref)
    query = select(SupplierPrice).where(SupplierPrice.product_id == product.id,
                                        SupplierPrice.supplier_id == supplier.id)
    if minimum_quantity is not None:
        query = query.where(SupplierPrice.minimum_quantity == minimum_quantity)
    prices = list(session.scalars(query))
    if not prices:
        tier = "" if minimum_quantity is None else f" from {minimum_quantity}"
        raise NotFound(f"supplier {supplier.name}: no price for {product.sku}{tier}")
    for price in prices:
        session.delete(price)
    session.flush()
    return len(prices)


def list_prices(session, *, sku: str | None = None, supplier: str | None = None) -> list[SupplierPrice]:
    """Prices by SKU, supplier name, then tier (minimum quantity)."""
    from core.services.partners import get_partner

    query = (select(SupplierPrice).join(Product, Product.id == SupplierPrice.product_id)
             .join(Partner, Partner.id == SupplierPrice.supplier_id)
             .order_by(Product.sku, Partner.name, SupplierPrice.minimum_quantity))
    if sku:
        query = query.where(SupplierPrice.product_id == get_product(session, sku).id)
    if supplier:
        query = query.where(SupplierPrice.supplier_id == get_partner(session, supplier).id)
    return list(session.scalars(query))


def price_dict(price: SupplierPrice) -> dict:
    """Stable JSON shape of one tier (quantities and prices as exact strings)."""
    return {"sku": price.product.sku, "supplier": price.supplier.name, "supplier_id": price.supplier_id,
            "price": str(price.price), "minimum_quantity": str(price.minimum_quantity),
            "lead_time_days": price.lead_time_days, "preferred": price.preferred}
