"""Payment runs: the approved bills due by a date, paid by one SEPA credit transfer file (pain.001.001.03).

The file is built with lxml and validated against the official pain.001.001.03 XSD shipped in
``data/`` before anything is marked: a file the bank would refuse is never written. The debtor is
the company (its IBAN and BIC, ``crm company set``); each bill is one transfer whose remittance
text is the supplier's invoice number and whose end-to-end id is ``BILL-<id>``. The bills become
``paying``; the bank statement's debit clears them (:mod:`plugins.procurement.clearing`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.errors import CrmError
from plugins.procurement.models_bills import SupplierBill

PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
XSD = Path(__file__).parent / "data" / "pain.001.001.03.xsd"


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def check_pain001(xml: bytes) -> None:
    """Refuse a file the pain.001.001.03 schema rejects, naming its first error."""
    document = etree.fromstring(xml)
    if not schema().validate(document):
        error = schema().error_log[0]
        raise CrmError(f"the payment file is not valid pain.001.001.03: line {error.line}: {error.message}")


def _company_account(session) -> tuple[str, str, str]:
    from stdnum import bic as bics
    from stdnum import iban as ibans
    from stdnum.exceptions import ValidationError as Invalid

    from core.services.company import get_company

    company = get_company(session)
    if not company.name or not company.iban or not company.bic:
        raise CrmError("company: the company's name, IBAN and BIC pay the bills "
                       "(crm company set --iban ... --bic ...)")
    try:
        return company.name, ibans.validate(company.iban), bics.validate(company.bic)
    except Invalid as exc:
        raise CrmError(f"company: {exc}: check the company's IBAN and BIC (crm company set)") from None


def pay_bills(app, session, due_by: dt.date) -> dict:
    """Put the approved bills due by ``due_by`` in one payment run; returns its summary and its XML."""
    from core.security import require

    require(app, session, "procurement.bill.pay")
    name, iban, bic = _company_account(session)
    bills = list(session.scalars(
        select(SupplierBill).options(selectinload(SupplierBill.supplier))
        .where(SupplierBill.state == "approved", SupplierBill.due_date <= due_by)
        .order_by(SupplierBill.due_date, SupplierBill.id).with_for_update(of=SupplierBill)))
    payable = [bill for bill in bills if bill.iban]
    skipped = [f"bill #{bill.id} {bill.number} of {bill.supplier.name}: no IBAN to pay it to" for bill in bills
               if not bill.iban]
    if not payable:
        raise CrmError(f"no approved bill with an IBAN is due by {due_by} (see crm bill list)")
    runs = session.scalar(select(func.count(func.distinct(SupplierBill.payment_run)))
                          .where(SupplierBill.payment_run.like(f"PAY-{app.today:%Y%m%d}-%")))
    run = f"PAY-{app.today:%Y%m%d}-{runs + 1}"
    xml = pain001(run, app.today, (name, iban, bic), payable)
    check_pain001(xml)
    for bill in payable:
        bill.state, bill.payment_run = "paying", run
    session.flush()
    total = sum((bill.total for bill in payable), Decimal("0.00"))
    return {"run": run, "bills": len(payable), "total": str(total), "skipped": skipped, "xml": xml,
            "numbers": [bill.number for bill in payable]}


def _sub(parent, tag: str, text: str | None = None, **attrs):
    element = etree.SubElement(parent, f"{{{PAIN}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def _party_name(text: str) -> str:
    return text[:70]


def pain001(run: str, day: dt.date, debtor: tuple[str, str, str], bills: list[SupplierBill]) -> bytes:
    """The pain.001.001.03 XML of one run: one payment information block, one transfer per bill."""
    name, iban, bic = debtor
    total = f"{sum((bill.total for bill in bills), Decimal('0.00')):.2f}"
    root = etree.Element(f"{{{PAIN}}}Document", nsmap={None: PAIN})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", run)
    _sub(header, "CreDtTm", f"{day.isoformat()}T00:00:00")
    _sub(header, "NbOfTxs", str(len(bills)))
    _sub(header, "CtrlSum", total)
    _sub(_sub(header, "InitgPty"), "Nm", _party_name(name))
    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", f"{run}-1")
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "BtchBookg", "false")
    _sub(info, "NbOfTxs", str(len(bills)))
    _sub(info, "CtrlSum", total)
    _sub(_sub(_sub(info, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    _sub(info, "ReqdExctnDt", day.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", _party_name(name))
    _sub(_sub(_sub(info, "DbtrAcct"), "Id"), "IBAN", iban)
    _sub(_sub(_sub(info, "DbtrAgt"), "FinInstnId"), "BIC", bic)
    _sub(info, "ChrgBr", "SLEV")
    for bill in bills:
        transfer = _sub(info, "CdtTrfTxInf")
        _sub(_sub(transfer, "PmtId"), "EndToEndId", f"BILL-{bill.id}")
        _sub(_sub(transfer, "Amt"), "InstdAmt", f"{bill.total:.2f}", Ccy=bill.currency)
        if bill.bic:
            _sub(_sub(_sub(transfer, "CdtrAgt"), "FinInstnId"), "BIC", bill.bic)
        _sub(_sub(transfer, "Cdtr"), "Nm", _party_name(bill.supplier.name))
        _sub(_sub(_sub(transfer, "CdtrAcct"), "Id"), "IBAN", bill.iban)
        _sub(_sub(transfer, "RmtInf"), "Ustrd", bill.number[:140])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
