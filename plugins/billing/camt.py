"""Read an ISO 20022 camt.053 bank statement (versions 001.02 and 001.08) into bank entries.

The file is parsed with lxml (no network, no entity expansion) and validated against the
official schema of its namespace, shipped in ``plugins/billing/data/`` (see its README): a file
the schema refuses is refused whole, naming the statement, the entry (index and bank reference)
and the element. The schema allows what the business cannot take, so every element read is also
checked here: the amount in the company currency to the cent, a booking date.

Only booked entries (status ``BOOK``) are lines: pending ones come back booked on a later
statement. Credits become customer payments; debits are kept as lines for a supplier module.
One entry is one line, even a batch with several transaction details: their remittance texts and
references are read together, the first transaction's party names the counterparty.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path

from core.errors import ValidationError
from plugins.billing.bank import BankEntry, named_numbers

NAMESPACE_RE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d\d)$")
VERSIONS = ("02", "08")


@lru_cache(maxsize=None)
def schema(version: str):
    """The official XSD of camt.053.001.<version>, compiled once."""
    from lxml import etree

    source = resources.files("plugins.billing").joinpath(f"data/camt.053.001.{version}.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(source, _parser()))


def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=True)


class _Reader:
    def __init__(self, path: Path, content: bytes):
        self.name = Path(path).name
        self.content = content

    def fail(self, where: str, element: str, message: str):
        raise ValidationError(f"{message} (nothing was imported)", record=f"{self.name}: {where}", field=element)

    def parse(self, currency: str) -> tuple[list[BankEntry], dict]:
        from lxml import etree

        try:
            root = etree.fromstring(self.content, _parser())
        except etree.XMLSyntaxError as exc:
            raise ValidationError(f"not well-formed XML: {exc.msg} (nothing was imported)",
                                  record=f"{self.name}: line {exc.lineno}") from None
        match = NAMESPACE_RE.match(etree.QName(root).namespace or "")
        if etree.QName(root).localname != "Document" or not match:
            raise ValidationError("not a camt.053 statement (root element and namespace "
                                  "urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN expected)", record=self.name)
        version = match[1]
        if version not in VERSIONS:
            raise ValidationError(f"camt.053.001.{version} is not read (versions 001.02 and 001.08 are)",
                                  record=self.name)
        self.ns = {"c": etree.QName(root).namespace}
        self.version = version
        validator = schema(version)
        if not validator.validate(root):
            error = validator.error_log.filter_from_errors()[0]
            self.fail(self._where(root, error), _element_of(error.message), _schema_message(error.message))
        entries = []
        statements = root.findall("c:BkToCstmrStmt/c:Stmt", self.ns)
        for statement in statements:
            entries.extend(self._statement(statement, currency))
        first = statements[0]
        info = {"version": f"001.{version}", "statement_ref": self._text(first, "c:Id"),
                "account": self._account(first), "statements": len(statements),
                "not_booked": sum(len(s.findall("c:Ntry", self.ns)) for s in statements) - len(entries)}
        return entries, info

    def _text(self, element, path: str) -> str | None:
        found = element.find(path, self.ns)
        return found.text.strip() if found is not None and found.text and found.text.strip() else None

    def _account(self, statement) -> str:
        return (self._text(statement, "c:Acct/c:Id/c:IBAN") or self._text(statement, "c:Acct/c:Id/c:Othr/c:Id")
                or "").replace(" ", "").upper()

    def _where(self, root, error) -> str:
        """The statement and entry a schema error is in (the failing element's ancestors)."""
        found = root.xpath(error.path) if getattr(error, "path", None) else []
        element = found[0] if found else None
        entry = statement = None
        while element is not None:
            name = etree_name(element)
            if name == "Ntry" and entry is None:
                entry = element
            elif name == "Stmt":
                statement = element
            element = element.getparent()
        if statement is None:
            return "statement header"
        ident = statement.find("{*}Id")
        where = f"statement {ident.text if ident is not None else '?'}"
        if entry is not None:
            index = statement.findall("{*}Ntry").index(entry) + 1
            reference = entry.find("{*}AcctSvcrRef")
            reference = reference if reference is not None else entry.find("{*}NtryRef")
            where += f", entry {index}" + (f" (ref {reference.text})" if reference is not None else "")
        return where

    def _statement(self, statement, currency: str) -> list[BankEntry]:
        ident, account = self._text(statement, "c:Id"), self._account(statement)
        entries, seen = [], {}
        for index, entry in enumerate(statement.findall("c:Ntry", self.ns), start=1):
            bank_reference = self._text(entry, "c:AcctSvcrRef") or self._text(entry, "c:NtryRef")
            where = f"statement {ident}, entry {index}" + (f" (ref {bank_reference})" if bank_reference else "")
            status = self._text(entry, "c:Sts") if self.version == "02" else \
                (self._text(entry, "c:Sts/c:Cd") or self._text(entry, "c:Sts/c:Prtry"))
            if status != "BOOK":
                continue
            key = f"ref:{account}:{bank_reference}" if bank_reference else f"stmt:{account}:{ident}:{index}"
            if key in seen:
                self.fail(where, "AcctSvcrRef", f"the same bank reference as entry {seen[key]}: "
                                                f"one of them would be lost")
            seen[key] = index
            entries.append(self._entry(entry, where, key, index, bank_reference, currency))
        return entries

    def _entry(self, entry, where, key, index, bank_reference, currency) -> BankEntry:
        amount_element = entry.find("c:Amt", self.ns)
        try:
            amount = Decimal(amount_element.text.strip())
        except (InvalidOperation, AttributeError):
            self.fail(where, "Amt", f"{amount_element.text!r} is not an amount")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            self.fail(where, "Amt", f"{amount_element.text}: a positive amount to the cent is expected")
        if amount_element.get("Ccy") != currency:
            self.fail(where, "Amt", f"currency {amount_element.get('Ccy')}: only {currency} entries are read")
        direction = {"CRDT": "credit", "DBIT": "debit"}[self._text(entry, "c:CdtDbtInd")]
        booking = self._date(entry, "c:BookgDt", where) or self._date(entry, "c:ValDt", where)
        if booking is None:
            self.fail(where, "BookgDt", "a booked entry needs its booking (or value) date")
        party = "Dbtr" if direction == "credit" else "Cdtr"
        name_path = f"c:RltdPties/c:{party}/c:Nm" if self.version == "02" else f"c:RltdPties/c:{party}/c:Pty/c:Nm"
        details = entry.findall("c:NtryDtls/c:TxDtls", self.ns)
        name = iban = structured = None
        texts = []
        for detail in details:
            name = name or self._text(detail, name_path)
            iban = iban or self._text(detail, f"c:RltdPties/c:{party}Acct/c:Id/c:IBAN")
            structured = structured or self._text(detail, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
            texts += [t.text.strip() for t in detail.findall("c:RmtInf/c:Ustrd", self.ns) if t.text and t.text.strip()]
        remittance = " ".join(texts) or self._text(entry, "c:AddtlNtryInf")
        numbers, origin = named_numbers(structured, remittance)
        return BankEntry(
            line_key=key, line_number=index, direction=direction, amount=amount, booking_date=booking,
            currency=currency, value_date=self._date(entry, "c:ValDt", where), bank_reference=bank_reference,
            counterparty_name=name[:140] if name else None, counterparty_iban=iban.replace(" ", "").upper() if iban
            else None, structured_reference=structured, remittance=remittance[:500] if remittance else None,
            numbers=numbers, numbers_from=origin, label=f"{self.name}: {where}")

    def _date(self, entry, path: str, where: str) -> dt.date | None:
        text = self._text(entry, f"{path}/c:Dt") or (self._text(entry, f"{path}/c:DtTm") or "")[:10] or None
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail(where, path[2:], f"{text!r} is not a date")


def etree_name(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _element_of(message: str) -> str:
    found = re.search(r"Element '\{[^}]*\}(\w+)'", message)
    return found[1] if found else "_file"


def _schema_message(message: str) -> str:
    """lxml's message without the namespace noise: "Element 'Amt': 'abc' is not a valid value..."."""
    return "the camt.053 schema refuses it: " + re.sub(r"\{[^}]*\}", "", message)


def read_camt(path: Path, content: bytes, currency: str = "EUR") -> tuple[list[BankEntry], dict]:
    """The booked entries of a camt.053 file and ``{version, statement_ref, account, statements, not_booked}``."""
    return _Reader(path, content).parse(currency)
