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
(no ORM, nothing held in memory but one entry). The file is the books of one instant: on SQLite the
export's transaction; on PostgreSQL two ``REPEATABLE READ`` connections sharing one snapshot, the
second sorting the bank journal while the first's sales are written (:func:`_one_snapshot`).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from core.security import require

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


#: the file's character set: LPF art. A47 A-1, III 1° allows ASCII, ISO 8859-15 or EBCDIC (not UTF-8);
#: ISO 8859-15 has every French letter, œ and €
ENCODING = "iso-8859-15"
#: ISO 8859-15 is Latin-1 but for 8 characters; the file is encoded by Python's fast Latin-1 codec
#: (its charmap codec is five times slower: seconds on a year's file), those 8 written by
#: :func:`_fold` as ISO 8859-15 bytes, and the 8 Latin-1 characters at their places replaced in the
#: free text beforehand (:data:`_SEPARATORS`)
_LATIN9 = {char: char.encode(ENCODING) for char in "€ŠšŽžŒœŸ"}
#: what stands for a character ISO 8859-15 lacks, before its letter without accents (Ł → L) or ``?``
_STAND_INS = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
              "\u2026": "...", "\u202f": " ", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d"}


def _fold(error: UnicodeEncodeError) -> tuple[bytes, int]:
    """The ``errors=`` handler of the file's Latin-1 codec: the 8 ISO 8859-15 letters as their bytes,
    any other character outside the set (a customer's name in Polish or Greek) as its nearest
    ASCII, so one name never stops the export."""
    import unicodedata

    out = []
    for char in error.object[error.start:error.end]:
        encoded = _LATIN9.get(char)
        if encoded is None:
            stand_in = _STAND_INS.get(char)
            if stand_in is None:
                stand_in = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii") or "?"
            encoded = stand_in.encode("latin-1", "replace")
        out.append(encoded)
    return b"".join(out), error.end


def open_file(path):
    """``path`` opened to write the FEC in: ISO 8859-15, ``\\n`` line ends, private (``0600``) like every
    export; a character outside the set is folded (:func:`_fold`)."""
    import codecs

    from core.files import opener

    try:
        codecs.lookup_error("fec_latin9")
    except LookupError:
        codecs.register_error("fec_latin9", _fold)
    return open(path, "w", encoding="latin-1", errors="fec_latin9", newline="", opener=opener)


def file_name(siren: str | None, end: dt.date) -> str:
    """The legal name: ``<SIREN>FEC<YYYYMMDD>.txt``, the date the period's last day."""
    return f"{siren or '000000000'}FEC{end.strftime('%Y%m%d')}.txt"


#: the file's separators, and the Latin-1 characters ISO 8859-15 puts € Š š Ž ž Œ œ Ÿ in place of
_SEPARATORS = str.maketrans({"\t": " ", "\r": " ", "\n": " ", "¤": "?", "¦": "|", "¨": '"', "´": "'", "¸": ",",
                             "¼": "1/4", "½": "1/2", "¾": "3/4"})


def _clean(text: str | None) -> str:
    """Free text (a customer's name, a bank reference) without the file's separators, each character
    one the file's codec writes as ISO 8859-15 says (:data:`_LATIN9`)."""
    return (text or "").translate(_SEPARATORS)


def _money(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


class _Days(dict):
    """YYYYMMDD by what the driver gives (a date, or SQLite's ISO text), each value formatted once: a
    year's file has millions of dates but a few hundred days, and ``strftime`` costs a microsecond
    (seconds on a year's file). ``days[value]``."""

    def __missing__(self, value) -> str:
        text = value[:4] + value[5:7] + value[8:10] if value.__class__ is str else value.strftime("%Y%m%d")
        self[value] = text
        return text


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
        "SELECT i.id, COALESCE(p.kind, '') AS kind, l.vat_category, l.vat_rate, CAST(SUM(l.subtotal) AS BIGINT) "
        "FROM billing_invoice i JOIN billing_invoice_line l ON l.invoice_id = i.id "
        "LEFT JOIN core_product p ON p.id = l.product_id "
        f"WHERE {period} "
        "GROUP BY i.invoice_date, i.id, COALESCE(p.kind, ''), l.vat_category, l.vat_rate "
        "ORDER BY i.invoice_date, i.id, COALESCE(p.kind, ''), l.vat_category, l.vat_rate DESC")
    return heads, lines


def _bank_sql() -> tuple[str, str]:
    settled = ("SELECT s.number FROM billing_invoice s WHERE s.id = {invoice} AND s.residual = 0")
    # payments (0) and refunds (1) in one chronological stream: the database sorts once
    bank = (
        "SELECT p.payment_date, 0, p.id, p.partner_id, c.name, p.amount, p.reference, "
        f"({settled.format(invoice='(SELECT MIN(a.invoice_id) FROM billing_allocation a WHERE a.payment_id = p.id)')}) "
        "FROM billing_payment p JOIN core_partner c ON c.id = p.partner_id "
        "WHERE p.payment_date >= :start AND p.payment_date <= :end "
        "UNION ALL "
        "SELECT r.refund_date, 1, r.id, r.partner_id, c.name, r.amount, r.reference, NULL "
        "FROM billing_refund r JOIN core_partner c ON c.id = r.partner_id "
        "WHERE r.refund_date >= :start AND r.refund_date <= :end ORDER BY 1, 2, 3")
    write_offs = (
        "SELECT w.write_off_date, 2, w.id, w.partner_id, c.name, w.amount, w.reason, "
        f"({settled.format(invoice='w.invoice_id')}) "
        "FROM billing_write_off w JOIN core_partner c ON c.id = w.partner_id "
        "WHERE w.write_off_date >= :start AND w.write_off_date <= :end ORDER BY w.write_off_date, w.id")
    return bank, write_offs


class _Stream:
    """The raw DBAPI rows of ``sql`` in batches (a named, server-side cursor on PostgreSQL): no
    SQLAlchemy per row. The SQL is compiled for the connection's dialect, the dates bound as its
    Date type binds them; amounts come back as the scaled integers they are stored as.

    ``early``: the query starts now, its first batch fetched by a thread while the caller does
    other work on another connection (the database sorts the whole result before its first row:
    PostgreSQL's server does it on its own core meanwhile); the rest is fetched as it is read.
    """

    BATCH = 20_000

    def __init__(self, connection, sql: str, params: dict, name: str, *, early: bool = False):
        from sqlalchemy import Date, bindparam, text

        statement = text(sql).bindparams(bindparam("start", type_=Date()), bindparam("end", type_=Date()))
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        values = {}
        for key, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            values[key] = process(params[key]) if process else params[key]
        self.sql = compiled.string
        self.arguments = tuple(values[key] for key in compiled.positiontup) if dialect.positional else values
        raw = connection.connection.dbapi_connection
        self.cursor = raw.cursor(name=f"fec_{name}") if dialect.name == "postgresql" else raw.cursor()
        self.first, self.failure, self.thread = None, None, None
        if early:
            import threading

            self.thread = threading.Thread(target=self._start, name=f"fec-{name}", daemon=True)
            self.thread.start()

    def _start(self) -> None:
        try:
            self.cursor.execute(self.sql, self.arguments)
            self.first = self.cursor.fetchmany(self.BATCH)
        except BaseException as exc:  # raised in the reader (:meth:`__iter__`)
            self.failure = exc

    def __iter__(self):
        try:
            if self.thread is None:
                self._start()
            else:
                self.thread.join()  # the connection is this thread's again
            if self.failure is not None:
                raise self.failure
            batch = self.first
            while batch:
                yield from batch
                batch = self.cursor.fetchmany(self.BATCH)
        finally:
            self.close()

    def close(self) -> None:
        """Wait for the early start, if any, and close the cursor (also when it was never read)."""
        if self.thread is not None:
            self.thread.join()
        self.cursor.close()


class _Writer:
    """Formats an entry's lines and counts what it wrote (entries, lines, debit and credit in cents)."""

    def __init__(self, handle, accounts: dict):
        self.write = handle.write
        self.labels = {number: LABELS.get(key, key) for key, number in accounts.items()}
        self.entries = self.lines = self.debit = self.credit = 0
        self.days = _Days()

    def entry(self, journal: str, date: str, piece: str, text: str, valid: str, lines) -> None:
        """One balanced entry dated ``date`` (also its piece's date): ``lines`` are
        ``(account, aux, aux name, debit cents, credit cents, letter, letter date)``."""
        self.entries += 1
        head = f"{journal}\t{JOURNALS[journal]}\t{self.entries}\t{date}\t"
        middle = f"\t{piece}\t{date}\t{text}\t"
        labels = self.labels
        out = []
        for account, aux, aux_name, debit, credit, letter, letter_date in lines:
            # one side of a line is zero: only the other is formatted
            if credit:
                self.credit += credit
                amounts = f"0,00\t{credit // 100},{credit % 100:02d}"
            else:
                self.debit += debit
                amounts = f"{debit // 100},{debit % 100:02d}\t0,00"
            out.append(f"{head}{account}\t{labels.get(account, account)}\t{aux}\t{aux_name}{middle}{amounts}\t"
                       f"{letter}\t{letter_date}\t{valid}\t\t\n")
        self.lines += len(out)
        self.write("".join(out))


def _write_entries(connections: tuple, accounts: dict, start: dt.date, end: dt.date, writer: _Writer) -> None:
    """The three journals; ``connections``: the sales journal's and the others' (one, or two reading
    one snapshot: the bank journal is then sorted by the database while the sales are written)."""
    sales, others = connections
    params = {"start": start, "end": end}
    bank, write_offs = _bank_sql()
    payments = _Stream(others, bank, params, "bank", early=others is not sales)
    try:
        _sales(sales, accounts, params, writer)
    except BaseException:
        payments.close()
        raise
    customers, bank_account = accounts["customers"], accounts["bank"]
    names: dict[int, str] = {}
    days = writer.days
    for day, kind, ident, partner, name, amount, reference, letter in payments:
        date, cents, aux = days[day], amount, f"C{partner:06d}"
        name = names.get(partner) or names.setdefault(partner, _clean(name))
        reference = _clean(reference)
        if kind == 0:
            text = " ".join(p for p in ("Règlement", name, reference) if p)[:100]
            writer.entry("BQ", date, f"REG{ident}", text, date, (
                (bank_account, "", "", cents, 0, "", ""),
                (customers, aux, name, 0, cents, letter or "", date if letter else "")))
        else:
            text = " ".join(p for p in ("Remboursement", name, reference) if p)[:100]
            writer.entry("BQ", date, f"REMB{ident}", text, date, (
                (customers, aux, name, cents, 0, "", ""), (bank_account, "", "", 0, cents, "", "")))
    for day, _kind, ident, partner, name, amount, _reason, letter in _Stream(others, write_offs, params, "od"):
        date, cents, aux, name = days[day], int(amount), f"C{partner:06d}", _clean(name)
        writer.entry("OD", date, f"PERTE{ident}", f"Perte {name}"[:100], date, (
            (accounts["write_off"], "", "", cents, 0, "", ""),
            (customers, aux, name, 0, cents, letter or "", date if letter else "")))


def _sales(connection, accounts: dict, params: dict, writer: _Writer) -> None:
    heads_sql, lines_sql = _sales_sql()
    lines = iter(_Stream(connection, lines_sql, params, "lines"))
    pending = next(lines, None)
    customers = accounts["customers"]
    vat_accounts = {rate: accounts[key] for rate, key in VAT_KEYS.items()}
    other_vat = accounts["vat_other"]
    revenue_accounts: dict[tuple, str] = {}
    names: dict[int, str] = {}
    days = writer.days
    for ident, number, kind, day, posted, partner, name, total, regime, letter, open_amount, settled_on in \
            _Stream(connection, heads_sql, params, "heads"):
        revenue: dict[str, int] = {}
        bases: dict[int, int] = {}
        while pending is not None and pending[0] == ident:
            _id, product_kind, category, rate, base = pending
            account = revenue_accounts.get((product_kind, category, regime))
            if account is None:
                account = revenue_accounts[(product_kind, category, regime)] = accounts[
                    _revenue_key(product_kind, category, regime)]
            revenue[account] = revenue.get(account, 0) + base
            if rate:
                bases[rate] = bases.get(rate, 0) + base
            pending = next(lines, None)
        vat: dict[str, int] = {}
        for rate, base in sorted(bases.items(), reverse=True):
            account = vat_accounts.get(rate, other_vat)
            vat[account] = vat.get(account, 0) + _vat_cents(base, rate)
        lettered = open_amount == 0 and settled_on is not None
        date = days[day]
        name = names.get(partner) or names.setdefault(partner, _clean(name))
        own = [(customers, f"C{partner:06d}", name, total, 0, letter if lettered else "",
                days[settled_on] if lettered else "")]
        own += [(account, "", "", 0, amount, "", "") for account, amount in revenue.items() if amount]
        own += [(account, "", "", 0, amount, "", "") for account, amount in vat.items() if amount]
        if kind == "credit_note":  # the other way round
            own = [(a, x, n, c, d, l, dl) for a, x, n, d, c, l, dl in own]
        text = f"{'Avoir' if kind == 'credit_note' else 'Facture'} {number} {name}"[:100]
        writer.entry("VE", date, number, text, days[posted or day], own)


@contextmanager
def _one_snapshot(engine):
    """Two PostgreSQL connections reading the database as of one instant (``REPEATABLE READ``, the
    second importing the first's snapshot, as ``pg_dump --jobs`` does): every journal of the file
    sees the same books, and the two connections' servers sort and join at the same time.
    """
    first, second = engine.connect(), engine.connect()
    try:
        for connection in (first, second):
            connection.begin()
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # a year's per-row subqueries push the plans' estimates far above ``jit_above_cost``:
            # PostgreSQL would spend a quarter of a second per query compiling what it runs once
            connection.exec_driver_sql("SET LOCAL jit = off")
        snapshot = first.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        second.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # before its first query
        yield first, second
    finally:
        second.close()  # the importer before the exporter: both roll back, having written nothing
        first.close()


def _revenue_key(product_kind: str, category: str, regime: str | None) -> str:
    if not product_kind:
        return "penalties"
    key = CATEGORY_ACCOUNTS.get(category)
    if key:
        return key
    if product_kind == "goods":
        return "sales_goods_distance" if regime == "eu_consumer" else "sales_goods"
    return "sales_services"


def write_fec(app, session, start: dt.date, end: dt.date, handle) -> dict:
    """Write the FEC of ``start``..``end`` to text ``handle``; ``{"entries", "lines", "debit", "credit"}``."""
    require(app, session, "billing.accounting")
    from plugins.billing.settings import settings

    accounts = settings(app)["accounts"]
    handle.write("\t".join(COLUMNS) + "\n")
    writer = _Writer(handle, accounts)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with _one_snapshot(app.engine) as connections:
            _write_entries(connections, accounts, start, end, writer)
    else:  # one SQLite connection reads one snapshot, and runs one query at a time
        _write_entries((connection, connection), accounts, start, end, writer)
    return {"entries": writer.entries, "lines": writer.lines, "debit": _money(writer.debit),
            "credit": _money(writer.credit)}
