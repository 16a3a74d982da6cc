"""The plan's cash section: the bank balance week by week, from what the modules expect in and out.

Modules answer the hook ``plan_cash`` with what they know: :class:`CashFlow` (money expected to
come in or go out, per day: billing's receivables, procurement's bills and orders to be billed)
and :class:`CashBalance` (the money in the bank on a day: billing gives the closing balance of the
last camt.053 statement imported for each account). The kernel adds them up, so no module reads
another's tables.

The rules, in one place:

- Money is never expected in the past: an amount due before ``today`` is expected ``today``.
- The weeks are the period's (Monday to Sunday, :meth:`core.reports.Period.weeks`). For a period
  that starts after today, what is expected between today and its start is the ``before`` row:
  it moves the balance the period starts with. What is expected after the period's end is shown
  as ``after`` and left out of the balances.
- The opening balance is the sum of the balances given, as of the oldest of their days. Without
  one (no statement imported yet, or billing disabled) it is unknown: the balances are computed
  from 0.00 and the section says so (``opening.known`` is false).
- Balance at the end of a week = the balance at the start of the period + every week's money in
  minus money out up to that week. The cash plan is company-wide: ``--team`` does not change it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass
class CashFlow:
    """Money a module expects to move, per day.

    :param key: stable name (``receivables``, ``bills``, ``orders``), the flow's key in the JSON.
    :param title: English label (translated on the page).
    :param direction: ``in`` (money received) or ``out`` (money paid).
    :param amounts: ``{day: amount}``, exact Decimals, positive.
    :param note: how the days were estimated, for the reader.
    """

    key: str
    title: str
    direction: str
    amounts: dict[dt.date, Decimal] = field(default_factory=dict)
    note: str = ""


@dataclass
class CashBalance:
    """Money in the bank on ``as_of`` (an account's last statement): ``source`` says where it comes from."""

    amount: Decimal
    as_of: dt.date
    source: str


def cash_section(app, session, period):
    """The ``cash`` section of the plan, or None when no enabled module answers ``plan_cash``."""
    from core.reports import Chart, Section

    answers = []
    for result in app.call("plan_cash", app=app, session=session, period=period):
        answers.extend(result if isinstance(result, (list, tuple)) else [result])
    # money in first, then money out, each in the order the modules answered
    flows = sorted((a for a in answers if isinstance(a, CashFlow)), key=lambda flow: flow.direction != "in")
    balances = [a for a in answers if isinstance(a, CashBalance)]
    if not flows and not balances:
        return None
    weeks = period.weeks()
    before = {flow.key: ZERO for flow in flows}
    after = {flow.key: ZERO for flow in flows}
    per_week = {monday: {flow.key: ZERO for flow in flows} for monday in weeks}
    for flow in flows:
        for day, amount in flow.amounts.items():
            day = max(day, period.today)
            if day < period.start:
                before[flow.key] += amount
            elif day > period.end:
                after[flow.key] += amount
            else:
                per_week[day - dt.timedelta(days=day.weekday())][flow.key] += amount
    sign = {flow.key: 1 if flow.direction == "in" else -1 for flow in flows}
    opening = sum((b.amount for b in balances), ZERO)
    start = opening + sum((sign[key] * amount for key, amount in before.items()), ZERO)
    balance, rows = start, []
    for monday in weeks:
        money_in = sum((v for k, v in per_week[monday].items() if sign[k] > 0), ZERO)
        money_out = sum((v for k, v in per_week[monday].items() if sign[k] < 0), ZERO)
        balance += money_in - money_out
        rows.append({"week": monday.isoformat(), "label": f"W{monday.isocalendar()[1]:02d}",
                     "flows": {k: str(v) for k, v in per_week[monday].items()}, "in": str(money_in),
                     "out": str(money_out), "net": str(money_in - money_out), "balance": str(balance)})
    known = bool(balances)
    as_of = min((b.as_of for b in balances), default=None)
    note = ("" if known else "opening balance unknown (no bank statement with a closing balance imported): "
            "the balances start from 0.00")
    data = {
        "as_of": period.today.isoformat(),
        "opening": {"known": known, "amount": str(opening), "as_of": as_of.isoformat() if as_of else None,
                    "sources": [b.source for b in balances]},
        "note": note,
        "flows": [{"key": f.key, "title": f.title, "direction": f.direction, "note": f.note,
                   "within": str(sum((_within(f, period)), ZERO))} for f in flows],
        "before": {k: str(v) for k, v in before.items()}, "start_balance": str(start),
        "weeks": rows, "after": {k: str(v) for k, v in after.items()}, "closing_balance": str(balance),
        "lowest": min(rows, key=lambda r: Decimal(r["balance"]), default=None),
    }
    currency = app.config.company.currency
    summary = [("opening balance", f"{opening} {currency}" + (f" on {as_of}" if known else " (unknown: 0.00)"))]
    if any(before.values()):
        summary.append(("expected before the period", f"{sum((sign[k] * v for k, v in before.items()), ZERO)} "
                                                      f"{currency}"))
    summary += [(f"{'in' if f.direction == 'in' else 'out'}: {f.title}", f"{sum(_within(f, period), ZERO)} {currency}")
                for f in flows]
    summary.append(("balance at the end", f"{balance} {currency}"))
    if data["lowest"]:
        summary.append(("lowest balance", f"{data['lowest']['balance']} {currency} ({data['lowest']['label']})"))
    chart = Chart("Balance at the end of each week", [(r["label"], Decimal(r["balance"])) for r in rows],
                  unit="money", kind="columns")
    return Section(key="cash", title="Cash plan", template="core/cash_section.html", data=data, order=45,
                   summary=summary, charts={"balance": chart})


def _within(flow: CashFlow, period) -> list[Decimal]:
    """The amounts of ``flow`` expected inside the period (days before today count as today)."""
    return [amount for day, amount in flow.amounts.items() if period.start <= max(day, period.today) <= period.end]
