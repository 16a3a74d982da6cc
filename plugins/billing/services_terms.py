"""Payment terms: due dates from an invoice date, instalments, the French legal maximum.

Delays (Odoo's and the French usage's vocabulary):

- ``immediate``: due on the invoice date;
- ``days``: invoice date + N days ("30 jours");
- ``days_end_of_month``: invoice date + N days, then the end of that month ("45 jours fin de
  mois", first reading);
- ``end_of_month_days``: end of the invoice's month, then + N days ("fin de mois 45 jours",
  the second reading).

Day arithmetic only (never "add a month" to a 30 January, the classic ERPNext bug): end of month
is computed from the first day of the next month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from core.errors import NotFound, ValidationError
from core.security import require
from core.types import round_money
from plugins.billing.models import PartnerTerm, PaymentTerm, PaymentTermLine

HUNDRED = Decimal(100)
#: French B2B legal maximum (Code de commerce L441-10 II): 60 days from the invoice date, or
#: 45 days end of month (either reading) when the parties agree to it.
LEGAL_DAYS = 60
LEGAL_EOM_DAYS = 45
LEGAL_MESSAGE = ("exceeds the French B2B legal maximum (60 days from the invoice date or 45 days end of month, "
                 "Code de commerce L441-10)")

#: The built-in terms: code -> (name, [(percent or None for the balance, method, days)], discount %, discount days)
BUILT_IN = {
    "IMMEDIATE": ("Paiement à réception", [(None, "immediate", 0)]),
    "30J": ("30 jours", [(None, "days", 30)]),
    "45J": ("45 jours", [(None, "days", 45)]),
    "60J": ("60 jours", [(None, "days", 60)]),
    "30FDM": ("30 jours fin de mois", [(None, "days_end_of_month", 30)]),
    "45FDM": ("45 jours fin de mois (date + 45 jours, puis fin de mois)", [(None, "days_end_of_month", 45)]),
    "FDM45": ("Fin de mois + 45 jours (fin du mois de facture, puis 45 jours)", [(None, "end_of_month_days", 45)]),
    "30-60": ("50 % à 30 jours, solde à 60 jours", [(Decimal("50"), "days", 30), (None, "days", 60)]),
}


def end_of_month(day: dt.date) -> dt.date:
    """The last day of ``day``'s month (28, 29, 30 or 31)."""
    first_of_next = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first_of_next - dt.timedelta(days=1)


def due_date_for(invoice_date: dt.date, method: str, days: int) -> dt.date:
    """The due date of one instalment (see the module docstring for the methods)."""
    if method == "immediate":
        return invoice_date
    if method == "days":
        return invoice_date + dt.timedelta(days=days)
    if method == "days_end_of_month":
        return end_of_month(invoice_date + dt.timedelta(days=days))
    if method == "end_of_month_days":
        return end_of_month(invoice_date) + dt.timedelta(days=days)
    raise ValidationError(f"unknown delay method {method!r}", field="method")


def legal_limit(invoice_date: dt.date) -> dt.date:
    """The latest due date the law accepts for an invoice of ``invoice_date``."""
    return max(invoice_date + dt.timedelta(days=LEGAL_DAYS),
               end_of_month(invoice_date + dt.timedelta(days=LEGAL_EOM_DAYS)),
               end_of_month(invoice_date) + dt.timedelta(days=LEGAL_EOM_DAYS))


def exceeds_legal_maximum(lines: list[tuple]) -> dt.date | None:
    """An invoice date for which a line falls after the legal limit, or None.

    Checked over four whole years (one leap year) so every month length is tried.
    """
    start = dt.date(2027, 1, 1)
    for offset in range(366 * 3 + 365):
        day = start + dt.timedelta(days=offset)
        limit = legal_limit(day)
        for _percent, method, days in lines:
            if due_date_for(day, method, days) > limit:
                return day
    return None


def schedule(total: Decimal, invoice_date: dt.date, lines) -> list[tuple[dt.date, Decimal]]:
    """``[(due_date, amount)]``: each instalment's share of ``total``; the last absorbs the rounding."""
    result = []
    allotted = Decimal("0.00")
    for index, line in enumerate(lines):
        percent, method, days = line
        due = due_date_for(invoice_date, method, days)
        if index == len(lines) - 1:
            amount = total - allotted
        else:
            amount = round_money(total * percent / HUNDRED)
            allotted += amount
        result.append((due, amount))
    return result


def term_lines(term: PaymentTerm) -> list[tuple]:
    return [(line.percent, line.method, line.days) for line in term.lines]


def check_lines(code: str, lines: list[tuple], *, allow_beyond_legal: bool) -> None:
    """Shares adding up to exactly 100 %, the last one given or left as the balance; the legal
    maximum unless overridden.

    A last share that is typed must make the total exactly 100 % (``60:days:30 50:days:60`` is
    110 %: refused, never silently turned into a 40 % balance); left out, it takes the balance.
    """
    record = f"term {code}"
    if not lines:
        raise ValidationError("a term needs at least one instalment", record=record, field="lines")
    shares = Decimal(0)
    for index, (percent, method, days) in enumerate(lines):
        last = index == len(lines) - 1
        if method not in ("immediate", "days", "days_end_of_month", "end_of_month_days"):
            raise ValidationError(f"unknown delay {method!r} (immediate, days, days_end_of_month, "
                                  f"end_of_month_days)", record=record, field="lines")
        if days < 0 or days > 3650:
            raise ValidationError("days must be between 0 and 3650", record=record, field="lines")
        if percent is not None and percent <= 0:
            raise ValidationError(f"instalment {index + 1}: a share of {percent} %: it must be above 0",
                                  record=record, field="lines")
        if last:
            if percent is not None and shares + percent != HUNDRED:
                raise ValidationError(f"the instalments add up to {(shares + percent).normalize():f} %: they must "
                                      f"add up to exactly 100 % (or leave the last share out: it takes the "
                                      f"balance)", record=record, field="lines")
            continue
        if percent is None:
            raise ValidationError(f"instalment {index + 1}: a percentage above 0 is needed (only the last "
                                  f"instalment takes the balance)", record=record, field="lines")
        shares += percent
    if shares >= HUNDRED:
        raise ValidationError(f"the instalments before the last add up to {shares} %: the last one must get "
                              f"a balance above 0", record=record, field="lines")
    if not allow_beyond_legal:
        day = exceeds_legal_maximum(lines)
        if day is not None:
            raise ValidationError(f"{LEGAL_MESSAGE}: an invoice of {day.isoformat()} would be due "
                                  f"{max(due_date_for(day, m, d) for _, m, d in lines).isoformat()}, the limit is "
                                  f"{legal_limit(day).isoformat()}; use --beyond-legal-maximum to accept it",
                                  record=record, field="lines")


def create_term(session, data: dict, *, right: str | None = "billing.settings") -> PaymentTerm:
    """Create a term from validated data (``TermSchema``); refused beyond the legal maximum unless overridden.

    ``right`` is checked first (None only for the terms enabling the module seeds).
    """
    if right is not None:
        require(session.info["app"], session, right)
    code = data["code"]
    if session.scalars(select(PaymentTerm.id).where(PaymentTerm.code == code)).first():
        raise ValidationError("already exists", record=f"term {code}", field="code")
    lines = data["lines"]
    override = data.get("beyond_legal_maximum", False)
    check_lines(code, lines, allow_beyond_legal=override)
    term = PaymentTerm(code=code, name=data.get("name") or code, discount_percent=data.get("discount_percent")
                       or Decimal("0"), discount_days=data.get("discount_days") or 0,
                       beyond_legal_maximum=bool(override and exceeds_legal_maximum(lines)))
    for sequence, (percent, method, days) in enumerate(lines, start=1):
        term.lines.append(PaymentTermLine(sequence=sequence, percent=None if sequence == len(lines) else percent,
                                          method=method, days=days))
    session.add(term)
    session.flush()
    return term


def seed_terms(session) -> None:
    """The built-in French terms (idempotent: an existing code is left as the admin edited it)."""
    existing = set(session.scalars(select(PaymentTerm.code)))
    for code, (name, lines) in BUILT_IN.items():
        if code not in existing:
            create_term(session, {"code": code, "name": name, "lines": lines}, right=None)


def get_term(session, code) -> PaymentTerm:
    text = str(code).strip()
    term = session.scalars(select(PaymentTerm).where(PaymentTerm.code == text.upper())).first()
    if term is None:
        known = ", ".join(session.scalars(select(PaymentTerm.code).order_by(PaymentTerm.code)))
        raise NotFound(f"term {text!r}: no such payment term (known: {known})")
    return term


def set_partner_term(session, partner, term: PaymentTerm) -> None:
    """Make ``term`` the customer's default term."""
    require(session.info["app"], session, "billing.settings")
    row = session.get(PartnerTerm, partner.id)
    if row is None:
        session.add(PartnerTerm(partner_id=partner.id, term_id=term.id))
    else:
        row.term_id = term.id
    session.flush()


def term_for_partner(app, session, partner_id: int) -> PaymentTerm:
    """The customer's default term, else the ``[billing] default_term``."""
    from plugins.billing.settings import settings

    row = session.get(PartnerTerm, partner_id)
    if row is not None:
        return row.term
    return get_term(session, settings(app)["default_term"])


def describe_line(percent, method: str, days: int) -> str:
    share = "balance" if percent is None else f"{percent.normalize():f} %"
    when = {"immediate": "on receipt", "days": f"{days} days", "days_end_of_month": f"{days} days end of month",
            "end_of_month_days": f"end of month + {days} days"}[method]
    return f"{share} {when}"


def term_dict(term: PaymentTerm) -> dict:
    return {"code": term.code, "name": term.name,
            "instalments": [{"percent": None if l.percent is None else str(l.percent), "method": l.method,
                             "days": l.days} for l in term.lines],
            "description": ", ".join(describe_line(l.percent, l.method, l.days) for l in term.lines),
            "discount_percent": str(term.discount_percent), "discount_days": term.discount_days,
            "beyond_legal_maximum": term.beyond_legal_maximum, "active": term.active}
