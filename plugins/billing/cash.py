"""Billing's part of the plan's cash section (:mod:`core.cashplan`): receivables in, and the bank balance.

- ``receivables``: the open instalments of posted invoices, each expected on its due date moved by
  its customer's own average payment delay (weighted by amount; a customer with no paid invoice
  yet on the due date): :func:`plugins.billing.sections.expected_receipts`, the rule of the
  billing plan section, so both say the same.
- The opening balance: for each account, the closing booked balance of the camt.053 statement
  with the latest closing day (CSV exports carry none). Nothing imported yet: no balance given, and
  the kernel says the opening balance is unknown.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.cashplan import CashBalance, CashFlow
from plugins.billing.models_bank import BankStatement
from plugins.billing.sections import expected_receipts


def plan_cash(app, session, period) -> list:
    """The receivables flow and one balance per bank account known."""
    answers: list = [CashFlow(key="receivables", title="receivables expected", direction="in",
                              amounts=expected_receipts(app, session, period),
                              note="each customer's open invoices at their due date moved by the customer's "
                                   "average payment delay (weighted by amount; none yet: the due date)")]
    latest = (select(BankStatement.account, func.max(BankStatement.closing_date).label("day"))
              .where(BankStatement.closing_balance.is_not(None)).group_by(BankStatement.account).subquery())
    rows = session.execute(
        select(BankStatement.account, BankStatement.closing_date, BankStatement.closing_balance)
        .join(latest, (func.coalesce(latest.c.account, "") == func.coalesce(BankStatement.account, ""))
              & (latest.c.day == BankStatement.closing_date))
        .where(BankStatement.closing_balance.is_not(None))
        .order_by(BankStatement.account, BankStatement.id.desc())).all()
    seen = set()
    for account, day, amount in rows:
        if account not in seen:  # the same day imported twice: the last import
            seen.add(account)
            answers.append(CashBalance(amount=amount, as_of=day, source=f"statement of {account or 'the account'} "
                                                                         f"on {day.isoformat()}"))
    return answers
