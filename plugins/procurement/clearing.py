"""Bills being paid cleared by the bank statement's debits (billing's ``bank_debits_imported`` hook).

A debit clears one bill that is ``paying``: same amount, the bill's number in the remittance text
(our transfer's ``Ustrd``), and the supplier's IBAN when the bank gives the creditor's account.
"""

from __future__ import annotations

from sqlalchemy import select

from plugins.procurement.models_bills import SupplierBill


def clear_bills(app, session, lines: list[dict]) -> list[SupplierBill]:
    """Mark paid the bills these debit lines pay; returns them."""
    debits = [line for line in lines if line["direction"] == "debit"]
    if not debits:
        return []
    paying = list(session.scalars(select(SupplierBill).where(SupplierBill.state == "paying")
                                  .order_by(SupplierBill.id).with_for_update()))
    cleared = []
    for line in debits:
        text = " ".join(filter(None, [line.get("remittance"), line.get("structured_reference")]))
        for bill in paying:
            if (bill.state == "paying" and bill.total == line["amount"] and bill.number in text
                    and (not line.get("counterparty_iban") or line["counterparty_iban"] == bill.iban)):
                bill.state, bill.paid_on = "paid", line["booking_date"]
                cleared.append(bill)
                break
    session.flush()
    return cleared
