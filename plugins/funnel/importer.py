"""Lead import: every row validated with marshmallow, duplicates detected set-based, bulk writes.

``crm lead import`` (and the bulk path of the benchmark) reads the file with the kernel's CSV
reader, validates every row with :class:`LeadSchema`, resolves owners and teams once, then
finds duplicates on every match key of :mod:`plugins.funnel.matching` (e-mail, phone, SIREN,
company + name, company domain) with a few set queries against the existing leads, one pass
over the partners, and dictionaries of the keys of earlier rows of the same file, before
writing the rows with multi-row INSERTs, all in one transaction. A failed file writes nothing.

For each duplicate the user chooses: ``create`` (the default: written and flagged), ``skip``
(not written) or ``update`` (the matching lead gets the fields the row fills). ``skip`` and
``update`` act on a match of the *person* (e-mail, phone, company + name); a lead matching only
on the company (SIREN, domain) is a colleague: flagged and written.

``crm import leads`` runs this same importer through :data:`LEADS_KIND`'s ``bulk`` entry
(``--update`` = the update policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from marshmallow import ValidationError as SchemaError
from sqlalchemy import bindparam, func, insert, literal_column, select, text

from core.db import utcnow
from core.errors import CrmError
from core.importexport import DataKind, read_csv, refusal, write_rejects
from core.models import Contact, Partner, Team, User
from core.schemas import flatten_messages, has_controls
from plugins.funnel.leads import set_keys
from plugins.funnel.matching import (KEYS, PERSON_KEYS, company_key, domain_key, email_key, lead_keys, phone_key,
                                     siren_key)
from plugins.funnel.models import Lead
from plugins.funnel.schemas import LEAD_FIELDS, LeadSchema

POLICIES = ("create", "skip", "update")
CHUNK = 2000
INSERT_BATCH = 5000
PARALLEL_FROM = 20_000


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
    if duplicates not in POLICIES:
        raise CrmError(f"duplicates: {duplicates!r} is not one of {', '.join(POLICIES)}")
    path = Path(path)
    header, rows = read_csv(path, LEAD_FIELDS, mapping)
    result = LeadImportResult(rows=len(rows))
    valid = []
    for line, data, provided, error in validate_rows(rows):
        if error is not None:
            result.rejected.append((line, *error))
        else:
            valid.append((line, data, provided))
    with app.transaction() as session:
        valid = _resolve_people(session, valid, result)
        if result.rejected and not skip_invalid:
            raise refusal(path, result)
        _write(app, session, valid, result, duplicates, progress)
    if result.rejected:
        result.rejected.sort()
        target = Path(rejects_path) if rejects_path else path.with_name(path.stem + ".rejected.csv")
        write_rejects(target, header, rows, result.rejected)
        result.rejects_file = str(target)
    return result


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
    distinct value once and the rows are assembled from those results. This is exactly
    ``LeadSchema().load(row)`` (the schema's only processor is the kernel's cell trimming, done
    here the same way); the tests check both paths agree on arbitrary rows. A schema that gains
    a schema-level validator falls back to ``Schema.load`` per row.
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
    checked = []
    for line, row in rows:
        if "__error__" in row:
            checked.append((line, None, None, ("_row", row["__error__"])))
            continue
        data, error = {}, None
        for key, value in row.items():
            if key not in fields:
                error = (key, "unknown field")
                break
            if isinstance(value, str):
                value = value.strip()
                if has_controls(value, key in schema.multiline):  # the schema words the message
                    error = (key, "control characters")
                    break
                if value == "":
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


def _resolve_people(session, valid, result):
    logins = {data["owner"] for _, data, _ in valid if data.get("owner")}
    teams = {data["team"] for _, data, _ in valid if data.get("team")}
    users = dict(session.execute(select(User.login, User.id).where(User.login.in_(logins))).all()) if logins else {}
    team_ids = dict(session.execute(select(Team.name, Team.id).where(Team.name.in_(teams))).all()) if teams else {}
    kept = []
    for line, data, provided in valid:
        if data.get("owner") and data["owner"] not in users:
            result.rejected.append((line, "owner", f"no such user {data['owner']!r}"))
            continue
        if data.get("team") and data["team"] not in team_ids:
            result.rejected.append((line, "team", f"no such team {data['team']!r}"))
            continue
        data["owner_id"] = users.get(data.get("owner"))
        data["team_id"] = team_ids.get(data.get("team"))
        kept.append((line, data, provided))
    return kept


def _existing(session, column, keys) -> dict:
    """``{key: smallest lead id}`` for the keys already used by a lead (chunked IN queries on an index)."""
    found: dict = {}
    keys = list(keys)
    # one cached statement with an expanding parameter: no bound-parameter object per key
    query = select(column, func.min(Lead.id)).where(column.in_(bindparam("keys", expanding=True)),
                                                    Lead.state != "merged").group_by(column)
    for start in range(0, len(keys), CHUNK):
        found.update(session.execute(query, {"keys": keys[start:start + CHUNK]}).all())
    return found


def partner_keys(session) -> dict[str, dict]:
    """``{match key name: {key: smallest partner id}}``, from one pass over the partners and their contacts.

    E-mail, phone and domain come from the partner's and its contacts' e-mails and phones; SIREN
    from the partner; company + name from the partner's name and each contact's name.
    """
    found: dict[str, dict] = {key: {} for key in KEYS}

    def note(key_name, key, pid):
        if key:
            found[key_name].setdefault(key, pid)

    for pid, email, phone, siren in session.execute(select(Partner.id, Partner.email, Partner.phone, Partner.siren)
                                                    .order_by(Partner.id)):
        note("email", email_key(email), pid)
        note("phone", phone_key(phone), pid)
        note("siren", siren_key(siren), pid)
        note("domain", domain_key(None, email), pid)
    for pid, name, contact, email, phone in session.execute(select(
            Partner.id, Partner.name, Contact.name, Contact.email, Contact.phone).join(
            Contact, Contact.partner_id == Partner.id).order_by(Partner.id)):
        note("company_name", company_key(name, contact), pid)
        note("email", email_key(email), pid)
        note("phone", phone_key(phone), pid)
        note("domain", domain_key(None, email), pid)
    return found


KEY_COLUMNS = {"email": "email_key", "phone": "phone_key", "siren": "siren", "company_name": "company_key",
               "domain": "domain_key"}


def _write(app, session, valid, result, policy, progress) -> None:
    """Match every row on every key (existing leads, partners, earlier rows of the file), then write.

    Lookups are dictionaries filled by a few set queries; nothing is queried per row. A row that
    matches on a person key (e-mail, phone, company + name) is what ``skip`` skips and ``update``
    updates; a match on a company key only (SIREN, domain) is flagged and written.
    """
    columns = {name: getattr(Lead, column) for name, column in KEY_COLUMNS.items()}
    for _, data, _ in valid:
        data["keys"] = lead_keys(name=data["name"], company=data.get("company"), email=data.get("email"),
                                 phone=data.get("phone"), siren=data.get("siren"), website=data.get("website"))
    in_db = {name: _existing(session, columns[name], {d["keys"][name] for _, d, _ in valid if d["keys"][name]})
             for name in KEYS}
    partners = partner_keys(session)
    seen: dict[str, dict] = {name: {} for name in KEYS}   # key -> index in `pending` of the first row using it
    pending: list[dict] = []
    originals: list[int | None] = []     # per pending row: index of the earlier row of the file it duplicates
    updates: dict[int, dict] = {}        # existing lead id -> fields to change
    today = app.today
    for line, data, provided in valid:
        keys = data["keys"]
        db_lead = file_row = partner = None
        matched = []
        person = False
        for name in KEYS:
            key = keys[name]
            if not key:
                continue
            lead_id, row_index, partner_id = in_db[name].get(key), seen[name].get(key), partners[name].get(key)
            if lead_id is None and row_index is None and partner_id is None:
                continue
            matched.append(name)
            person = person or name in PERSON_KEYS
            if lead_id is not None and (db_lead is None or lead_id < db_lead):
                db_lead = lead_id
            if row_index is not None and (file_row is None or row_index < file_row):
                file_row = row_index
            if partner is None:
                partner = partner_id
        if matched:
            result.duplicates += 1
            if person and policy == "skip":
                result.skipped += 1
                continue
            person_lead, person_row = _person_match(keys, in_db, seen) if policy == "update" else (None, None)
            if person_lead or person_row is not None:
                fields = _provided_fields(data, provided)
                if person_lead:
                    updates.setdefault(person_lead, {}).update(fields)
                else:
                    pending[person_row].update(fields)
                    pending[person_row].update(_stored_keys(pending[person_row]))
                result.updated += 1
                continue
        row = {"name": data["name"], "company": data.get("company"), "email": data.get("email"),
               "phone": data.get("phone"), "siren": data.get("siren"), "website": data.get("website"),
               "source": data.get("source"), "campaign": data.get("campaign"),
               "notes": data.get("notes"), "owner_id": data["owner_id"], "team_id": data["team_id"],
               "state": "new", "email_key": keys["email"], "company_key": keys["company_name"],
               "phone_key": keys["phone"], "domain_key": keys["domain"], "duplicate_of_id": db_lead,
               "duplicate_partner_id": partner, "duplicate_keys": ",".join(matched) if matched else None,
               "created_on": data.get("created_on") or today}
        index = len(pending)
        pending.append(row)
        originals.append(file_row if db_lead is None else None)
        for name in KEYS:
            if keys[name]:
                seen[name].setdefault(keys[name], index)
    _insert(session, pending, originals, progress)
    result.created += len(pending)
    for lead_id, fields in updates.items():
        lead = session.get(Lead, lead_id)
        for key, value in fields.items():
            setattr(lead, key, value)
        set_keys(lead)
    session.flush()


def _person_match(keys, in_db, seen) -> tuple[int | None, int | None]:
    """The oldest lead and earliest row of the file sharing a person key (e-mail, phone, company + name)."""
    leads = [in_db[name].get(keys[name]) for name in PERSON_KEYS if keys[name]]
    rows = [seen[name].get(keys[name]) for name in PERSON_KEYS if keys[name]]
    return (min((i for i in leads if i is not None), default=None),
            min((i for i in rows if i is not None), default=None))


def _stored_keys(row: dict) -> dict:
    keys = lead_keys(name=row["name"], company=row["company"], email=row["email"], phone=row["phone"],
                     siren=row["siren"], website=row["website"])
    return {column: keys[name] for name, column in KEY_COLUMNS.items() if column != "siren"}


def _provided_fields(data: dict, provided) -> dict:
    fields = {k: data[k] for k in ("name", "company", "email", "phone", "siren", "website", "source", "campaign",
                                   "notes") if k in provided}
    for key in ("owner", "team"):
        if key in provided:
            fields[f"{key}_id"] = data[f"{key}_id"]
    return fields


def _reserve_ids(session, count: int) -> list[int]:
    """``count`` lead ids for this transaction, so rows can point at rows of the same file as they are written.

    PostgreSQL hands them out from the table's sequence (concurrent writers get others). SQLite
    transactions begin IMMEDIATE, holding the write lock: the ids after the largest one are ours.
    """
    if not count:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(text("SELECT nextval(pg_get_serial_sequence('funnel_lead', 'id')) "
                                         "FROM generate_series(1, :count)"), {"count": count}).scalars())
    first = (session.execute(select(func.max(Lead.id))).scalar() or 0) + 1
    return list(range(first, first + count))


def _insert(session, rows: list[dict], originals: list, progress) -> list[int]:
    """Plain multi-row INSERTs (executemany, no RETURNING) of rows given their ids beforehand.

    A row duplicating an earlier row of the file gets that row's id as ``duplicate_of_id`` as it
    is written: no second pass.
    """
    ids = _reserve_ids(session, len(rows))
    for lead_id, row, original in zip(ids, rows, originals):
        row["id"] = lead_id
        if original is not None:
            row["duplicate_of_id"] = ids[original]
    write = _driver_executemany(session, rows[0]) if rows else None
    for start in range(0, len(rows), INSERT_BATCH):
        batch = rows[start:start + INSERT_BATCH]
        if write is not None:
            write(batch)
        else:
            session.execute(insert(Lead.__table__), batch)
        if progress:
            progress(start + len(batch), len(rows))
    return ids


def _driver_executemany(session, sample: dict):
    """On SQLite, a writer of row batches straight to the driver's ``executemany`` (its C loop), the
    values converted by the columns' own SQLAlchemy bind processors; elsewhere None (SQLAlchemy's
    batched multi-row INSERT is the fast path there). Saves SQLAlchemy's per-row parameter work."""
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        return None
    table = Lead.__table__
    column = table.c.created_at.type.dialect_impl(dialect)
    created_at = (column.bind_processor(dialect) or (lambda value: value))(utcnow())
    # one write time for the whole file, in the statement: no 22nd key in each row's dict (a resize each)
    compiled = insert(table).values(created_at=literal_column(f"'{created_at}'")).compile(
        dialect=dialect, column_keys=list(sample))
    order = list(compiled.positiontup)
    processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order}
    processors = {name: process for name, process in processors.items() if process is not None}
    values = itemgetter(*order)

    def write(batch):
        for row in batch:
            for name, process in processors.items():
                if row[name] is not None:
                    row[name] = process(row[name])
        connection.exec_driver_sql(compiled.string, list(map(values, batch)))

    return write


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
