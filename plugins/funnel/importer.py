"""Lead import: every row validated with marshmallow, duplicates detected set-based, bulk writes.

``crm lead import`` (and the bulk path of the benchmark) streams the file with the kernel's CSV
reader (:func:`core.importexport.stream_csv`) in chunks of :data:`CHUNK_ROWS` rows, so memory
stays flat however long the file. Each chunk is validated with :class:`LeadSchema`'s fields
(each distinct cell value once, :func:`validate_rows`), its owners and teams resolved (once per
name for the whole file), its duplicates found on every match key of
:mod:`plugins.funnel.matching` (e-mail, phone, SIREN, company + name, company domain) with a few
set queries against the existing leads, one pass over the partners at the start, and
dictionaries of the keys of earlier rows of the same file; then its rows are written in one bulk
write (``COPY`` on PostgreSQL, which the server works through while the next chunk is validated).
All in one transaction: a bad row anywhere stops the writing (the reading goes
on, to name every bad row) and rolls back what was written, so a failed file writes nothing.

For each duplicate the user chooses: ``create`` (the default: written and flagged), ``skip``
(not written) or ``update`` (the matching lead gets the fields the row fills). ``skip`` and
``update`` act on a match of the *person* (e-mail, phone, company + name); a lead matching only
on the company (SIREN, domain) is a colleague: flagged and written.

``crm import leads`` runs this same importer through :data:`LEADS_KIND`'s ``bulk`` entry
(``--update`` = the update policy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError as SchemaError
from sqlalchemy import select

from core.dbutil import bulk_page_cache
from core.errors import CrmError
from core.importexport import DataKind, refusal, stream_csv, write_rejects
from core.schemas import flatten_messages, has_controls
from core.security import require_app
from plugins.funnel.import_rows import LeadWriter
from plugins.funnel.models import Lead
from plugins.funnel.schemas import LEAD_FIELDS, LeadSchema

POLICIES = ("create", "skip", "update")
#: rows read, validated, matched and written at a time
CHUNK_ROWS = 10_000


@dataclass
class LeadImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    rejects_file: str | None = None

    def as_dict(self) -> dict:
        return {"kind": "leads", "rows": self.rows, "created": self.created, "updated": self.updated,
                "skipped": self.skipped, "duplicates": self.duplicates, "rejected": len(self.rejected),
                "rejects_file": self.rejects_file,
                "errors": [{"line": line, "field": fld, "message": msg} for line, fld, msg in self.rejected]}


def import_leads(app, path, *, skip_invalid: bool = False, duplicates: str = "create", rejects_path=None,
                 mapping: dict | None = None, progress=None) -> LeadImportResult:
    """Import a lead CSV (see the module docstring); raises :class:`ValidationError` listing every bad row."""
    require_app(app, "funnel.lead.import")
    if duplicates not in POLICIES:
        raise CrmError(f"duplicates: {duplicates!r} is not one of {', '.join(POLICIES)}")
    path = Path(path)
    header, rows = stream_csv(path, LEAD_FIELDS, mapping)
    result = LeadImportResult()
    with app.transaction() as session, bulk_page_cache(session), \
            LeadWriter(app, session, result, duplicates, progress) as writer:
        for chunk in _chunks(rows, CHUNK_ROWS):
            result.rows += len(chunk)
            valid = []
            for line, data, provided, error in validate_rows(chunk):
                if error is not None:
                    result.rejected.append((line, *error))
                else:
                    valid.append((line, data, provided))
            valid = writer.resolve_people(valid)
            if result.rejected and not skip_invalid:
                continue  # nothing more is written (the transaction rolls back); the reading names every bad row
            writer.write(valid)
        if result.rejected and not skip_invalid:
            raise refusal(path, result)
        writer.finish()
    if result.rejected:
        result.rejected.sort()
        target = Path(rejects_path) if rejects_path else path.with_name(path.stem + ".rejected.csv")
        write_rejects(target, header, stream_csv(path, LEAD_FIELDS, mapping)[1], result.rejected)
        result.rejects_file = str(target)
    return result


#: an e-mail address in its plainest form (ASCII dot-atom, ASCII host name): every address this matches,
#: marshmallow's :class:`~marshmallow.validate.Email` accepts too (its user and domain patterns are
#: wider), so the check can stand in for it; anything else goes to marshmallow
PLAIN_EMAIL = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@"
                         r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,6}")


def _quick_checks(fields) -> dict[str, tuple]:
    """``{name: (min, max, pattern or None)}`` of the text fields whose value is accepted as typed when
    its length is within bounds (and, for an e-mail, it matches :data:`PLAIN_EMAIL`): the plain text
    fields whose only rule is a length, and the e-mail fields whose other rules are lengths."""
    from marshmallow import fields as mfields
    from marshmallow import validate

    found = {}
    for name, field_ in fields.items():
        pattern = PLAIN_EMAIL if type(field_) is mfields.Email else None
        rules = [rule for rule in field_.validators if not (pattern and type(rule) is validate.Email)]
        if type(field_) not in (mfields.String, mfields.Email) or not all(
                type(rule) is validate.Length and rule.equal is None for rule in rules):
            continue
        low, high = 0, float("inf")
        for rule in rules:
            low = max(low, rule.min if rule.min is not None else 0)
            high = min(high, rule.max if rule.max is not None else float("inf"))
        found[name] = (low, high, pattern)
    return found


def _chunks(rows, size: int):
    """Lists of up to ``size`` items of the iterator ``rows``."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _validate(rows) -> list:
    """``(line, data, provided fields, (field, message) or None)`` for each row, by :class:`LeadSchema`."""
    schema = LeadSchema()
    checked = []
    for line, row in rows:
        if "__error__" in row:
            checked.append((line, None, None, ("_row", row["__error__"])))
            continue
        try:
            data = schema.load(row)
        except SchemaError as exc:
            checked.append((line, None, None, next(flatten_messages(exc.messages))))
            continue
        checked.append((line, data, frozenset(k for k, v in row.items() if str(v).strip()), None))
    return checked


def validate_rows(rows) -> list:
    """Every row validated by :class:`LeadSchema`'s marshmallow fields, each distinct cell value once.

    Marshmallow costs about 70 µs a row through ``Schema.load``; a lead file repeats most of its
    cells (source, campaign, owner, company, notes), so each column's field validates each
    distinct value once and the rows are assembled from those results. A plain text field whose
    only rule is a length (most of them) is checked by that length here, compiled once from the
    field, and so is an e-mail in its plainest form (:data:`PLAIN_EMAIL`: a file's addresses are
    all different, and marshmallow's check of one cost 6 µs); any other cell goes to marshmallow,
    which words the message. The control
    characters are looked for once in the whole row (cell by cell only when the row has some).
    This is exactly ``LeadSchema().load(row)`` (the schema's only processor is the kernel's cell
    trimming, done here the same way); the tests check both paths agree on arbitrary rows. A
    schema that gains a schema-level validator falls back to ``Schema.load`` per row.
    """
    schema = LeadSchema()
    if schema._hooks.get(("validates_schema", False)) or schema._hooks.get(("post_load", False)) or len(
            schema._hooks.get(("pre_load", False), ())) > 1:
        return _validate(rows)
    fields = schema.fields
    required = [name for name, f in fields.items() if f.required]
    defaults = {name: f.load_default for name, f in fields.items() if not f.required}
    static_defaults = {name: default for name, default in defaults.items() if not callable(default)}
    computed_defaults = {name: default for name, default in defaults.items() if callable(default)}
    memo: dict = {name: {} for name in fields}
    quick = _quick_checks(fields)
    checked = []
    for line, row in rows:
        if "__error__" in row:
            checked.append((line, None, None, ("_row", row["__error__"])))
            continue
        data, error = {}, None
        try:
            clean = not has_controls("".join(row.values()))
        except TypeError:  # a cell that is not text (never from a CSV file)
            clean = False
        for key, value in row.items():
            if key not in fields:
                error = (key, "unknown field")
                break
            if isinstance(value, str):
                value = value.strip()
                if not clean and has_controls(value, key in schema.multiline):  # the schema words the message
                    error = (key, "control characters")
                    break
                if value == "":
                    continue
                check = quick.get(key)
                if check is not None and check[0] <= len(value) <= check[1] and (
                        check[2] is None or check[2].fullmatch(value)):
                    data[key] = value
                    continue
            cache = memo[key]
            outcome = cache.get(value)
            if outcome is None:
                try:
                    outcome = (True, fields[key].deserialize(value, key, row))
                except SchemaError as exc:
                    outcome = (False, next(flatten_messages(exc.messages, f"{key}.")))
                cache[value] = outcome
            if not outcome[0]:
                error = outcome[1]
                break
            data[key] = outcome[1]
        if error is None:
            missing = next((name for name in required if name not in data), None)
            if missing is not None:
                error = (missing, "required")
        if error is not None:  # a bad row: the schema itself words the message (first field in its order)
            checked.extend(_validate([(line, row)]))
            continue
        provided = frozenset(data)   # the cells that were not blank
        for name, default in computed_defaults.items():
            if name not in data:
                data[name] = default()
        checked.append((line, {**static_defaults, **data}, provided, None))
    return checked


# --- the generic importer's kind (crm import leads / crm export leads) ----------------------------

def _export(app, session):
    from sqlalchemy.orm import selectinload

    query = select(Lead).options(selectinload(Lead.owner), selectinload(Lead.team)).where(
        Lead.state != "merged").order_by(Lead.id)
    for lead in session.scalars(query):
        yield {"name": lead.name, "company": lead.company, "email": lead.email, "phone": lead.phone,
               "siren": lead.siren, "website": lead.website,
               "source": lead.source, "campaign": lead.campaign, "owner": lead.owner.login if lead.owner else None,
               "team": lead.team.name if lead.team else None, "notes": lead.notes,
               "created_on": lead.created_on.isoformat()}


def _bulk(app, path, *, skip_invalid, update, rejects_path, mapping, progress):
    """``crm import leads`` runs the same set-based importer as ``crm lead import``."""
    return import_leads(app, path, skip_invalid=skip_invalid, duplicates="update" if update else "create",
                        rejects_path=rejects_path, mapping=mapping, progress=progress)


LEADS_KIND = DataKind(name="leads", schema=LeadSchema, write=None, export=_export, columns=LEAD_FIELDS,
                      summary="funnel leads (duplicates on e-mail, phone, SIREN, domain or company + name are flagged)", bulk=_bulk)
