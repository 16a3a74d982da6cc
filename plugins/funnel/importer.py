"""Lead import: every row validated with marshmallow, duplicates detected set-based, bulk writes.

``crm lead import`` (and the bulk path of the benchmark) reads the file with the kernel's CSV
reader, validates every row with :class:`LeadSchema`, resolves owners and teams once, then
finds duplicates with a few set queries (normalised e-mail, and company + name, against the
existing leads and partners, and against earlier rows of the same file) before writing the
rows with multi-row INSERTs, all in one transaction. A failed file writes nothing.

For each duplicate the user chooses: ``create`` (the default: written and flagged), ``skip``
(not written) or ``update`` (the matching lead gets the fields the row fills).

``crm import leads`` runs this same importer through :data:`LEADS_KIND`'s ``bulk`` entry
(``--update`` = the update policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError as SchemaError
from sqlalchemy import bindparam, func, insert, select, update

from core.errors import CrmError
from core.importexport import DataKind, read_csv, refusal, write_rejects
from core.models import Contact, Partner, Team, User
from core.schemas import flatten_messages
from plugins.funnel.leads import company_key, email_key, fold
from plugins.funnel.models import Lead
from plugins.funnel.schemas import LEAD_FIELDS, LeadSchema

POLICIES = ("create", "skip", "update")
CHUNK = 500
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
                if "\x00" in value:
                    error = (key, "must not contain a NUL character")
                    break
                value = value.strip()
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
        for name, default in defaults.items():
            if name not in data:
                data[name] = default() if callable(default) else default
        checked.append((line, data, frozenset(k for k, v in row.items() if str(v).strip()), None))
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
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        found.update(session.execute(select(column, func.min(Lead.id)).where(
            column.in_(chunk), Lead.state != "merged").group_by(column)).all())
    return found


def partner_keys(session) -> tuple[dict, dict]:
    """Partners by normalised e-mail (theirs or a contact's) and by ``company|contact name``."""
    by_email: dict = {}
    for pid, email in session.execute(select(Partner.id, func.lower(Partner.email)).where(
            Partner.email.is_not(None)).order_by(Partner.id)):
        by_email.setdefault(email.strip(), pid)
    by_company: dict = {}
    for pid, name, contact, email in session.execute(select(
            Partner.id, Partner.name, Contact.name, func.lower(Contact.email)).join(
            Contact, Contact.partner_id == Partner.id).order_by(Partner.id)):
        by_company.setdefault(f"{fold(name)}|{fold(contact)}", pid)
        if email:
            by_email.setdefault(email.strip(), pid)
    return by_email, by_company


def _write(app, session, valid, result, policy, progress) -> None:
    for _, data, _ in valid:
        data["email_key"] = email_key(data.get("email"))
        data["company_key"] = company_key(data.get("company"), data["name"])
    lead_by_email = _existing(session, Lead.email_key, {d["email_key"] for _, d, _ in valid if d["email_key"]})
    lead_by_company = _existing(session, Lead.company_key,
                                {d["company_key"] for _, d, _ in valid if d["company_key"]})
    partner_by_email, partner_by_company = partner_keys(session)
    seen_email: dict = {}    # key -> index in `pending` of the first row of this file using it
    seen_company: dict = {}
    pending: list[dict] = []
    in_file_dups: list[tuple[int, int]] = []    # (index of the row, index of the row it duplicates)
    updates: dict[int, dict] = {}                # existing lead id -> fields to change
    today = app.today
    for line, data, provided in valid:
        ekey, ckey = data["email_key"], data["company_key"]
        db_lead = min(filter(None, (lead_by_email.get(ekey) if ekey else None,
                                    lead_by_company.get(ckey) if ckey else None)), default=None)
        file_row = min(filter(lambda i: i is not None, (seen_email.get(ekey) if ekey else None,
                                                        seen_company.get(ckey) if ckey else None)), default=None)
        partner = (partner_by_email.get(ekey) if ekey else None) or (partner_by_company.get(ckey) if ckey else None)
        if db_lead or file_row is not None or partner:
            result.duplicates += 1
            if policy == "skip":
                result.skipped += 1
                continue
            if policy == "update" and (db_lead or file_row is not None):
                fields = _provided_fields(data, provided)
                if db_lead:
                    updates.setdefault(db_lead, {}).update(fields)
                else:
                    pending[file_row].update(fields)
                result.updated += 1
                continue
        row = {"name": data["name"], "company": data.get("company"), "email": data.get("email"),
               "phone": data.get("phone"), "source": data.get("source"), "campaign": data.get("campaign"),
               "notes": data.get("notes"), "owner_id": data["owner_id"], "team_id": data["team_id"],
               "state": "new", "email_key": ekey, "company_key": ckey, "duplicate_of_id": db_lead,
               "duplicate_partner_id": partner, "created_on": data.get("created_on") or today}
        index = len(pending)
        pending.append(row)
        if file_row is not None and db_lead is None:
            in_file_dups.append((index, file_row))
        if ekey:
            seen_email.setdefault(ekey, index)
        if ckey:
            seen_company.setdefault(ckey, index)
    ids = _insert(session, pending, progress)
    result.created += len(pending)
    if in_file_dups:
        session.execute(update(Lead.__table__).where(Lead.__table__.c.id == bindparam("lead_id"))
                        .values(duplicate_of_id=bindparam("original")),
                        [{"lead_id": ids[i], "original": ids[j]} for i, j in in_file_dups])
    for lead_id, fields in updates.items():
        lead = session.get(Lead, lead_id)
        for key, value in fields.items():
            setattr(lead, key, value)
        lead.email_key = email_key(lead.email)
        lead.company_key = company_key(lead.company, lead.name)
    session.flush()


def _provided_fields(data: dict, provided) -> dict:
    fields = {k: data[k] for k in ("name", "company", "email", "phone", "source", "campaign", "notes")
              if k in provided}
    for key in ("owner", "team"):
        if key in provided:
            fields[f"{key}_id"] = data[f"{key}_id"]
    return fields


def _insert(session, rows: list[dict], progress) -> list[int]:
    """Multi-row INSERT ... RETURNING id, in batches; ids come back in the rows' order."""
    table = Lead.__table__
    ids: list[int] = []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), INSERT_BATCH):
        batch = rows[start:start + INSERT_BATCH]
        ids.extend(session.execute(statement, batch).scalars().all())
        if progress:
            progress(start + len(batch), len(rows))
    return ids


# --- the generic importer's kind (crm import leads / crm export leads) ----------------------------

def _export(app, session):
    from sqlalchemy.orm import selectinload

    query = select(Lead).options(selectinload(Lead.owner), selectinload(Lead.team)).where(
        Lead.state != "merged").order_by(Lead.id)
    for lead in session.scalars(query):
        yield {"name": lead.name, "company": lead.company, "email": lead.email, "phone": lead.phone,
               "source": lead.source, "campaign": lead.campaign, "owner": lead.owner.login if lead.owner else None,
               "team": lead.team.name if lead.team else None, "notes": lead.notes,
               "created_on": lead.created_on.isoformat()}


def _bulk(app, path, *, skip_invalid, update, rejects_path, mapping, progress):
    """``crm import leads`` runs the same set-based importer as ``crm lead import``."""
    return import_leads(app, path, skip_invalid=skip_invalid, duplicates="update" if update else "create",
                        rejects_path=rejects_path, mapping=mapping, progress=progress)


LEADS_KIND = DataKind(name="leads", schema=LeadSchema, write=None, export=_export, columns=LEAD_FIELDS,
                      summary="funnel leads (duplicates on e-mail or company + name are flagged)", bulk=_bulk)
