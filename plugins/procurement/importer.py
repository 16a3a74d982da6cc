"""CSV import and export of supplier prices and reorder rules (``crm import supplier_prices FILE``)."""

from __future__ import annotations

from core.importexport import DataKind
from plugins.procurement.schemas import ReorderRuleSchema, SupplierPriceSchema


def _write_price(app, session, data, *, update, record, provided):
    from plugins.procurement.services_suppliers import set_price

    return set_price(app, session, {}, update_existing=update, record=record, data=data)[1]


def _export_prices(app, session):
    from plugins.procurement.services_suppliers import list_prices, price_dict

    for price in list_prices(session):
        row = price_dict(price)
        row["supplier"] = str(price.supplier_id)
        yield row


def _write_rule(app, session, data, *, update, record, provided):
    from plugins.procurement.services_rules import set_rule

    raw = {k: (str(v) if v is not None else None) for k, v in data.items()}
    return set_rule(app, session, {k: v for k, v in raw.items() if v is not None}, update=update, record=record)[1]


def _export_rules(app, session):
    from plugins.procurement.services_rules import list_rules, rule_dict

    for rule in list_rules(session):
        row = rule_dict(rule)
        row["supplier"] = str(rule.supplier_id) if rule.supplier_id else None
        yield row


KINDS = [
    DataKind(name="supplier_prices", schema=SupplierPriceSchema, write=_write_price, export=_export_prices,
             columns=tuple(SupplierPriceSchema().fields), summary="supplier prices per product (SKU + supplier)"),
    DataKind(name="reorder_rules", schema=ReorderRuleSchema, write=_write_rule, export=_export_rules,
             columns=tuple(ReorderRuleSchema().fields), key="sku", summary="reorder rules (matched on SKU)"),
]
