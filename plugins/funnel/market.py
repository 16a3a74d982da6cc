"""The market: an extract of the French company register (Sirene establishment file) imported whole.

``crm market import FILE`` reads a CSV in the public layout of INSEE's *StockEtablissement* file
(comma-separated, a header row with INSEE's column names, UTF-8; other columns are ignored):

=================================  ===========================================================
column                             checked
=================================  ===========================================================
siren                              9 digits, Luhn check digit (python-stdnum ``fr.siren``)
nic                                5 digits; siren + nic = siret
siret                              14 digits, check digit (``fr.siret``, La Poste's exception
                                   included), once in the file
activitePrincipaleEtablissement    APE/NAF rev. 2 shape ``43.21A`` (stored ``4321A``), or empty
codePostalEtablissement            5 digits, or empty (an establishment abroad)
trancheEffectifsEtablissement      an INSEE headcount band (``NN`` ``00`` ``01`` ``02`` ``03``
                                   ``11`` ``12`` ``21`` ``22`` ``31`` ``32`` ``41`` ``42`` ``51``
                                   ``52`` ``53``), empty meaning ``NN``
dateCreationEtablissement          ``YYYY-MM-DD``, or empty
etatAdministratifEtablissement     ``A`` (active) or ``F`` (closed)
etablissementSiege                 ``true``/``false`` (optional)
denominationUsuelleEtablissement,  the name shown (the first one filled), at most 200
enseigne1Etablissement             characters (optional)
libelleCommuneEtablissement        the town (optional)
=================================  ===========================================================

All or nothing, like every import: the file is streamed once, each row validated and
bulk-inserted in chunks (``COPY`` on PostgreSQL) inside one transaction that first empties the market (the market is the
last extract imported) and drops its indexes, built again at the end. On PostgreSQL the market is emptied by ``TRUNCATE``
(so readers wait for the import's commit) and the rows are copied frozen, their pages marked all-visible: the coverage
report's index-only scans then read no heap page, as they would only after a VACUUM otherwise.
A bad row stops the writing, the rest is still read to list every error
(the first 20 named by line and field) and the transaction is rolled back: nothing changes.
No ORM object per row: plain tuples go to the driver's ``executemany``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from core.dbutil import driver_writer, empty_table, fresh_statistics
from core.errors import ValidationError
from core.security import require_app
from plugins.funnel.models import MarketCompany

REQUIRED = ("siren", "nic", "siret", "activitePrincipaleEtablissement", "codePostalEtablissement",
            "trancheEffectifsEtablissement", "dateCreationEtablissement", "etatAdministratifEtablissement")
OPTIONAL = ("etablissementSiege", "denominationUsuelleEtablissement", "enseigne1Etablissement",
            "libelleCommuneEtablissement")
#: INSEE headcount bands: code -> (fewest, most) employees; NN: none or unknown
SIZE_BANDS = {"NN": None, "00": (0, 0), "01": (1, 2), "02": (3, 5), "03": (6, 9), "11": (10, 19), "12": (20, 49),
              "21": (50, 99), "22": (100, 199), "31": (200, 249), "32": (250, 499), "41": (500, 999),
              "42": (1000, 1999), "51": (2000, 4999), "52": (5000, 9999), "53": (10000, None)}
NAF_RE = re.compile(r"^(\d{2})\.(\d{2})([A-Z])$", re.ASCII)
POSTAL_RE = re.compile(r"^\d{5}$", re.ASCII)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
CHUNK = 20_000
MAX_ERRORS = 20


@dataclass
class MarketImportResult:
    imported: int
    active: int

    def as_dict(self) -> dict:
        return {"imported": self.imported, "active": self.active}


def department_of(postal_code: str | None) -> str | None:
    """The département of a French postal code: ``69003`` -> ``69``; Corsica ``2A``/``2B``; overseas 3 digits."""
    if not postal_code:
        return None
    if postal_code.startswith("20"):
        return "2A" if postal_code < "20200" else "2B"
    if postal_code[:2] in ("97", "98"):
        return postal_code[:3]
    return postal_code[:2]


def size_label(code: str) -> str:
    """``12`` -> ``20-49``; ``53`` -> ``10000+``; ``NN`` -> ``unknown``."""
    band = SIZE_BANDS.get(code)
    if band is None:
        return "unknown"
    low, high = band
    return f"{low}+" if high is None else f"{low}-{high}"


def bands_within(text: str) -> list[str]:
    """The band codes whose whole range lies in ``text`` (``10-49`` -> 11, 12; ``250+``; one band code ``12``)."""
    value = (text or "").strip()
    if value.upper() in SIZE_BANDS:
        return [value.upper()]
    match = re.match(r"^(\d+)\s*(?:-\s*(\d+)|(\+))$", value)
    if not match:
        raise ValidationError(f"{text!r}: write a headcount range (10-49, 250+) or an INSEE band code (12)",
                              record="market", field="size")
    low, high = int(match[1]), None if match[3] else int(match[2])
    codes = [code for code, band in SIZE_BANDS.items() if band is not None and band[0] >= low
             and (high is None or (band[1] is not None and band[1] <= high))]
    if not codes:
        raise ValidationError(f"{text!r}: no INSEE headcount band lies within it", record="market", field="size")
    return codes


#: Luhn over two digits at a time: the left one doubled (its digits summed), plus the right one
_PAIRS = {f"{a}{b}": (2 * a if a < 5 else 2 * a - 9) + b for a in range(10) for b in range(10)}


def luhn_ok(number: str) -> bool:
    """The Luhn check of a string of 10 or 14 digits (a SIREN is given with a leading ``0``).

    The same rule as python-stdnum's ``luhn``, two digits per dictionary lookup: at 1,000,000 rows
    stdnum's general code (about 20 µs a SIRET on our machine) would take most of the time budget.
    ``tests/funnel/test_market.py`` checks both agree on random and mistyped numbers, and every
    number refused here is worded by stdnum itself.
    """
    p = _PAIRS
    total = p[number[0:2]] + p[number[2:4]] + p[number[4:6]] + p[number[6:8]] + p[number[8:10]]
    if len(number) == 14:
        total += p[number[10:12]] + p[number[12:14]]
    return total % 10 == 0


def digits(text: str) -> bool:
    """Only the ASCII digits 0-9 (``str.isdigit`` also takes ² or Arabic-Indic digits)."""
    return text.isascii() and text.isdigit()


def siren_ok(siren: str) -> bool:
    """python-stdnum's ``fr.siren`` rule: 9 ASCII digits whose Luhn sum is a multiple of 10."""
    return len(siren) == 9 and digits(siren) and luhn_ok("0" + siren)


def siret_ok(siret: str) -> bool:
    """python-stdnum's ``fr.siret`` rule: Luhn, except La Poste's establishments (sum of digits % 5)."""
    if len(siret) != 14 or not digits(siret) or not siren_ok(siret[:9]):
        return False
    if siret.startswith("356000000") and siret != "35600000000048":
        return sum(map(int, siret)) % 5 == 0
    return luhn_ok(siret)


def _refusal(module, number: str, what: str) -> str:
    """stdnum's own reason for refusing ``number``."""
    try:
        module.validate(number)
    except Exception as exc:  # stdnum's InvalidChecksum, InvalidLength, InvalidFormat
        return f"{number!r} is not a {what}: {str(exc).rstrip('.').lower()}"
    return f"{number!r} is not a {what}"


def row_reader(at: dict[str, int | None]):
    """A function that turns one row's cells into the table's values (the date as ISO text), or
    raises :class:`_Bad` naming the field; the column positions are bound once for the file."""
    i_siren, i_nic, i_siret = at["siren"], at["nic"], at["siret"]
    i_naf, i_postal, i_band = (at["activitePrincipaleEtablissement"], at["codePostalEtablissement"],
                               at["trancheEffectifsEtablissement"])
    i_created, i_state, i_head = at["dateCreationEtablissement"], at["etatAdministratifEtablissement"], \
        at["etablissementSiege"]
    i_names = [at[c] for c in ("denominationUsuelleEtablissement", "enseigne1Etablissement") if at[c] is not None]
    i_city = at["libelleCommuneEtablissement"]
    seen: set[int] = set()
    naf_match, postal_match, date_match, bands = NAF_RE.match, POSTAL_RE.match, DATE_RE.match, SIZE_BANDS

    def read(cells: list[str]) -> tuple:
        siren, nic, siret = cells[i_siren].strip(), cells[i_nic].strip(), cells[i_siret].strip()
        if not siren_ok(siren):
            raise _Bad("siren", _refusal(siren_number, siren, "SIREN (9 digits with a valid check digit)"))
        if len(nic) != 5 or not digits(nic):
            raise _Bad("nic", f"{nic!r} is not a NIC (5 digits)")
        if len(siret) != 14 or not digits(siret) or siret.startswith("356000000") or not luhn_ok(siret):
            if not siret_ok(siret):  # La Poste's establishments have their own rule
                raise _Bad("siret", _refusal(siret_number, siret, "SIRET (14 digits with a valid check digit)"))
        if siret[:9] != siren or siret[9:] != nic:
            raise _Bad("siret", f"{siret} is not siren + nic ({siren}{nic})")
        number = int(siret)
        if number in seen:
            raise _Bad("siret", f"{siret} appears twice in the file")
        seen.add(number)
        activity = cells[i_naf].strip()
        naf = None
        if activity:
            match = naf_match(activity)
            if match is None:
                raise _Bad("activitePrincipaleEtablissement", f"{activity!r} is not a NAF rev. 2 code (43.21A)")
            naf = activity[0:2] + activity[3:6]
        postal = cells[i_postal].strip() or None
        if postal is not None and postal_match(postal) is None:
            raise _Bad("codePostalEtablissement", f"{postal!r} is not a postal code (5 digits)")
        band = cells[i_band].strip() or "NN"
        if band not in bands:
            raise _Bad("trancheEffectifsEtablissement", f"{band!r} is not an INSEE headcount band code")
        created = cells[i_created].strip() or None
        if created is not None:
            try:
                if date_match(created) is None:
                    raise ValueError
                dt.date.fromisoformat(created)
            except ValueError:
                raise _Bad("dateCreationEtablissement", f"{created!r} is not a date (YYYY-MM-DD)") from None
        state = cells[i_state].strip()
        if state != "A" and state != "F":
            raise _Bad("etatAdministratifEtablissement", f"{state!r}: A (active) or F (closed)")
        head = cells[i_head].strip().lower() if i_head is not None else ""
        if head and head != "true" and head != "false":
            raise _Bad("etablissementSiege", f"{head!r}: true or false")
        name = None
        for index in i_names:
            if cells[index].strip():
                name = cells[index].strip()
                if len(name) > 200:
                    raise _Bad("denominationUsuelleEtablissement", "longer than 200 characters")
                break
        city = cells[i_city].strip()[:100] or None if i_city is not None else None
        return (siret, siren, naf, postal, department_of(postal), band, created, state == "A", head == "true",
                name, city)

    return read


def _text_lines(handle):
    """The file's lines decoded one by one (so a byte that is not UTF-8 is found on its own line)."""
    for number, raw in enumerate(handle):
        text = raw.decode("utf-8")
        yield text.removeprefix("\ufeff") if number == 0 else text


def _rows(reader, label: str):
    """``(line, cells)`` of each record after the header (``line``: where the record ends); a file
    that is not UTF-8 CSV text is refused naming the line."""
    try:
        for cells in reader:
            yield reader.line_num, cells
    except (csv.Error, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise ValidationError(f"{reason} (nothing was imported)", record=f"{label} line {reader.line_num + 1}",
                              field="row") from None


class _Bad(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


COLUMNS = ("siret", "siren", "naf", "postal_code", "department", "size_band", "created_on", "active", "head_office",
           "name", "city")


def import_market(app, path: Path, *, progress=None) -> MarketImportResult:
    """Replace the market by the establishments of ``path``, all or nothing (see the module doc)."""
    require_app(app, "funnel.lead.import")
    label = Path(path).name
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise ValidationError(f"cannot read the file ({exc.strerror})", record=label) from None
    with handle, app.transaction() as session:
        reader = csv.reader(_text_lines(handle))
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError):
            raise ValidationError("not a UTF-8 CSV file", record=f"{label} line 1", field="row") from None
        if header is None:
            raise ValidationError("the file is empty (a header row of INSEE column names is expected)", record=label)
        names = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise ValidationError(f"missing column(s) {', '.join(missing)} (the Sirene StockEtablissement layout)",
                                  record=f"{label} line 1", field=missing[0])
        at = {c: names.index(c) if c in names else None for c in (*REQUIRED, *OPTIONAL)}
        width = len(names)
        empty_table(session, MarketCompany.__table__)
        # the indexes are dropped and built again once the rows are in (in this same transaction:
        # a failed import restores them): sorting a million keys once beats a million insertions
        connection = session.connection()
        for index in MarketCompany.__table__.indexes:
            index.drop(connection)
        write = driver_writer(session, MarketCompany.__tablename__, COLUMNS, frozen=True)
        errors: list[tuple[str, str, str]] = []
        bad_rows, imported, active, chunk, read = 0, 0, 0, [], row_reader(at)
        for line, cells in _rows(reader, label):
            if len(cells) != width:
                if not any(c.strip() for c in cells):
                    continue
                problem = ("row", f"{len(cells)} cells where the header has {width}")
            else:
                try:
                    values = read(cells)
                except _Bad as bad:
                    problem = (bad.field, str(bad))
                else:
                    if not errors:
                        chunk.append(values)
                        active += values[7]
                        if len(chunk) >= CHUNK:
                            imported = _flush(write, chunk, progress, imported)
                    continue
            bad_rows += 1
            if len(errors) < MAX_ERRORS:
                errors.append((f"{label} line {line}", *problem))
        if errors:
            more = f" ({bad_rows} bad rows; nothing was imported)" if bad_rows > 1 else " (nothing was imported)"
            record, field, message = errors[0]
            raise ValidationError(message + more, record=record, field=field, errors=errors)
        imported = _flush(write, chunk, progress, imported)
        for index in sorted(MarketCompany.__table__.indexes, key=lambda i: i.name):
            index.create(connection)
        fresh_statistics(session, [MarketCompany.__tablename__], imported)
    return MarketImportResult(imported=imported, active=active)


def _flush(write, chunk: list[tuple], progress, done: int) -> int:
    """Write the chunk; returns the rows written so far."""
    if chunk:
        write(chunk)
        done += len(chunk)
        chunk.clear()
        if progress:
            progress(done, None)
    return done
