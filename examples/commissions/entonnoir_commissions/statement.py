"""Reading the ledger: a salesperson's statement for a period, and the period report's section.

Totals are computed in SQL (GROUP BY salesperson over the scaled integer columns, exact on both
databases); the statement also lists its rows, which is what a salesperson checks line by line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import case, func, select

from core.models import User
from entonnoir_commissions.models import ZERO, CommissionEntry


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(ZERO)


def totals(session, start: dt.date, end: dt.date, salesperson_ids=None) -> list[dict]:
    """Per salesperson with ledger rows between two dates (included): collected (VAT incl.) and
    base (untaxed), both net of reversals, commission accrued, reversed (negative) and total."""
    accrual = CommissionEntry.kind == "accrual"

    def of(column, when=None):
        return func.coalesce(func.sum(column if when is None else case((when, column), else_=0)), 0)

    query = (select(User.id, User.login, User.name, of(CommissionEntry.collected), of(CommissionEntry.base),
                    of(CommissionEntry.commission, accrual), of(CommissionEntry.commission, ~accrual),
                    of(CommissionEntry.commission))
             .join(User, User.id == CommissionEntry.salesperson_id)
             .where(CommissionEntry.accrued_on.between(start, end))
             .group_by(User.id, User.login, User.name).order_by(User.login))
    if salesperson_ids is not None:
        query = query.where(CommissionEntry.salesperson_id.in_(list(salesperson_ids)))
    return [{"id": uid, "login": login, "name": name, "collected": _money(collected), "base": _money(base),
             "accrued": _money(accrued), "reversed": _money(reversed_), "total": _money(total)}
            for uid, login, name, collected, base, accrued, reversed_, total in session.execute(query)]


def _line(entry: CommissionEntry) -> dict:
    return {"date": entry.accrued_on.isoformat(), "kind": entry.kind, "invoice": entry.invoice_number,
            "payment_date": entry.payment_date.isoformat() if entry.payment_date else None,
            "credit_note": entry.credit_note_number, "collected": entry.collected, "base": entry.base,
            "rate": entry.rate, "commission": entry.commission}


def statement(session, start: dt.date, end: dt.date, *, label: str = "", salesperson: str | None = None) -> dict:
    """The commission statement of a period: per salesperson, every ledger row and the totals.

    With ``salesperson`` (a login) only theirs, listed even when they earned nothing.
    """
    from core.services.people import get_user

    only = get_user(session, salesperson) if salesperson else None
    people = totals(session, start, end, [only.id] if only else None)
    if only is not None and not people:
        people = [{"id": only.id, "login": only.login, "name": only.name, **{k: ZERO for k in (
            "collected", "base", "accrued", "reversed", "total")}}]
    query = (select(CommissionEntry).where(CommissionEntry.accrued_on.between(start, end))
             .order_by(CommissionEntry.accrued_on, CommissionEntry.id))
    if only is not None:
        query = query.where(CommissionEntry.salesperson_id == only.id)
    lines: dict[int, list[dict]] = {}
    for entry in session.scalars(query):
        lines.setdefault(entry.salesperson_id, []).append(_line(entry))
    salespeople = [{"login": p["login"], "name": p["name"], "lines": lines.get(p["id"], []),
                    **{k: p[k] for k in ("collected", "base", "accrued", "reversed", "total")}} for p in people]
    return {"period": {"from": start.isoformat(), "to": end.isoformat(), "label": label},
            "salespeople": salespeople, "total": sum((p["total"] for p in people), ZERO)}


def report_section(app, session, period):
    """The "Commissions" section of ``crm report period``: what each salesperson earned in the period.

    With ``--team`` only the team's members (a salesperson is counted in every team they belong to).
    """
    from core.reports import Chart, Section

    people = totals(session, period.start, period.end, period.member_ids if period.team is not None else None)
    grand = {key: sum((p[key] for p in people), ZERO) for key in ("collected", "base", "accrued", "reversed", "total")}
    data = {"salespeople": [{k: v for k, v in p.items() if k != "id"} for p in people], "totals": grand}
    currency = app.config.company.currency

    def money(amount: Decimal) -> str:
        return f"{amount:,.2f} {currency}"

    summary = [("commission", f"{money(grand['total'])} (accrued {money(grand['accrued'])}, "
                              f"reversed {money(grand['reversed'])})"),
               ("collected", f"{money(grand['base'])} excl. VAT")]
    summary += [(f"  {p['name']}", money(p["total"])) for p in people]
    return Section(
        key="commissions", title="Commissions", template="commissions/report.html", data=data, order=60,
        summary=summary,
        charts={"by_salesperson": Chart("Commission per salesperson", [(p["name"], p["total"]) for p in people],
                                        unit="money", kind="bars")})
