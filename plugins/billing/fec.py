"""The FEC ("Fichier des écritures comptables", LPF art. A47 A-1, BOI-CF-IOR-60-40-20) of a period.

The accountant's hand-off: every accounting entry billing makes, as the tax administration reads
them. Three journals, written in this order and numbered on one continuous sequence
(``EcritureNum``), each chronological:

- ``VE`` sales: an invoice debits the customer (411, with the customer's auxiliary account
  ``C<id>``) by its total and credits revenue (70x: goods or services, domestic, intra-EU,
  export, EU distance sales; penalties 763) and VAT collected (44571x per rate); a credit note
  the other way round;
- ``BQ`` bank: a payment debits the bank (512) and credits the customer; a refund the reverse;
- ``OD`` miscellaneous: a write-off debits 658 and credits the customer.

One line per account per entry, every entry balanced. The customer line of an invoice that is
settled is lettered (``EcritureLet``, the invoice's number; ``DateLet``, its last settlement), and
so are the payments, credit notes and write-offs that settled it. Accounts come from
``[billing.accounts]`` (PCG defaults, :data:`plugins.billing.settings.ACCOUNTS`).

Streamed: each journal is one or two SQL queries yielding rows in order, written as they come
(no ORM, nothing held in memory but one entry).
"""

from __future__ import annotations

import datetime as dt
import heapq

#: the 18 columns, in the order the LPF art. A47 A-1 lists them
COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
           "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
           "ValidDate", "Montantdevise", "Idevise")
JOURNALS = {"VE": "Ventes", "BQ": "Banque", "OD": "Opérations diverses"}
LABELS = {"customers": "Clients", "bank": "Banque", "write_off": "Pertes sur créances irrécouvrables",
          "sales_goods": "Ventes de marchandises", "sales_services": "Prestations de services",
          "sales_goods_eu": "Livraisons intracommunautaires", "sales_services_eu": "Prestations intracommunautaires",
          "sales_goods_export": "Ventes à l'export", "sales_services_export": "Prestations hors UE",
          "sales_goods_distance": "Ventes à distance UE", "penalties": "Pénalités de retard",
          "vat_20": "TVA collectée 20 %", "vat_10": "TVA collectée 10 %", "vat_5_5": "TVA collectée 5,5 %",
          "vat_2_1": "TVA collectée 2,1 %", "vat_other": "TVA collectée autres taux"}
VAT_KEYS = {2000: "vat_20", 1000: "vat_10", 550: "vat_5_5", 210: "vat_2_1"}
#: revenue account key by the line's VAT category (an exempt or reverse-charged line says where it went)
CATEGORY_ACCOUNTS = {"K": "sales_goods_eu", "AE": "sales_services_eu", "G": "sales_goods_export",
                     "O": "sales_services_export"}


def file_name(siren: str | None, end: dt.date) -> str:
    """The legal name: ``<SIREN>FEC<YYYYMMDD>.txt``, the date the period's last day."""
    return f"{siren or '000000000'}FEC{end.strftime('%Y%m%d')}.txt"


_SEPARATORS = str.maketrans({"\t": " ", "\r": " ", "\n": " "})


def _clean(text: str | None) -> str:
    """Free text (a customer's name, a bank reference) without the file's separators."""
    return (text or "").translate(_SEPARATORS)


def _money(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def _day(value) -> str:
    """YYYYMMDD from what the driver gives: a date, or SQLite's ISO text."""
    if isinstance(value, str):
        return value[:4] + value[5:7] + value[8:10]
    return value.strftime("%Y%m%d")


def _vat_cents(base: int, rate: int) -> int:
    """VAT in cents on ``base`` cents at ``rate`` hundredths of a percent, half away from zero (as
    ``round_money`` on the invoice: the entry balances to the cent)."""
    product = base * rate
    return (product + 5000) // 10000 if product >= 0 else -((-product + 5000) // 10000)


def _sales_sql() -> tuple[str, str]:
    period = ("i.state <> 'draft' AND i.invoice_date >= :start AND i.invoice_date <= :end")
    heads = (
        "SELECT i.id, i.number, i.kind, i.invoice_date, i.posted_on, i.partner_id, i.buyer_name, i.total, "
        "i.tax_regime, COALESCE(o.number, i.number) AS letter, "
        "CASE WHEN i.kind = 'invoice' THEN i.residual ELSE o.residual END AS open_amount, "
        "(SELECT MAX(a.allocated_on) FROM billing_allocation a "
        " WHERE a.invoice_id = COALESCE(i.origin_id, i.id)) AS settled_on "
        "FROM billing_invoice i LEFT JOIN billing_invoice o ON o.id = i.origin_id "
        f"WHERE {period} ORDER BY i.invoice_date, i.id")
    lines = (
        "SELECT i.id, COALESCE(p.kind, '') AS kind, l.vat_category, l.vat_rate, SUM(l.subtotal) "
        "FROM billing_invoice i JOIN billing_invoice_line l ON l.invoice_id = i.id "
        "LEFT JOIN core_product p ON p.id = l.product_id "
        f"WHERE {period} "
        "GROUP BY i.invoice_date, i.id, COALESCE(p.kind, ''), l.vat_category, l.vat_rate "
        "ORDER BY i.invoice_date, i.id, COALESCE(p.kind, ''), l.vat_category, l.vat_rate DESC")
    return heads, lines


def _bank_sql() -> tuple[str, str, str]:
    settled = ("SELECT s.number FROM billing_invoice s WHERE s.id = {invoice} AND s.residual = 0")
    payments = (
        "SELECT p.payment_date, 0, p.id, p.partner_id, c.name, p.amount, p.reference, "
        f"({settled.format(invoice='(SELECT MIN(a.invoice_id) FROM billing_allocation a WHERE a.payment_id = p.id)')}) "
        "FROM billing_payment p JOIN core_partner c ON c.id = p.partner_id "
        "WHERE p.payment_date >= :start AND p.payment_date <= :end ORDER BY p.payment_date, p.id")
    refunds = (
        "SELECT r.refund_date, 1, r.id, r.partner_id, c.name, r.amount, r.reference, NULL "
        "FROM billing_refund r JOIN core_partner c ON c.id = r.partner_id "
        "WHERE r.refund_date >= :start AND r.refund_date <= :end ORDER BY r.refund_date, r.id")
    write_offs = (
        "SELECT w.write_off_date, 2, w.id, w.partner_id, c.name, w.amount, w.reason, "
        f"({settled.format(invoice='w.invoice_id')}) "
        "FROM billing_write_off w JOIN core_partner c ON c.id = w.partner_id "
        "WHERE w.write_off_date >= :start AND w.write_off_date <= :end ORDER BY w.write_off_date, w.id")
    return payments, refunds, write_offs


def _rows(connection, sql: str, params: dict):
    """The raw rows of ``sql``, streamed from the server (a server-side cursor on PostgreSQL)."""
    from sqlalchemy import text

    result = connection.execution_options(stream_results=True, yield_per=10000).execute(text(sql), params)
    yield from result


def entries(connection, accounts: dict, start: dt.date, end: dt.date):
    """Yield the file's lines (tuples of the 18 columns, as text), entry after entry, in order."""
    params = {"start": start, "end": end}
    labels = {number: LABELS.get(key, key) for key, number in accounts.items()}
    number = 0
    customers = accounts["customers"]
    for entry in _sales(connection, accounts, params):
        number += 1
        yield from _numbered(entry, number, labels)
    payments, refunds, write_offs = _bank_sql()
    bank = heapq.merge(_rows(connection, payments, params), _rows(connection, refunds, params),
                       key=lambda row: (str(row[0]), row[1], row[2]))
    for day, kind, ident, partner, name, amount, reference, letter in bank:
        number += 1
        date, cents, aux = _day(day), _cents(amount), f"C{partner:06d}"
        name, reference = _clean(name), _clean(reference)
        if kind == 0:
            piece, text = f"REG{ident}", " ".join(p for p in ("Règlement", name, reference) if p)[:100]
            lines = ((accounts["bank"], "", "", cents, 0, "", ""),
                     (customers, aux, name, 0, cents, letter or "", date if letter else ""))
        else:
            piece, text = f"REMB{ident}", " ".join(p for p in ("Remboursement", name, reference) if p)[:100]
            lines = ((customers, aux, name, cents, 0, "", ""), (accounts["bank"], "", "", 0, cents, "", ""))
        yield from _numbered(("BQ", date, piece, date, text, date, lines), number, labels)
    for day, _kind, ident, partner, name, amount, reason, letter in _rows(connection, write_offs, params):
        number += 1
        date, cents, aux, name = _day(day), _cents(amount), f"C{partner:06d}", _clean(name)
        lines = ((accounts["write_off"], "", "", cents, 0, "", ""),
                 (customers, aux, name, 0, cents, letter or "", date if letter else ""))
        yield from _numbered(("OD", date, f"PERTE{ident}", date, f"Perte {name}"[:100], date, lines), number, labels)


def _cents(value) -> int:
    """Scaled-integer money as the driver returns it (an int), in cents."""
    return int(value)


def _sales(connection, accounts: dict, params: dict):
    heads_sql, lines_sql = _sales_sql()
    lines = _rows(connection, lines_sql, params)
    pending = next(lines, None)
    customers = accounts["customers"]
    for ident, number, kind, day, posted, partner, name, total, regime, letter, open_amount, settled_on in \
            _rows(connection, heads_sql, params):
        revenue: dict[str, int] = {}
        bases: dict[int, int] = {}
        while pending is not None and pending[0] == ident:
            _id, product_kind, category, rate, base = pending
            key = _revenue_key(product_kind, category, regime)
            revenue[accounts[key]] = revenue.get(accounts[key], 0) + int(base)
            if rate:
                bases[int(rate)] = bases.get(int(rate), 0) + int(base)
            pending = next(lines, None)
        vat: dict[str, int] = {}
        for rate, base in sorted(bases.items(), reverse=True):
            account = accounts[VAT_KEYS.get(rate, "vat_other")]
            vat[account] = vat.get(account, 0) + _vat_cents(base, rate)
        credit_note = kind == "credit_note"
        lettered = open_amount == 0 and settled_on is not None
        date, cents, name = _day(day), int(total), _clean(name)
        own = [(customers, f"C{partner:06d}", name, cents, 0, letter if lettered else "",
                _day(settled_on) if lettered else "")]
        own += [(account, "", "", 0, amount, "", "") for account, amount in revenue.items() if amount]
        own += [(account, "", "", 0, amount, "", "") for account, amount in vat.items() if amount]
        if credit_note:
            own = [(a, x, n, c, d, l, dl) for a, x, n, d, c, l, dl in own]
        text = f"{'Avoir' if credit_note else 'Facture'} {number} {name}"[:100]
        yield ("VE", date, number, date, text, _day(posted or day), own)


def _revenue_key(product_kind: str, category: str, regime: str | None) -> str:
    if not product_kind:
        return "penalties"
    key = CATEGORY_ACCOUNTS.get(category)
    if key:
        return key
    if product_kind == "goods":
        return "sales_goods_distance" if regime == "eu_consumer" else "sales_goods"
    return "sales_services"


def _numbered(entry, number: int, labels: dict):
    journal, date, piece, piece_date, text, valid, lines = entry
    label = JOURNALS[journal]
    for account, aux, aux_name, debit, credit, letter, letter_date in lines:
        yield (journal, label, str(number), date, account, labels.get(account, account), aux, aux_name, piece,
               piece_date, text, _money(debit), _money(credit), letter, letter_date, valid, "", "")


def write_fec(app, session, start: dt.date, end: dt.date, handle) -> dict:
    """Write the FEC of ``start``..``end`` to text ``handle``; ``{"entries", "lines", "debit", "credit"}``."""
    from plugins.billing.settings import settings

    accounts = settings(app)["accounts"]
    handle.write("\t".join(COLUMNS) + "\n")
    count = entries_seen = debit = credit = 0
    last = None
    write = handle.write
    for line in entries(session.connection(), accounts, start, end):
        write("\t".join(line) + "\n")
        count += 1
        if line[2] != last:
            entries_seen, last = entries_seen + 1, line[2]
        debit += _parse(line[11])
        credit += _parse(line[12])
    return {"entries": entries_seen, "lines": count, "debit": _money(debit), "credit": _money(credit)}


def _parse(text: str) -> int:
    units, cents = text.split(",")
    return int(units) * 100 + int(cents)
