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
        entries, info, seen_statements = [], None, 0
        for statement in _flatten(root, version):
            seen_statements += 1
            info = info or {"version": f"001.{version}", "statement_ref": statement["id"],
                            "account": statement["account"]}
            entries.extend(self._statement(statement, currency))
        total = sum(len(s.findall("c:Ntry", self.ns)) for s in root.iterfind("c:BkToCstmrStmt/c:Stmt", self.ns))
        return entries, {**info, "statements": seen_statements, "not_booked": total - len(entries),
                         **self._closing(root, currency)}

    def _closing(self, root, currency: str) -> dict:
        """The latest closing booked balance (``Bal`` type CLBD, in ``currency``) of the statements, signed."""
        from decimal import Decimal

        found = None
        for balance in root.iterfind("c:BkToCstmrStmt/c:Stmt/c:Bal", self.ns):
            if (balance.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=self.ns) != "CLBD"
                    or balance.find("c:Amt", self.ns).get("Ccy") != currency):
                continue
            day = (balance.findtext("c:Dt/c:Dt", namespaces=self.ns)
                   or (balance.findtext("c:Dt/c:DtTm", namespaces=self.ns) or "")[:10])
            amount = Decimal(balance.findtext("c:Amt", namespaces=self.ns).strip())
            if balance.findtext("c:CdtDbtInd", namespaces=self.ns) == "DBIT":
                amount = -amount
            day = self._date(day, "statement closing balance", "Bal/Dt")
            if day is not None and (found is None or day >= found[1]):
                found = (amount, day)
        return {"closing_balance": found[0], "closing_date": found[1]} if found else {}

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

    def _statement(self, statement: dict, currency: str) -> list[BankEntry]:
        ident, account = statement["id"], statement["account"]
        entries, seen = [], {}
        for index, row in enumerate(statement["entries"], start=1):
            bank_reference = row["AcctSvcrRef"] or row["NtryRef"]
            where = f"statement {ident}, entry {index}" + (f" (ref {bank_reference})" if bank_reference else "")
            if row["Sts"] != "BOOK":
                continue
            key = f"ref:{account}:{bank_reference}" if bank_reference else f"stmt:{account}:{ident}:{index}"
            if key in seen:
                self.fail(where, "AcctSvcrRef", f"the same bank reference as entry {seen[key]}: "
                                                f"one of them would be lost")
            seen[key] = index
            entries.append(self._entry(row, where, key, index, bank_reference, currency))
        return entries

    def _entry(self, row: dict, where, key, index, bank_reference, currency) -> BankEntry:
        try:
            amount = Decimal(row["Amt"])
        except (InvalidOperation, TypeError):
            self.fail(where, "Amt", f"{row['Amt']!r} is not an amount")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            self.fail(where, "Amt", f"{row['Amt']}: a positive amount to the cent is expected")
        if row["Ccy"] != currency:
            self.fail(where, "Amt", f"currency {row['Ccy']}: only {currency} entries are read")
        direction = {"CRDT": "credit", "DBIT": "debit"}[row["CdtDbtInd"]]
        value_date = self._date(row["ValDt"], where, "ValDt")
        booking = self._date(row["BookgDt"], where, "BookgDt") or value_date
        if booking is None:
            self.fail(where, "BookgDt", "a booked entry needs its booking (or value) date")
        name, iban = (row["DbtrNm"], row["DbtrIBAN"]) if direction == "credit" else (row["CdtrNm"], row["CdtrIBAN"])
        structured, remittance = row["Ref"], row["Ustrd"] or row["AddtlNtryInf"]
        numbers, origin = named_numbers(structured, remittance)
        return BankEntry(
            line_key=key, line_number=index, direction=direction, amount=amount, booking_date=booking,
            currency=currency, value_date=value_date, bank_reference=bank_reference,
            counterparty_name=name[:140] if name else None, counterparty_iban=iban.replace(" ", "").upper() if iban
            else None, structured_reference=structured, remittance=remittance[:500] if remittance else None,
            numbers=numbers, numbers_from=origin, label=f"{self.name}: {where}")

    def _date(self, text: str | None, where: str, element: str) -> dt.date | None:
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            self.fail(where, element, f"{text!r} is not a date")


#: What is read of each entry, in the order :data:`_FLATTEN` writes it (one entry a line, tab-separated).
FIELDS = ("NtryRef", "AcctSvcrRef", "Amt", "Ccy", "CdtDbtInd", "Sts", "BookgDt", "ValDt", "DbtrNm", "DbtrIBAN",
          "CdtrNm", "CdtrIBAN", "Ref", "Ustrd", "AddtlNtryInf")
#: One XSLT pass writes every statement and entry as lines of text: 100,000 entries are read at C
#: speed instead of a dozen Python-level lookups per entry. Tabs and line breaks inside a value are
#: made spaces; the transaction details' first party and reference count, their texts are joined.
_FLATTEN = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:c="{ns}">
<xsl:output method="text" encoding="UTF-8"/>
<xsl:template match="/">
<xsl:for-each select="c:Document/c:BkToCstmrStmt/c:Stmt">
<xsl:text>S&#9;</xsl:text>{stmt}<xsl:text>&#10;</xsl:text>
<xsl:for-each select="c:Ntry"><xsl:variable name="tx" select="c:NtryDtls/c:TxDtls"/>
<xsl:text>E&#9;</xsl:text>{entry}
<xsl:for-each select="$tx/c:RmtInf/c:Ustrd"><xsl:value-of select="translate(., '&#9;&#10;&#13;', '   ')"/><xsl:text> </xsl:text></xsl:for-each><xsl:text>&#9;</xsl:text>{additional}<xsl:text>&#10;</xsl:text>
</xsl:for-each></xsl:for-each>
</xsl:template></xsl:stylesheet>"""
#: the values before the remittance texts: (XPath, free text?) — free text has its tabs and line
#: breaks made spaces; codes, amounts and dates cannot hold any (the schema's patterns)
_STATEMENT_VALUES = (("c:Id", True), ("c:Acct/c:Id/c:IBAN | c:Acct/c:Id/c:Othr/c:Id", True))
_ENTRY_VALUES = (("c:NtryRef", True), ("c:AcctSvcrRef", True), ("c:Amt", False), ("c:Amt/@Ccy", False),
                 ("c:CdtDbtInd", False), ("{status}", True), ("c:BookgDt/c:Dt | c:BookgDt/c:DtTm", False),
                 ("c:ValDt/c:Dt | c:ValDt/c:DtTm", False), ("$tx/c:RltdPties/c:Dbtr/{party}c:Nm", True),
                 ("$tx/c:RltdPties/c:DbtrAcct/c:Id/c:IBAN", False), ("$tx/c:RltdPties/c:Cdtr/{party}c:Nm", True),
                 ("$tx/c:RltdPties/c:CdtrAcct/c:Id/c:IBAN", False), ("$tx/c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", True))


def _values(values) -> str:
    return "".join(f'<xsl:value-of select="{"translate(" + path + ", &apos;&#9;&#10;&#13;&apos;, &apos;   &apos;)" if free else path}"/><xsl:text>&#9;</xsl:text>'
                   for path, free in values)


@lru_cache(maxsize=None)
def _flattener(version: str):
    from lxml import etree

    status, party = ("c:Sts", "") if version == "02" else ("c:Sts/c:Cd | c:Sts/c:Prtry", "c:Pty/")
    entry = _values(_ENTRY_VALUES).replace("{status}", status).replace("{party}", party)
    xslt = _FLATTEN.format(ns=f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}", stmt=_values(_STATEMENT_VALUES),
                           entry=entry, additional=_values([("c:AddtlNtryInf", True)]).removesuffix(
                               "<xsl:text>&#9;</xsl:text>"))
    return etree.XSLT(etree.fromstring(xslt.encode()))


def _flatten(root, version: str):
    """Each statement as ``{id, account, entries: [{field: text or None}]}`` (see :data:`_FLATTEN`)."""
    text = str(_flattener(version)(root))
    statement = None
    for line in text.split("\n"):
        if not line:
            continue
        kind, *values = line.split("\t")
        if kind == "S":
            if statement is not None:
                yield statement
            statement = {"id": values[0].strip() or None, "account": values[1].replace(" ", "").upper(),
                         "entries": []}
        else:
            statement["entries"].append({name: value.strip() or None for name, value in zip(FIELDS, values)})
    if statement is not None:
        yield statement


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
