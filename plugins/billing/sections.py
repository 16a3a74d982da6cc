"""Billing's sections of the period report (``crm report period``) and of the plan (``crm plan``).

The report says what was invoiced and collected between two dates and what customers owed on the
last day; the plan says when the money owed today should come in. Every figure is one SQL
aggregate over the period (``GROUP BY`` week, bucket or customer) on the scaled-integer columns,
so amounts are exact Decimals on SQLite and PostgreSQL alike; receivables and their aging are
:func:`plugins.billing.services_receivables.aging` itself, not a second reading of the rules.

A team's view keeps the customers whose salesperson (``core_partner.salesperson_id``) is one of
the team's members. It is the customer's owner, not the salesperson stamped on each invoice, that
decides: a payment names only a customer, and invoiced, collected, owed and expected must add up
over the same customers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, bindparam, text

from core.reports import Chart, Section
from plugins.billing.formatting import cents
from plugins.billing.services_receivables import BUCKETS, _dso, aging

ZERO = Decimal("0.00")
#: how many customers the report and the plan name
TOP = 5
#: aging chart labels, in days late: the chart draws labels as they are, in every language
BUCKET_LABELS = {"not_due": "0", "days_1_30": "1–30", "days_31_60": "31–60", "days_61_90": "61–90",
                 "over_90": "> 90"}


# --- the report -------------------------------------------------------------------------------

def report_section(app, session, period) -> Section:
    """Invoicing, collection and receivables of ``period`` (see the module docstring).

    - invoiced: invoices and credit notes posted with an invoice date in the period; a credit
      note counts on its own date, whichever invoice it credits (net = invoices − credit notes);
    - collected: payments dated in the period, allocated or not (cash received);
    - receivables: :func:`aging` on ``period.end``, or on ``today`` when the period ends later
      (nothing is owed in the future yet); DSO as aging computes it;
    - one column per week of ``period.weeks()`` (the invoiced amount excl. VAT, net), empty
      weeks included, so two reports of the same length draw the same axis.
    """
    scope = _Scope(period)
    as_of = min(period.end, period.today)
    invoiced = _invoiced(session, scope, period.start, period.end)
    collected = _collected(session, scope, period.start, period.end)
    receivables, customers = _receivables(app, session, scope, as_of)
    weeks = _invoiced_per_week(app, session, scope, period)
    top = sorted((c for c in customers if c["overdue"] > 0), key=lambda c: (-c["overdue"], c["customer"] or ""))
    data = {
        "invoiced": _plain(invoiced),
        "collected": _plain(collected),
        "receivables": {"as_of": as_of.isoformat(), **_plain(receivables)},
        "top_overdue": [_plain({key: c[key] for key in ("customer", "customer_id", "overdue", "total")})
                        for c in top[:TOP]],
        "weeks": [{"week": _iso_week(monday), "monday": monday.isoformat(), "untaxed": str(amount)}
                  for monday, amount in weeks],
    }
    money = _money(app)
    summary = [
        ("invoiced", f"{money(invoiced['untaxed'])} excl. VAT, {money(invoiced['total'])} incl. VAT "
                     f"({_count(invoiced['invoices'], 'invoice')}, {_count(invoiced['credit_notes'], 'credit note')})"),
        ("collected", f"{money(collected['amount'])} ({_count(collected['payments'], 'payment')})"),
        ("receivables", f"{money(receivables['total'])} open on {as_of.isoformat()}"),
        ("overdue", f"{money(receivables['overdue'])} (over 90 days: {money(receivables['over_90'])})"),
        ("DSO", f"{receivables['dso']} days" if receivables["dso"] is not None else "n/a (no sales)"),
    ]
    if top:
        summary.append(("most overdue", ", ".join(f"{c['customer']} {money(c['overdue'])}" for c in top[:3])))
    charts = {
        "revenue": Chart("Invoiced per week (excl. VAT)", [(_week_label(m), a) for m, a in weeks], unit="money",
                         kind="columns"),
        "aging": Chart("Receivables by days late", [(BUCKET_LABELS[b], receivables[b]) for b in BUCKETS],
                       unit="money", kind="bars"),
    }
    return Section(key="billing", title="Billing", template="billing/report_section.html", data=data, order=30,
                   summary=summary, charts=charts)


def _invoiced(session, scope, start: dt.date, end: dt.date) -> dict:
    """Invoices and credit notes dated ``start``..``end`` (both included): counts and amounts, net."""
    row = session.execute(scope.statement("""
        SELECT COUNT(CASE WHEN i.kind = 'invoice' THEN 1 END),
               COUNT(CASE WHEN i.kind = 'credit_note' THEN 1 END),
               COALESCE(SUM(CASE WHEN i.kind = 'invoice' THEN i.total_untaxed ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN i.kind = 'invoice' THEN i.total ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN i.kind = 'credit_note' THEN i.total_untaxed ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN i.kind = 'credit_note' THEN i.total ELSE 0 END), 0)
        FROM billing_invoice i
        WHERE i.state <> 'draft' AND i.invoice_date BETWEEN :start AND :end""", "i.partner_id",
        dates=("start", "end"), owner="i.salesperson_id"), scope.params(start=start, end=end)).one()
    untaxed, total, credited_untaxed, credited_total = (cents(v or 0) for v in row[2:])
    return {"invoices": row[0], "credit_notes": row[1], "untaxed": untaxed - credited_untaxed,
            "total": total - credited_total, "credited_untaxed": credited_untaxed, "credited_total": credited_total}


def _collected(session, scope, start: dt.date, end: dt.date) -> dict:
    """Payments dated ``start``..``end``: how many, how much."""
    count, amount = session.execute(scope.statement("""
        SELECT COUNT(*), COALESCE(SUM(y.amount), 0) FROM billing_payment y
        WHERE y.payment_date BETWEEN :start AND :end""", "y.partner_id", dates=("start", "end")),
        scope.params(start=start, end=end)).one()
    return {"payments": count, "amount": cents(amount or 0)}


def _invoiced_per_week(app, session, scope, period) -> list[tuple[dt.date, Decimal]]:
    """``[(monday, invoiced excl. VAT net of credit notes)]`` for every week of the period."""
    mondays = period.weeks()
    rows = session.execute(scope.statement(f"""
        SELECT week, SUM(untaxed) FROM (
            SELECT {_days(app, 'i.invoice_date', ':monday')} / 7 AS week,
                   CASE WHEN i.kind = 'invoice' THEN i.total_untaxed ELSE -i.total_untaxed END AS untaxed
            FROM billing_invoice i
            WHERE i.state <> 'draft' AND i.invoice_date BETWEEN :start AND :end{{scope}}) w
        GROUP BY week""", "i.partner_id", dates=("monday", "start", "end"), owner="i.salesperson_id"),
        scope.params(monday=mondays[0], start=period.start, end=period.end)).all()
    by_week = {int(week): cents(amount or 0) for week, amount in rows}
    return [(monday, by_week.get(index, ZERO)) for index, monday in enumerate(mondays)]


def _receivables(app, session, scope, as_of: dt.date) -> tuple[dict, list[dict]]:
    """Aging on ``as_of``: bucket totals, overdue, DSO, and the customers' rows (exact Decimals).

    :func:`aging` has no customer filter: a team's totals are the sum of its customers' rows
    (already one aggregate per customer), and its DSO divides them by the team's own sales over
    the same ``dso_days`` (the rule of :func:`aging`, on fewer customers).
    """
    report = aging(app, session, today=as_of)
    customers = [{"customer": c["customer"], "customer_id": c["customer_id"], "dso": c["dso"],
                  **{key: Decimal(c[key]) for key in (*BUCKETS, "total")}} for c in report["customers"]]
    for row in customers:
        row["overdue"] = row["total"] - row["not_due"]
    days = report["dso_days"]
    if not scope.team and scope.readers is None:
        totals = {key: Decimal(report["totals"][key]) for key in (*BUCKETS, "total")}
        dso = report["dso"]
    else:
        owned = set(session.scalars(scope.statement("SELECT cp.id FROM core_partner cp WHERE 1 = 1", "cp.id"),
                                    scope.params()))
        customers = [c for c in customers if c["customer_id"] in owned]
        totals = {key: sum((c[key] for c in customers), ZERO) for key in (*BUCKETS, "total")}
        sales = _invoiced(session, scope, as_of - dt.timedelta(days=days - 1), as_of)["total"]
        dso = _dso(totals["total"], sales, days)
    return {**totals, "overdue": totals["total"] - totals["not_due"], "dso": dso, "dso_days": days}, customers


# --- the plan ---------------------------------------------------------------------------------

def plan_section(app, session, period) -> Section:
    """When the receivables open on ``today`` should be paid, before, within and after ``period``.

    Each open instalment (its open part, settlements covering the oldest first, as in aging) is
    expected on its due date moved by its customer's average payment delay: the days from the
    final due date of each of the customer's paid invoices to the date of the last payment that
    settled it, averaged over those invoices weighted by their totals (a late 10,000 € invoice
    weighs more than an early 50 € one) and rounded to the day (negative for a customer who pays
    early). A customer with no paid invoice yet is expected on the due date: a company-wide
    average would call a new customer late before they have paid anything. Money is never expected in
    the past: a date before ``today`` becomes ``today`` (what is overdue is expected at once), so
    for a period that starts after today the overdue amounts are "before" the period. Disputed
    and blocked invoices count like the others; their open amount is also given as ``on_hold``.
    The period is cut into weeks when it is a month or shorter, else into calendar months.
    """
    scope = _Scope(period)
    steps = _steps(period)
    rows = session.execute(scope.statement(_expected_sql(app, period, steps) + """
        SELECT bucket, SUM(open_amount), SUM(CASE WHEN hold IS NOT NULL THEN open_amount ELSE 0 END)
        FROM placed GROUP BY bucket""", "i.partner_id", dates=("start",)), scope.params(start=period.start)).all()
    by_bucket = {int(bucket): cents(amount or 0) for bucket, amount, _ in rows}
    on_hold = cents(sum(int(held or 0) for _, _, held in rows))
    amounts = [by_bucket.get(index, ZERO) for index in range(len(steps))]
    before, after = by_bucket.get(-1, ZERO), by_bucket.get(len(steps), ZERO)
    within = sum(amounts, ZERO)
    customers = session.execute(scope.statement(_expected_sql(app, period, steps) + f"""
        SELECT e.partner_id, p.name, SUM(e.open_amount),
               SUM(CASE WHEN e.bucket BETWEEN 0 AND {len(steps) - 1} THEN e.open_amount ELSE 0 END),
               MAX(e.delay), MAX(e.paid)
        FROM placed e JOIN core_partner p ON p.id = e.partner_id
        GROUP BY e.partner_id, p.name
        ORDER BY SUM(e.open_amount) DESC, p.name
        LIMIT {TOP}""", "i.partner_id", dates=("start",)), scope.params(start=period.start)).all()
    data = {
        "as_of": period.today.isoformat(), "step": "week" if _weekly(period) else "month",
        "open": str(before + within + after), "before": str(before), "within": str(within), "after": str(after),
        "on_hold": str(on_hold),
        "expected": [{"label": label, "first": first.isoformat(), "last": last.isoformat(), "amount": str(amount)}
                     for (label, first, last), amount in zip(steps, amounts)],
        "customers": [{"customer": name, "customer_id": partner_id, "open": str(cents(open_ or 0)),
                       "within": str(cents(inside or 0)), "average_delay_days": None if delay is None else int(delay),
                       "paid_invoices": int(paid or 0)}
                      for partner_id, name, open_, inside, delay, paid in customers],
    }
    money = _money(app)
    summary = [("open receivables", f"{money(before + within + after)} on {period.today.isoformat()}"),
               ("expected before", money(before)), ("expected within", money(within)),
               ("expected after", money(after))]
    summary += [(f"  {label}", money(amount)) for (label, _, _), amount in zip(steps, amounts)]
    if on_hold:
        summary.append(("on hold", money(on_hold)))
    chart = Chart("Expected cash-in", [(label, amount) for (label, _, _), amount in zip(steps, amounts)],
                  unit="money", kind="columns")
    return Section(key="billing", title="Expected cash-in", template="billing/plan_section.html", data=data,
                   order=30, summary=summary, charts={"cash_in": chart})


def _weekly(period) -> bool:
    return period.days <= 31


def _steps(period) -> list[tuple[str, dt.date, dt.date]]:
    """``[(label, first day, last day)]`` cutting the period into weeks (a month or less) or months."""
    if _weekly(period):
        firsts = [max(monday, period.start) for monday in period.weeks()]
        labels = [_week_label(monday) for monday in period.weeks()]
    else:
        firsts, day = [period.start], period.start
        while True:
            day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            if day > period.end:
                break
            firsts.append(day)
        labels = [f"{first:%Y-%m}" for first in firsts]
    lasts = [following - dt.timedelta(days=1) for following in firsts[1:]] + [period.end]
    return list(zip(labels, firsts, lasts))


def _expected_sql(app, period, steps) -> str:
    """The CTEs ending in ``placed``: each open instalment's amount, customer delay and bucket.

    Days are counted from ``period.start`` (``:start``); the bucket is -1 before the period,
    0..n-1 for the steps, n after it. The integers written into the SQL are computed here.
    """
    today = (period.today - period.start).days
    limits = [(first - period.start).days for _, first, _ in steps[1:]] + [period.days]
    bucket = "CASE WHEN day < 0 THEN -1 " + " ".join(
        f"WHEN day < {int(limit)} THEN {index}" for index, limit in enumerate(limits)) + f" ELSE {len(steps)} END"
    return f"""
        WITH dues AS (
            SELECT i.partner_id, i.hold, d.due_date, d.amount, i.settled,
                   SUM(d.amount) OVER (PARTITION BY d.invoice_id ORDER BY d.sequence) AS running
            FROM billing_invoice_due d JOIN billing_invoice i ON i.id = d.invoice_id
            WHERE i.state IN ('posted', 'partially_paid') AND i.kind = 'invoice'{{scope}}),
        open_dues AS (
            SELECT partner_id, hold, due_date,
                   CASE WHEN running <= settled THEN 0
                        WHEN running - amount >= settled THEN amount
                        ELSE running - settled END AS open_amount
            FROM dues),
        paid_invoices AS (
            SELECT i.partner_id, i.total, {_days(app, 'MAX(y.payment_date)', 'i.final_due_date')} AS delay
            FROM billing_invoice i
            JOIN billing_allocation a ON a.invoice_id = i.id
            JOIN billing_payment y ON y.id = a.payment_id
            WHERE i.kind = 'invoice' AND i.state = 'paid'{{scope}}
            GROUP BY i.id, i.partner_id, i.total, i.final_due_date),
        delays AS (
            SELECT partner_id, CAST(ROUND(SUM(delay * total) * 1.0 / NULLIF(SUM(total), 0)) AS INTEGER) AS delay,
                   COUNT(*) AS paid
            FROM paid_invoices GROUP BY partner_id),
        expected AS (
            SELECT o.partner_id, o.hold, o.open_amount, d.delay, d.paid,
                   {_days(app, 'o.due_date', ':start')} + COALESCE(d.delay, 0) AS day
            FROM open_dues o LEFT JOIN delays d ON d.partner_id = o.partner_id
            WHERE o.open_amount > 0),
        landed AS (
            SELECT partner_id, hold, open_amount, delay, paid,
                   CASE WHEN day < {int(today)} THEN {int(today)} ELSE day END AS day
            FROM expected),
        placed AS (
            SELECT partner_id, hold, open_amount, delay, paid, {bucket} AS bucket FROM landed)
    """


def expected_receipts(app, session, period) -> dict[dt.date, Decimal]:
    """Per day, the receivables open on ``period.today`` expected then (the rule of :func:`plan_section`).

    Every customer (the cash plan is company-wide, whatever ``period.team``); days before today are today.
    """
    from dataclasses import replace

    whole = replace(period, team=None, member_ids=())
    rows = session.execute(_Scope(whole).statement(_expected_sql(app, whole, _steps(whole)) + """
        SELECT day, SUM(open_amount) FROM landed GROUP BY day""", "i.partner_id", dates=("start",)),
        {"start": period.start}).all()
    return {period.start + dt.timedelta(days=int(day)): cents(amount) for day, amount in rows if amount}


# --- shared -----------------------------------------------------------------------------------

class _Scope:
    """The customers a view looks at: all of them, or those a team's members own; and what the reader sees."""

    def __init__(self, period):
        self.team = period.team is not None
        self.members = list(period.member_ids)
        self.readers = period.visible_ids  # the record rules: an invoice its salesperson's, a payment its customer's

    def statement(self, sql: str, column: str, *, dates: tuple[str, ...] = (), owner: str | None = None):
        """``sql`` as a text statement, its ``{scope}`` (or its end) limited to the team's customers.

        ``column`` is the partner id the limit applies to; ``dates`` name the date parameters
        (typed, so SQLite gets ISO text); ``owner`` the row's salesperson column, for the record rule
        of a limited reader (else the customer's salesperson decides).
        """
        limit = (f" AND {column} IN (SELECT cp.id FROM core_partner cp WHERE cp.salesperson_id IN :members)"
                 if self.team else "")
        if self.readers is not None:
            limit += (f" AND ({owner} IS NULL OR {owner} IN :readers)" if owner else
                      f" AND {column} IN (SELECT rp.id FROM core_partner rp WHERE rp.salesperson_id IS NULL "
                      f"OR rp.salesperson_id IN :readers)")
        sql = sql.replace("{scope}", limit) if "{scope}" in sql else sql + limit
        binds = [bindparam(name, type_=Date) for name in dates]
        if self.team:
            binds.append(bindparam("members", expanding=True))
        if self.readers is not None:
            binds.append(bindparam("readers", expanding=True))
        return text(sql).bindparams(*binds)

    def params(self, **values) -> dict:
        values = {**values, "members": self.members} if self.team else values
        return {**values, "readers": list(self.readers)} if self.readers is not None else values


def _days(app, later: str, earlier: str) -> str:
    """SQL for the whole days from date ``earlier`` to date ``later`` (both SQL expressions)."""
    if app.dialect == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _plain(values: dict) -> dict:
    """JSON-ready: exact amounts as decimal strings, counts and the rest as they are."""
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in values.items()}


def _iso_week(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _week_label(monday: dt.date) -> str:
    return f"W{monday.isocalendar()[1]:02d}"


def _money(app):
    currency = app.config.company.currency
    return lambda amount: f"{amount:,.2f} {currency}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
