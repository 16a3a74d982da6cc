"""``crm payment import FILE``: a bank statement in, each credit a customer payment, nothing lost or doubled.

One transaction: read the file (camt.053 or CSV, :mod:`plugins.billing.bank`), refuse it whole
if one line is bad (naming the line and the field), then

1. **store** the statement and insert its lines set-based (by COPY on PostgreSQL); a line whose
   ``line_key`` is already there (imported before) is skipped by the database itself
   (``ON CONFLICT DO NOTHING``); the invoice numbers the lines name are looked up first
   (``billing_invoice.number``, one query), so each line goes in with its named invoices;
2. **match**: the customer is the CSV ``customer`` column's, else the first named invoice's
   found, else (in SQL) the customer whose
   bank account (IBAN) paid us before (learnt from the lines matched by reference), else the one
   customer with the debtor's name; the rest stay **unmatched** (``crm payment unmatched``) until
   ``crm payment allocate --line``;
3. **settle** in bulk (:mod:`plugins.billing.settlement`): payments, allocations and write-offs.

Debits are stored (state ``debit``) for a supplier-bill module to clear; they pay no invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, func, select, text, update

from core.errors import CrmError, ValidationError
from core.security import require, require_app
from plugins.billing.bank import BankEntry, detect_format, file_hash, read_csv_entries
from plugins.billing.models import Invoice, Payment
from plugins.billing.models_bank import BankLine, BankLineInvoice, BankStatement

#: invoice numbers per IN (...) lookup on SQLite
NUMBERS_AT_ONCE = 5000
#: the matching left to SQL once the lines are in with the customer of the first invoice they name found
MATCH_STEPS = (
    # an account that paid us with a reference is the customer's from now on
    """INSERT INTO billing_partner_account (iban, partner_id, learnt_on)
       SELECT counterparty_iban, MIN(partner_id), :today FROM billing_bank_line
       WHERE statement_id = :statement AND direction = 'credit' AND partner_id IS NOT NULL
         AND counterparty_iban IS NOT NULL
         AND counterparty_iban NOT IN (SELECT iban FROM billing_partner_account)
       GROUP BY counterparty_iban""",
    """UPDATE billing_bank_line SET matched_by = 'account', partner_id = (
           SELECT a.partner_id FROM billing_partner_account a WHERE a.iban = billing_bank_line.counterparty_iban)
       WHERE statement_id = :statement AND direction = 'credit' AND partner_id IS NULL
         AND counterparty_iban IN (SELECT iban FROM billing_partner_account)""",
    # the one customer with the debtor's name (case folded as the database does)
    """UPDATE billing_bank_line SET matched_by = 'name', partner_id = m.id
       FROM (SELECT lower(name) AS name, MIN(id) AS id FROM core_partner
             WHERE is_customer AND lower(name) IN (
                 SELECT lower(counterparty_name) FROM billing_bank_line
                 WHERE statement_id = :statement AND partner_id IS NULL AND direction = 'credit')
             GROUP BY lower(name) HAVING COUNT(*) = 1) AS m
       WHERE billing_bank_line.statement_id = :statement AND billing_bank_line.partner_id IS NULL
         AND billing_bank_line.direction = 'credit' AND lower(billing_bank_line.counterparty_name) = m.name""",
)


@dataclass
class BankImport:
    """What an import did (``as_dict`` keeps the keys of ``crm import``'s result)."""

    file: str
    format: str
    statement_id: int | None = None
    lines: int = 0
    new: int = 0
    payments: int = 0
    amount: str = "0.00"
    allocated: str = "0.00"
    unmatched: int = 0
    debits: int = 0
    write_offs: int = 0
    not_booked: int = 0
    matched_by: dict = field(default_factory=dict)
    rejected: list = field(default_factory=list)
    rejects_file: str | None = None
    skip_invalid: bool = False

    def as_dict(self) -> dict:
        return {"kind": "payments", "file": self.file, "format": self.format, "statement": self.statement_id,
                "rows": self.lines + len(self.rejected), "created": self.payments, "updated": 0, "skipped": self.lines - self.new,
                "new_lines": self.new, "amount": self.amount, "allocated": self.allocated,
                "unmatched": self.unmatched, "debits": self.debits, "write_offs": self.write_offs,
                "not_booked": self.not_booked, "matched_by": self.matched_by, "rejected": len(self.rejected),
                "rejects_file": self.rejects_file,
                "errors": [{"line": line, "field": fld, "message": msg} for line, fld, msg in self.rejected]}


def import_bank_file(app, path: Path, *, fmt: str | None = None, skip_invalid: bool = False,
                     rejects_path: Path | None = None, mapping: dict | None = None,
                     decimal_separator: str | None = None, progress=None, update: bool = False) -> BankImport:
    """Import a bank file in one transaction (see the module docstring); returns what it did."""
    require_app(app, "billing.payment.record")
    from core.dbutil import bulk_page_cache, fresh_statistics
    from core.importexport import refusal, write_rejects
    from core.schemas import decimal_separator as declared

    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise CrmError(f"{path}: no such file") from None
    kind = detect_format(path, content, fmt)
    result = BankImport(file=path.name, format="camt053" if kind == "camt" else "csv", skip_invalid=skip_invalid)
    info, header, rows = {}, None, None
    if kind == "camt":
        from plugins.billing.camt import read_camt

        entries, info = read_camt(path, content, app.config.section("company").get("currency", "EUR"))
        result.not_booked = info["not_booked"]
    else:
        with declared(decimal_separator):
            entries, result.rejected, header, rows = read_csv_entries(path, content, mapping=mapping)
        if result.rejected and not skip_invalid:
            raise refusal(path, result)
    for entry in entries:
        _check_date(app, entry, result, skip_invalid)
    if result.rejected and not skip_invalid:
        raise refusal(path, result)
    bad = {line for line, _, _ in result.rejected}
    entries = [e for e in entries if e.line_number not in bad or kind == "camt"]
    result.lines = len(entries)
    with app.transaction() as session, bulk_page_cache(session):
        statement = _store(app, session, path, content, result, info, entries)
        _resolve_customers(session, statement, entries, result)
        fresh_statistics(session, ["billing_bank_line", "billing_bank_line_invoice"], result.new)
        for step in MATCH_STEPS:
            session.execute(text(step), {"statement": statement.id, "today": app.today})
        from plugins.billing.settlement import settle

        settle(app, session, statement, {e.line_key: e for e in entries}, result, source=f"crm payment import "
                                                                                         f"{path.name}")
        statement.lines_new = result.new
        if app.pm.hook.bank_debits_imported.get_hookimpls():
            _tell_debits(app, session, statement)
        _summarise(session, statement, result)
    if result.rejected:
        result.rejected.sort()
        target = rejects_path or path.with_name(path.stem + ".rejected.csv")
        write_rejects(target, header, rows, result.rejected)
        result.rejects_file = str(target)
    return result


def _check_date(app, entry: BankEntry, result: BankImport, skip_invalid: bool) -> None:
    from plugins.billing.services_payments import check_payment_date

    try:
        check_payment_date(app, entry.booking_date, entry.label)
    except ValidationError as exc:
        if result.format == "camt053":
            raise ValidationError(str(exc).split(": date: ", 1)[-1] + " (nothing was imported)", record=entry.label,
                                  field="BookgDt") from None
        result.rejected.append((entry.line_number, "date", str(exc).split(": date: ", 1)[-1]))


def _store(app, session, path, content, result, info, entries) -> BankStatement:
    """The statement row and its new lines (those already imported are skipped by their key)."""
    from core.db import utcnow

    statement = BankStatement(format=result.format, file_name=path.name[:255], file_hash=file_hash(content),
                              statement_ref=info.get("statement_ref"), account=info.get("account") or None,
                              imported_on=app.today, imported_at=utcnow(), lines_read=len(entries),
                              closing_balance=info.get("closing_balance"), closing_date=info.get("closing_date"))
    session.add(statement)
    session.flush()
    result.statement_id = statement.id
    invoices = _named_invoices(session, {number[:20] for e in entries for number in e.numbers})
    rows = []
    for e in entries:
        partner_id = None
        if e.direction == "credit" and not e.customer:  # the CSV customer column, when given, says whose it is
            partner_id = next((invoices[n[:20]][1] for n in e.numbers if n[:20] in invoices), None)
        rows.append({"statement_id": statement.id, "line_key": e.line_key, "line_number": e.line_number,
                     "bank_reference": e.bank_reference, "direction": e.direction, "amount": e.amount,
                     "currency": e.currency, "booking_date": e.booking_date, "value_date": e.value_date,
                     "counterparty_name": e.counterparty_name, "counterparty_iban": e.counterparty_iban,
                     "structured_reference": e.structured_reference, "remittance": e.remittance, "method": e.method,
                     "state": "debit" if e.direction == "debit" else "unmatched", "partner_id": partner_id,
                     "matched_by": e.numbers_from if e.numbers and (partner_id or e.customer) else None})
    from core.dbutil import copy_rows, insert_ignore

    insert_ignore(session, BankLine.__table__, rows, ["line_key"], count=False)  # a line seen before is skipped
    ids = {key: line_id for key, line_id in session.execute(
        select(BankLine.line_key, BankLine.id).where(BankLine.statement_id == statement.id))}
    by_key = {e.line_key: e for e in entries}
    references = [{"line_id": line_id, "sequence": n, "number": number[:20],
                   "invoice_id": invoices[number[:20]][0] if number[:20] in invoices else None}
                  for key, line_id in ids.items() for n, number in enumerate(by_key[key].numbers, start=1)]
    copy_rows(session, BankLineInvoice.__table__, references)  # new lines' rows: COPY on PostgreSQL
    statement.lines_new = result.new = len(ids)
    return statement


def _named_invoices(session, numbers: set[str]) -> dict[str, tuple[int, int]]:
    """``{number: (invoice id, customer id)}`` of the invoices (credit notes are not paid) the lines name.

    Looked up before the lines are written, so each line goes in with its customer and each named
    number with its invoice: on PostgreSQL, updating 100,000 lines just inserted costs a new version
    of each and the check of its foreign keys again.
    """
    if not numbers:
        return {}
    numbers = sorted(numbers)
    if session.get_bind().dialect.name == "postgresql":  # one array parameter, however many numbers
        query = text("SELECT number, id, partner_id FROM billing_invoice "
                     "WHERE kind = 'invoice' AND number = ANY(:numbers)")
        return {number: (invoice_id, partner_id)
                for number, invoice_id, partner_id in session.execute(query, {"numbers": numbers})}
    query = select(Invoice.number, Invoice.id, Invoice.partner_id).where(
        Invoice.kind == "invoice", Invoice.number.in_(bindparam("numbers", expanding=True)))
    found = {}
    for start in range(0, len(numbers), NUMBERS_AT_ONCE):
        found.update({number: (invoice_id, partner_id) for number, invoice_id, partner_id in session.execute(
            query, {"numbers": numbers[start:start + NUMBERS_AT_ONCE]})})
    return found


def _resolve_customers(session, statement, entries, result) -> None:
    """The CSV ``customer`` column (id or exact name): looked up once per distinct value."""
    from core.services.partners import get_partner
    from plugins.billing.settlement import reject_lines

    named, errors = {}, []
    for entry in entries:
        if entry.customer:
            named.setdefault(entry.customer, []).append(entry)
    ids = {key: line_id for key, line_id in session.execute(
        select(BankLine.line_key, BankLine.id).where(BankLine.statement_id == statement.id))} if named else {}
    for customer, lines in named.items():
        lines = [entry for entry in lines if entry.line_key in ids]  # the new ones
        try:
            partner_id = get_partner(session, customer).id
        except CrmError as exc:
            errors += [(entry, ids[entry.line_key], "customer", str(exc)) for entry in lines]
            continue
        session.execute(update(BankLine).where(BankLine.id.in_([ids[e.line_key] for e in lines]))
                        .values(partner_id=partner_id, matched_by="customer"))
    if errors:
        reject_lines(result, errors, session)


def _tell_debits(app, session, statement) -> None:
    """``bank_debits_imported``: the statement's new debit lines, for a payables module to clear its bills."""
    columns = (BankLine.id, BankLine.direction, BankLine.amount, BankLine.booking_date, BankLine.counterparty_name,
               BankLine.counterparty_iban, BankLine.remittance, BankLine.structured_reference)
    lines = [dict(row._mapping) for row in session.execute(
        select(*columns).where(BankLine.statement_id == statement.id, BankLine.direction == "debit")
        .order_by(BankLine.id))]
    if lines:
        app.call("bank_debits_imported", app=app, session=session, lines=lines)


def _summarise(session, statement, result) -> None:
    rows = session.execute(select(BankLine.state, BankLine.matched_by, func.count(), func.sum(BankLine.amount))
                           .where(BankLine.statement_id == statement.id)
                           .group_by(BankLine.state, BankLine.matched_by)).all()
    result.matched_by = {}
    for state, rule, count, amount in rows:
        if state == "paid":
            result.matched_by[rule or "customer"] = result.matched_by.get(rule or "customer", 0) + count
        elif state == "unmatched":
            result.unmatched += count
        else:
            result.debits += count
    money = Payment.amount.type  # the sums stay exact decimals (the column type reads them back)
    paid = session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount, type_=money), 0, type_=money),
                                  func.coalesce(func.sum(Payment.amount - Payment.unallocated, type_=money), 0,
                                                type_=money))
                           .join(BankLine, BankLine.id == Payment.bank_line_id)
                           .where(BankLine.statement_id == statement.id)).one()
    result.payments = paid[0]
    result.amount, result.allocated = f"{paid[1]:.2f}", f"{paid[2]:.2f}"


def payment_kind():
    """``crm import payments FILE``: the same import as ``crm payment import`` (a CSV bank export)."""
    from core.importexport import DataKind
    from plugins.billing.schemas import PaymentSchema

    def bulk(app, path, *, skip_invalid, update, rejects_path, mapping, progress):
        return import_bank_file(app, path, fmt="csv", skip_invalid=skip_invalid, rejects_path=rejects_path,
                                mapping=mapping, progress=progress)

    return DataKind(name="payments", schema=PaymentSchema, write=None, export=_export_payments,
                    columns=("date", "amount", "customer", "method", "reference", "invoice"), bulk=bulk,
                    summary="payments received (bank exports), allocated to invoices")


def _export_payments(app, session):
    for payment in session.scalars(select(Payment).order_by(Payment.payment_date, Payment.id)):
        yield {"date": payment.payment_date.isoformat(), "amount": str(payment.amount),
               "customer": str(payment.partner_id), "method": payment.method, "reference": payment.reference,
               "invoice": None}


def unmatched_lines(session, *, include_debits: bool = False) -> list[dict]:
    """Credit lines no customer was found for (``include_debits``: the debits kept too), oldest first."""
    states = ("unmatched", "debit") if include_debits else ("unmatched",)
    query = (select(BankLine, BankStatement.file_name).join(BankStatement, BankStatement.id == BankLine.statement_id)
             .where(BankLine.state.in_(states)).order_by(BankLine.booking_date, BankLine.id))
    return [line_dict(line, file_name) for line, file_name in session.execute(query)]


def line_dict(line: BankLine, file_name: str) -> dict:
    return {"line": line.id, "file": file_name, "line_number": line.line_number, "date": line.booking_date.isoformat(),
            "direction": line.direction, "amount": str(line.amount), "counterparty": line.counterparty_name,
            "iban": line.counterparty_iban, "bank_reference": line.bank_reference,
            "structured_reference": line.structured_reference, "remittance": line.remittance, "state": line.state}


def allocate_line(app, session, line_id: int, *, customer: str | None = None, numbers: list[str] | None = None):
    """Make an unmatched credit line the payment of ``customer`` (or of the invoices named), allocated.

    The invoices named are paid first (strictly: an unknown, settled or later invoice is refused);
    the account that paid becomes the customer's (``billing_partner_account``), so its next lines match.
    Returns ``(payment, allocations)``.
    """
    require(app, session, "billing.payment.record")
    from core.errors import NotFound, StateError
    from core.services.partners import get_partner
    from plugins.billing.models import Invoice
    from plugins.billing.models_bank import PartnerAccount
    from plugins.billing.services_payments import record_payment

    query = select(BankLine).where(BankLine.id == line_id)
    line = session.scalars(query.with_for_update() if app.dialect == "postgresql" else query).first()
    if line is None:
        raise NotFound(f"bank line {line_id}: no such line (see `crm payment unmatched`)")
    if line.state != "unmatched":
        raise StateError(f"bank line {line_id} is {line.state}: only unmatched credits can be allocated")
    record = f"bank line {line_id}"
    numbers = [n.upper() for n in numbers or []]
    if customer:
        partner = get_partner(session, customer)
    elif numbers:
        partner_id = session.scalars(select(Invoice.partner_id).where(Invoice.number == numbers[0])).first()
        if partner_id is None:
            raise ValidationError(f"{numbers[0]}: no such invoice", record=record, field="invoice")
        partner = get_partner(session, partner_id)
    else:
        raise ValidationError("say whose payment it is: --customer or --invoice", record=record, field="customer")
    data = {"date": line.booking_date, "amount": line.amount, "method": line.method,
            "reference": (line.remittance or None) and line.remittance[:140], "invoice": " ".join(numbers) or None}
    payment, allocations = record_payment(app, session, data, record=record, validated=True, partner=partner)
    payment.bank_line_id = line.id
    line.partner_id, line.state, line.matched_by = partner.id, "paid", "manual"
    if line.counterparty_iban and session.get(PartnerAccount, line.counterparty_iban) is None:
        session.add(PartnerAccount(iban=line.counterparty_iban, partner_id=partner.id, learnt_on=app.today))
    session.flush()
    return payment, allocations
