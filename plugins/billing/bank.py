"""Bank lines as read from a file, before anything is written: the entry, its identity, its references.

A bank line is identified once and for all by its ``line_key``:

- the bank's own entry reference with the account, when the bank gives one (camt.053
  ``AcctSvcrRef``, else ``NtryRef``): ``ref:<account>:<reference>``;
- else the statement and the entry's position: ``stmt:<account>:<statement id>:<index>`` (camt.053);
- else the file's content and the line: ``csv:<SHA-256 of the file>:<line>`` (CSV exports).

So importing the same statement again finds every key already there and writes nothing, while
two identical lines (two cash payments of 20.00 on one day) have two keys and are two payments.

The invoice numbers a line names are read here too: the structured creditor reference (an ISO
11649 ``RF`` reference whose payload is an invoice number, or the number itself), the numbers
found in the remittance text, or the CSV ``invoice`` column (the operator's word: strict).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from core.errors import CrmError

#: an invoice number as billing gives them (F2026-000042), in a text or a reference
NUMBER_RE = re.compile(r"\b(F\d{4}-\d{6,})\b", re.IGNORECASE)
#: an invoice number written without its dash (an RF payload is alphanumeric): F2026000042
COMPACT_NUMBER_RE = re.compile(r"^(F)(\d{4})(\d{6,})$")
RF_RE = re.compile(r"^RF\d{2}[A-Z0-9]{1,21}$")
#: ISO 11649 reads letters as numbers: A = 10 ... Z = 35
_AS_DIGITS = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})
FORMATS = ("camt", "csv")


@dataclass
class BankEntry:
    """One line of a bank file, as read (nothing resolved against the database yet)."""

    line_key: str
    line_number: int
    direction: str  # credit or debit
    amount: Decimal
    booking_date: dt.date
    currency: str = "EUR"
    value_date: dt.date | None = None
    bank_reference: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    structured_reference: str | None = None
    remittance: str | None = None
    method: str = "transfer"
    #: the CSV ``customer`` column (id or exact name)
    customer: str | None = None
    #: invoice numbers named, in order, and where they come from: invoice (strict), reference, remittance
    numbers: list[str] = field(default_factory=list)
    numbers_from: str | None = None
    #: how the entry is named in messages: "releve.xml: statement S, entry 3 (ref R)", "bank.csv: line 4"
    label: str = ""


def file_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def detect_format(path: Path, content: bytes, given: str | None) -> str:
    """``camt`` for XML, ``csv`` otherwise (``given`` wins: ``--format camt|csv``)."""
    if given is not None:
        if given not in FORMATS:
            raise CrmError(f"--format {given!r}: expected camt or csv")
        return given
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "camt" if head.startswith(b"<") or Path(path).suffix.lower() == ".xml" else "csv"


def rf_is_valid(reference: str) -> bool:
    """ISO 11649: the four first characters moved to the end, letters as 10..35, modulo 97 is 1."""
    text = reference.replace(" ", "").upper()
    if not RF_RE.match(text):
        return False
    return int((text[4:] + text[:4]).translate(_AS_DIGITS)) % 97 == 1


def rf_reference(payload: str) -> str:
    """The RF creditor reference of ``payload`` (letters and digits), check digits computed."""
    body = re.sub(r"[^A-Z0-9]", "", payload.upper())
    check = 98 - int((body + "RF00").translate(_AS_DIGITS)) % 97
    return f"RF{check:02d}{body}"


def number_of_reference(reference: str | None) -> str | None:
    """The invoice number a structured creditor reference carries (RF payload or the number itself)."""
    if not reference:
        return None
    text = reference.replace(" ", "").upper()
    if text.startswith("RF"):
        if not rf_is_valid(text):
            return None
        text = text[4:]
    match = NUMBER_RE.fullmatch(text)
    if match:
        return text
    compact = COMPACT_NUMBER_RE.match(text)
    return f"{compact[1]}{compact[2]}-{compact[3]}" if compact else None


def numbers_in_text(text: str | None) -> list[str]:
    """The invoice numbers a remittance text names, in order, each once."""
    return list(dict.fromkeys(m.upper() for m in NUMBER_RE.findall(text or "")))


def named_numbers(structured: str | None, remittance: str | None) -> tuple[list[str], str | None]:
    """``(numbers, origin)``: the structured reference's number first, then those of the text."""
    first = number_of_reference(structured)
    found = list(dict.fromkeys(([first] if first else []) + numbers_in_text(remittance)))
    origin = "reference" if first else ("remittance" if found else None)
    return found, origin


def read_csv_entries(path: Path, content: bytes, *, mapping=None) -> tuple[list[BankEntry], list, list, list]:
    """The lines of a CSV bank export: ``(entries, rejected, header, rows)``.

    Every row is validated with :class:`~plugins.billing.schemas.PaymentSchema` (numbers read with
    the declared decimal separator, if any); ``rejected`` lists ``(line, field, message)``.
    """
    from marshmallow import ValidationError as SchemaError

    from core.importexport import read_csv
    from core.schemas import flatten_messages
    from plugins.billing.schemas import PaymentSchema

    columns = ("date", "amount", "customer", "method", "reference", "invoice")
    header, rows = read_csv(path, columns, mapping)
    digest = file_hash(content)
    schema = PaymentSchema()
    entries, rejected = [], []
    for line, row in rows:
        if "__error__" in row:
            rejected.append((line, "_row", row["__error__"]))
            continue
        try:
            data = schema.load(row)
        except SchemaError as exc:
            rejected.append((line, *next(flatten_messages(exc.messages))))
            continue
        if data.get("invoice"):
            numbers = [n.upper() for n in re.split(r"[\s,;]+", data["invoice"].strip()) if n]
            origin = "invoice"
        else:
            numbers, origin = named_numbers(None, data.get("reference"))
        entries.append(BankEntry(
            line_key=f"csv:{digest}:{line}", line_number=line, direction="credit", amount=data["amount"],
            booking_date=data["date"], remittance=data.get("reference"), method=data["method"],
            customer=data.get("customer"), numbers=numbers, numbers_from=origin,
            label=f"{Path(path).name}: line {line}"))
    return entries, rejected, header, rows
