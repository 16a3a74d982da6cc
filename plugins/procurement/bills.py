"""Supplier bills: import (e-invoices), add (paper), match, approve, dispute, list.

One write path: :func:`record_bills` writes every bill, whatever it came from (a day's inbox in
one flush), after recognising the supplier (SIREN, else VAT number), refusing a duplicate (same
supplier and number) and matching it (:mod:`plugins.procurement.match`): approved when it
matches, else held and purchasing told what differs.
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
from plugins.procurement.match import match_bill, open_lines
from plugins.procurement.models_bills import SupplierBill, SupplierBillLine

#: action -> states it may start from, state it leads to
TRANSITIONS = {"approve": (("held", "disputed"), "approved"), "dispute": (("held", "approved"), "disputed")}


def import_bills(app, session, paths: list[Path]) -> list[SupplierBill]:
    """Read and record every file; the first bad one refuses them all (one transaction)."""
    from core.security import require
    from plugins.procurement.bill_formats import read_bill_file

    require(app, session, "procurement.bill.record")
    schematron = app.settings("procurement")["bills_schematron"]
    read = [(read_bill_file(Path(path), schematron=schematron), Path(path).name) for path in paths]
    return record_bills(app, session, read)


def find_suppliers(session, bills: list[tuple[dict, str]]) -> list[Partner]:
    """The supplier each bill names, by SIREN first, else by VAT number (two queries for the lot)."""
    wanted_ids = {bill["supplier_id"] for bill, _ in bills if bill.get("supplier_id")}
    sirens = {bill["seller_siren"] for bill, _ in bills if not bill.get("supplier_id") and bill.get("seller_siren")}
    vats = {_vat(bill) for bill, _ in bills if not bill.get("supplier_id") and _vat(bill)}
    by_id = {p.id: p for p in session.scalars(select(Partner).where(Partner.id.in_(sorted(wanted_ids))))}
    by_siren: dict[str, Partner] = {}
    for partner in session.scalars(select(Partner).where(Partner.siren.in_(sorted(sirens)))
                                   .order_by(Partner.is_supplier.desc(), Partner.id)):
        by_siren.setdefault(partner.siren, partner)
    by_vat: dict[str, Partner] = {}
    normalised = func.upper(func.replace(Partner.vat_number, " ", ""))
    for vat, partner in session.execute(select(normalised, Partner).where(normalised.in_(sorted(vats)))
                                        .order_by(Partner.id)):
        by_vat.setdefault(vat, partner)
    found = []
    for bill, label in bills:
        partner = (by_id.get(bill["supplier_id"]) if bill.get("supplier_id")
                   else by_siren.get(bill.get("seller_siren")) or by_vat.get(_vat(bill)))
        if partner is None:
            raise CrmError(f"{label}: unknown supplier {bill.get('seller_name')} "
                           f"(SIREN {bill.get('seller_siren') or '-'}, VAT {_vat(bill) or '-'}): "
                           "record the supplier with its SIREN first")
        found.append(partner)
    return found


def _vat(bill: dict) -> str:
    return (bill.get("seller_vat") or "").replace(" ", "").upper()


def record_bill(app, session, bill: dict, *, label: str) -> SupplierBill:
    """Write one bill model (see :mod:`plugins.procurement.bill_formats`) and match it."""
    return record_bills(app, session, [(bill, label)])[0]


def record_bills(app, session, bills: list[tuple[dict, str]]) -> list[SupplierBill]:
    """Write bill models (``(bill, label)``, label naming it in errors) and match them, in one flush.

    Every check comes before the first write: an unknown supplier, a bill without lines, a foreign
    currency, a duplicate (recorded already, or twice in ``bills``), a bad IBAN or BIC refuses the
    lot. The bills are matched in order, each seeing what the ones before it billed.
    """
    from core.security import require

    require(app, session, "procurement.bill.record")
    suppliers = find_suppliers(session, bills)
    seen: dict[tuple[int, str], str] = {}
    for (bill, label), supplier in zip(bills, suppliers):
        if not bill["lines"]:
            raise CrmError(f"{label}: the bill has no line")
        if bill["currency"] != "EUR":
            raise CrmError(f"{label}: currency {bill['currency']}: only bills in EUR are recorded")
        key = (supplier.id, bill["number"])
        if key in seen:
            raise CrmError(f"{label}: duplicate: bill {bill['number']} of {supplier.name} is also in {seen[key]}")
        seen[key] = label
        bill["supplier_id"] = supplier.id
        bill["iban"], bill["bic"] = bank_account(bill.get("iban"), bill.get("bic"), label)
    query = select(SupplierBill.supplier_id, SupplierBill.number, SupplierBill.id).where(
        SupplierBill.supplier_id.in_(sorted({s.id for s in suppliers})),
        SupplierBill.number.in_(sorted({bill["number"] for bill, _ in bills})))
    recorded = {(supplier_id, number): bill_id for supplier_id, number, bill_id in session.execute(query)}
    for (bill, label), supplier in zip(bills, suppliers):
        if (supplier.id, bill["number"]) in recorded:
            raise CrmError(f"{label}: duplicate: bill {bill['number']} of {supplier.name} is recorded already "
                           f"(bill #{recorded[supplier.id, bill['number']]})")
    settings = app.settings("procurement")
    candidates = open_lines(session, {(s.id, line["sku"]) for (b, _), s in zip(bills, suppliers)
                                      for line in b["lines"] if line["sku"]})
    rows = []
    for bill, _label in bills:
        matched, differences = match_bill(settings, bill, candidates)
        rows.append(SupplierBill(
            supplier_id=bill["supplier_id"], number=bill["number"], bill_date=bill["bill_date"],
            due_date=bill.get("due_date") or bill["bill_date"] + dt.timedelta(days=settings["bill_payment_days"]),
            currency=bill["currency"], total_untaxed=bill["total_untaxed"], total_tax=bill["total_tax"],
            total=bill["total"], source=bill["source"], state="held" if differences else "approved",
            differences="\n".join(differences) or None, received_on=app.today, iban=bill["iban"], bic=bill["bic"],
            lines=[SupplierBillLine(sku=line["sku"], description=line["description"], quantity=line["quantity"],
                                    unit_price=line["unit_price"], vat_rate=line["vat_rate"],
                                    subtotal=line["subtotal"], purchase_order_line_id=po_line)
                   for line, po_line in zip(bill["lines"], matched)]))
    session.add_all(rows)
    session.flush()
    for row, supplier in zip(rows, suppliers):
        if row.state == "held":
            _tell_purchasing(app, session, row, supplier, row.differences.splitlines())
    return rows


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
