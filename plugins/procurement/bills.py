"""Supplier bills: import (e-invoices), add (paper), match, approve, dispute, list.

One write path: :func:`record_bill` writes every bill, whatever it came from, after recognising
the supplier (SIREN, else VAT number), refusing a duplicate (same supplier and number) and
matching it (:mod:`plugins.procurement.match`): approved when it matches, else held and
purchasing told what differs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.errors import CrmError, NotFound, StateError
from core.models import Partner
from core.types import round_money
from plugins.procurement.match import match_bill
from plugins.procurement.models_bills import SupplierBill, SupplierBillLine

#: action -> states it may start from, state it leads to
TRANSITIONS = {"approve": (("held", "disputed"), "approved"), "dispute": (("held", "approved"), "disputed")}


def import_bills(app, session, paths: list[Path]) -> list[SupplierBill]:
    """Read and record every file; the first bad one refuses them all (one transaction)."""
    from core.security import require
    from plugins.procurement.bill_formats import read_bill_file

    require(app, session, "procurement.bill.record")
    return [record_bill(app, session, read_bill_file(Path(path)), label=Path(path).name) for path in paths]


def find_supplier(session, bill: dict, label: str) -> Partner:
    """The supplier the bill names, by SIREN first, else by VAT number."""
    if bill.get("supplier_id"):
        return session.get(Partner, bill["supplier_id"])
    partner = None
    if bill.get("seller_siren"):
        partner = session.scalars(select(Partner).where(Partner.siren == bill["seller_siren"])
                                  .order_by(Partner.is_supplier.desc(), Partner.id)).first()
    vat = (bill.get("seller_vat") or "").replace(" ", "").upper()
    if partner is None and vat:
        partner = session.scalars(select(Partner).where(
            func.upper(func.replace(Partner.vat_number, " ", "")) == vat).order_by(Partner.id)).first()
    if partner is None:
        raise CrmError(f"{label}: unknown supplier {bill.get('seller_name')} (SIREN {bill.get('seller_siren') or '-'}, "
                       f"VAT {vat or '-'}): record the supplier with its SIREN first")
    return partner


def record_bill(app, session, bill: dict, *, label: str) -> SupplierBill:
    """Write one bill model (see :mod:`plugins.procurement.bill_formats`) and match it."""
    from core.security import require

    require(app, session, "procurement.bill.record")
    supplier = find_supplier(session, bill, label)
    if not bill["lines"]:
        raise CrmError(f"{label}: the bill has no line")
    if bill["currency"] != "EUR":
        raise CrmError(f"{label}: currency {bill['currency']}: only bills in EUR are recorded")
    duplicate = session.scalar(select(SupplierBill.id).where(SupplierBill.supplier_id == supplier.id,
                                                             SupplierBill.number == bill["number"]))
    if duplicate:
        raise CrmError(f"{label}: duplicate: bill {bill['number']} of {supplier.name} is recorded already "
                       f"(bill #{duplicate})")
    bill["supplier_id"] = supplier.id
    iban, bic = bank_account(bill.get("iban"), bill.get("bic"), label)
    matched, differences = match_bill(app, session, bill)
    days = app.settings("procurement")["bill_payment_days"]
    row = SupplierBill(
        supplier_id=supplier.id, number=bill["number"], bill_date=bill["bill_date"],
        due_date=bill.get("due_date") or bill["bill_date"] + dt.timedelta(days=days),
        currency=bill["currency"], total_untaxed=bill["total_untaxed"], total_tax=bill["total_tax"],
        total=bill["total"], source=bill["source"], state="held" if differences else "approved",
        differences="\n".join(differences) or None, received_on=app.today, iban=iban, bic=bic,
        lines=[SupplierBillLine(sku=line["sku"], description=line["description"], quantity=line["quantity"],
                                unit_price=line["unit_price"], vat_rate=line["vat_rate"], subtotal=line["subtotal"],
                                purchase_order_line_id=po_line)
               for line, po_line in zip(bill["lines"], matched)])
    session.add(row)
    session.flush()
    if differences:
        _tell_purchasing(app, session, row, supplier, differences)
    return row


def bank_account(iban: str | None, bic: str | None, label: str) -> tuple[str | None, str | None]:
    """The supplier's IBAN and BIC, checked (python-stdnum) and written compactly."""
    from stdnum import bic as bics
    from stdnum import iban as ibans
    from stdnum.exceptions import ValidationError as Invalid

    try:
        iban = ibans.validate(iban) if iban else None
    except Invalid:
        raise CrmError(f"{label}: IBAN {iban}: not a valid IBAN") from None
    try:
        bic = bics.validate(bic) if bic else None
    except Invalid:
        raise CrmError(f"{label}: BIC {bic}: not a valid BIC") from None
    return iban, bic


def _tell_purchasing(app, session, row: SupplierBill, supplier: Partner, differences: list[str]) -> None:
    from core.outbox import notify
    from plugins.procurement.services_alerts import purchasing_recipients

    recipients = purchasing_recipients(session)
    if recipients:
        notify(app, session, recipients=recipients,
               subject=f"Bill {row.number} of {supplier.name} held: it does not match",
               text="\n".join([f"Bill {row.number} of {supplier.name} ({row.total} EUR) is held:", *differences,
                               "", f"crm bill approve {row.id} (pay it as it is) or crm bill dispute {row.id}"]),
               related=f"procurement_supplier_bill:{row.id}", dedup_key=f"procurement:bill-held:{row.id}")


def paper_bill(values: dict) -> dict:
    """The bill model of a bill typed in (``crm bill add``): lines ``SKU:QTY:PRICE[:VAT]``."""
    lines = []
    for item in values["lines"]:
        quantity, price, rate = item["quantity"], item["unit_price"], item.get("vat_rate", Decimal("20"))
        lines.append({"sku": item["sku"], "description": item["sku"], "quantity": quantity, "unit_price": price,
                      "vat_rate": rate, "subtotal": round_money(quantity * price)})
    untaxed = sum((line["subtotal"] for line in lines), Decimal("0.00"))
    tax = sum((round_money(line["subtotal"] * line["vat_rate"] / 100) for line in lines), Decimal("0.00"))
    return {"number": values["number"], "bill_date": values["bill_date"], "due_date": values.get("due_date"),
            "iban": values.get("iban"), "bic": values.get("bic"),
            "currency": "EUR", "supplier_id": values["supplier_id"], "total_untaxed": untaxed, "total_tax": tax,
            "total": untaxed + tax, "source": "paper", "lines": lines}


def get_bill(session, ref, *, lock: bool = False) -> SupplierBill:
    if not str(ref).strip().isdigit():
        raise NotFound(f"bill {ref}: no such bill (give its number in `crm bill list`)")
    query = (select(SupplierBill).options(selectinload(SupplierBill.lines), selectinload(SupplierBill.supplier))
             .where(SupplierBill.id == int(ref)))
    if lock:
        query = query.with_for_update(of=SupplierBill).execution_options(populate_existing=True)
    bill = session.scalars(query).first()
    if bill is None:
        raise NotFound(f"bill {ref}: no such bill (see `crm bill list`)")
    return bill


def change_state(app, session, ref, action: str, reason: str = "") -> SupplierBill:
    """Approve (pay it as it is) or dispute a bill; the reason is kept with its differences."""
    from core.security import require

    require(app, session, "procurement.bill.approve")
    bill = get_bill(session, ref, lock=True)
    sources, target = TRANSITIONS[action]
    if bill.state not in sources:
        raise StateError(f"bill {bill.id}: cannot {action} a bill that is {bill.state} (only from "
                         f"{' or '.join(sources)})")
    bill.state = target
    if reason:
        bill.differences = "\n".join(filter(None, [bill.differences, f"{action}d on {app.today}: {reason}"]))
    session.flush()
    return bill


def list_bills(app, session, *, due: bool = False, held: bool = False) -> list[SupplierBill]:
    """Bills, most recent first; ``due``: approved ones due by today; ``held``: held ones."""
    query = (select(SupplierBill).options(selectinload(SupplierBill.supplier), selectinload(SupplierBill.lines))
             .order_by(SupplierBill.id.desc()))
    if held:
        query = query.where(SupplierBill.state == "held")
    if due:
        query = query.where(SupplierBill.state == "approved", SupplierBill.due_date <= app.today)
    return list(session.scalars(query))


def bill_dict(bill: SupplierBill, *, lines: bool = True) -> dict:
    data = {"id": bill.id, "number": bill.number, "supplier": {"id": bill.supplier.id, "name": bill.supplier.name},
            "state": bill.state, "source": bill.source, "bill_date": bill.bill_date.isoformat(),
            "due_date": bill.due_date.isoformat(), "received_on": bill.received_on.isoformat(),
            "iban": bill.iban, "bic": bill.bic, "payment_run": bill.payment_run,
            "paid_on": bill.paid_on.isoformat() if bill.paid_on else None,
            "currency": bill.currency, "total_untaxed": str(bill.total_untaxed), "total_tax": str(bill.total_tax),
            "total": str(bill.total), "differences": bill.differences.splitlines() if bill.differences else []}
    if lines:
        data["lines"] = [{"sku": line.sku, "description": line.description, "quantity": str(line.quantity),
                          "unit_price": str(line.unit_price), "vat_rate": str(line.vat_rate),
                          "subtotal": str(line.subtotal), "purchase_order_line_id": line.purchase_order_line_id}
                         for line in bill.lines]
    return data
