"""Write a camt.053 statement (001.02 or 001.08) from plain entries: the bank side of tests and benchmarks.

Each entry is a dict: ``amount`` (text or Decimal), ``date`` (ISO), and optionally ``direction``
(``credit``/``debit``), ``ref`` (``AcctSvcrRef``), ``entry_ref`` (``NtryRef``), ``name``,
``iban``, ``structured`` (``CdtrRefInf/Ref``), ``text`` (``Ustrd``), ``status`` (default BOOK),
``currency``. The output is valid against the official schema of its version.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"


def camt053(entries, *, version: str = "08", statement_id: str = "STMT-1", iban: str = "FR7630006000011234567890189",
            created: str = "2026-01-31T18:00:00", closing: str = "0.00") -> bytes:
    """The XML of one statement holding ``entries`` (see the module docstring); ``closing``: its
    closing booked balance (negative: overdrawn)."""
    indicator = "DBIT" if closing.startswith("-") else "CRDT"
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE.format(version=version)}">'
           f"<BkToCstmrStmt><GrpHdr><MsgId>MSG-{escape(statement_id)}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
           f"<Stmt><Id>{escape(statement_id)}</Id><CreDtTm>{created}</CreDtTm>"
           f"<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>"
           f"<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{closing.lstrip('-')}</Amt>"
           f"<CdtDbtInd>{indicator}</CdtDbtInd>"
           f"<Dt><Dt>{created[:10]}</Dt></Dt></Bal>"]
    for entry in entries:
        out.append(_entry(entry, version))
    out.append("</Stmt></BkToCstmrStmt></Document>\n")
    return "".join(out).encode("utf-8")


def _entry(entry: dict, version: str) -> str:
    credit = entry.get("direction", "credit") == "credit"
    status = entry.get("status", "BOOK")
    parts = ["\n<Ntry>"]
    if entry.get("entry_ref"):
        parts.append(f"<NtryRef>{escape(entry['entry_ref'])}</NtryRef>")
    parts.append(f"<Amt Ccy=\"{entry.get('currency', 'EUR')}\">{entry['amount']}</Amt>"
                 f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>")
    parts.append(f"<Sts>{status}</Sts>" if version == "02" else f"<Sts><Cd>{status}</Cd></Sts>")
    parts.append(f"<BookgDt><Dt>{entry['date']}</Dt></BookgDt><ValDt><Dt>{entry['date']}</Dt></ValDt>")
    if entry.get("ref"):
        parts.append(f"<AcctSvcrRef>{escape(entry['ref'])}</AcctSvcrRef>")
    family = "RCDT" if credit else "ICDT"
    parts.append(f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
                 f"</BkTxCd>")
    party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
    details = []
    if entry.get("name"):
        name = f"<Nm>{escape(entry['name'])}</Nm>"
        details.append(f"<{party}>{name if version == '02' else f'<Pty>{name}</Pty>'}</{party}>")
    if entry.get("iban"):
        details.append(f"<{account}><Id><IBAN>{entry['iban']}</IBAN></Id></{account}>")
    remittance = ""
    if entry.get("text"):
        remittance += f"<Ustrd>{escape(entry['text'])}</Ustrd>"
    if entry.get("structured"):
        remittance += (f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                       f"<Ref>{escape(entry['structured'])}</Ref></CdtrRefInf></Strd>")
    if details or remittance:
        parts.append("<NtryDtls><TxDtls>")
        if details:
            parts.append(f"<RltdPties>{''.join(details)}</RltdPties>")
        if remittance:
            parts.append(f"<RmtInf>{remittance}</RmtInf>")
        parts.append("</TxDtls></NtryDtls>")
    parts.append("</Ntry>")
    return "".join(parts)
