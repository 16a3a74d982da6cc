"""Reorder rules: a product's minimum, maximum, pack size, supplier and lead time (``crm reorder rule``).

The needs a rule raises are :mod:`plugins.procurement.services_reorder`'s.
"""

from __future__ import annotations

from sqlalchemy import select

from core.errors import NotFound, ValidationError
from core.security import require
from core.services.catalog import get_product
from core.services.partners import get_partner
from plugins.procurement.models import ReorderRule
from plugins.procurement.services_stock import ensure_levels


def supplier_of(session, ref, record: str, field: str = "supplier"):
    """A partner flagged as supplier, by id or exact name."""
    partner = get_partner(session, ref)
    if not partner.is_supplier:
        raise ValidationError(f"{partner.name} is not a supplier (crm partner update {partner.id} --supplier)",
                              record=record, field=field)
    return partner


def set_rule(app, session, raw: dict, *, update: bool = False, record: str | None = None) -> tuple[ReorderRule, str]:
    """Create a product's reorder rule (or, with ``update``, replace the existing one's values)."""
    from core.schemas import load
    from plugins.procurement.schemas import ReorderRuleSchema

    require(app, session, "procurement.settings")
    record = record or f"reorder rule {str(raw.get('sku', '')).strip()!r}"
    data = load(ReorderRuleSchema(), raw, record)
    product = get_product(session, data["sku"])
    if not product.stockable:
        raise ValidationError(f"product {product.sku} is not stockable", record=record, field="sku")
    supplier = supplier_of(session, data["supplier"], record) if data["supplier"] else None
    rule = session.scalars(select(ReorderRule).where(ReorderRule.product_id == product.id)).first()
    outcome = "updated"
    if rule is None:
        rule, outcome = ReorderRule(product=product), "created"
        session.add(rule)
    elif not update and rule.active:
        raise ValidationError(f"product {product.sku} has a rule already (use `crm reorder rule update`)",
                              record=record, field="sku")
    rule.minimum, rule.maximum, rule.multiple = data["minimum"], data["maximum"], data["multiple"]
    rule.supplier, rule.lead_time_days, rule.active = supplier, data["lead_time_days"], True
    session.flush()
    ensure_levels(session, [product.id])
    return rule, outcome


def get_rule(session, sku: str) -> ReorderRule:
    product = get_product(session, sku)
    rule = session.scalars(select(ReorderRule).where(ReorderRule.product_id == product.id,
                                                     ReorderRule.active.is_(True))).first()
    if rule is None:
        raise NotFound(f"product {product.sku}: no reorder rule")
    return rule


def remove_rule(session, sku: str) -> ReorderRule:
    """Deactivate a rule (the lines it raised keep pointing at it)."""
    require(session.info["app"], session, "procurement.settings")
    rule = get_rule(session, sku)
    rule.active = False
    session.flush()
    return rule


def list_rules(session) -> list[ReorderRule]:
    from core.models import Product

    return list(session.scalars(select(ReorderRule).join(Product, Product.id == ReorderRule.product_id)
                                .where(ReorderRule.active.is_(True)).order_by(Product.sku)))


def rule_dict(rule: ReorderRule) -> dict:
    return {"sku": rule.product.sku, "minimum": str(rule.minimum), "maximum": str(rule.maximum),
            "multiple": str(rule.multiple), "supplier": rule.supplier.name if rule.supplier else None,
            "lead_time_days": rule.lead_time_days}
