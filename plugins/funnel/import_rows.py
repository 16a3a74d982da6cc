"""Writing the rows of a lead import, chunk after chunk, in the import's transaction.

:class:`LeadWriter` matches each chunk's rows on every key (the leads already in the database —
those written by earlier chunks of the same file included —, the partners, and the earlier rows
of the same chunk), applies the duplicates policy, and writes the chunk in one bulk write (:func:`_insert`).
Lookups are dictionaries filled by a few set queries; nothing is queried per row. A row that
matches on a person key (e-mail, phone, company + name) is what ``skip`` skips and ``update``
updates; a match on a company key only (SIREN, domain) is flagged and written.
"""

from __future__ import annotations


import json
from itertools import zip_longest

from sqlalchemy import func, select, text

from core.db import utcnow
from core.dbutil import GrowingTable, Overlapped, database_values, driver_writer
from core.models import Contact, Partner, Team, User
from core.recordrules import every_record
from plugins.funnel.leads import set_keys
from plugins.funnel.matching import (KEYS, PERSON_KEYS, company_key, domain_key, email_key, lead_keys, phone_key,
                                     siren_key)
from plugins.funnel.models import Lead

class LeadWriter:
    """Writes an import's valid rows chunk by chunk (:meth:`write`), then the updates (:meth:`finish`).

    Used as a ``with`` block: on PostgreSQL a chunk's ``COPY`` goes on in the server while the next
    chunk is validated and keyed (:class:`~core.dbutil.Overlapped`); the block waits for it.
    """

    def __init__(self, app, session, result, policy: str, progress=None):
        self.app, self.session, self.result, self.policy, self.progress = app, session, result, policy, progress
        self.users: dict = {}
        self.teams: dict = {}
        with every_record(session):  # a manager's import flags another team's customer as a duplicate too
            self.partners = partner_keys(session)  # one pass over the partners and their contacts
        self.updates: dict[int, dict] = {}     # existing lead id -> fields to change
        self.written = 0
        self.leads = GrowingTable(session, Lead.__tablename__, ("id", "state", *KEY_COLUMNS.values()))
        self.last_write = Overlapped(session)  # the last chunk's, while the next one is prepared

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.last_write.__exit__(*exc)

    def resolve_people(self, valid):
        """The rows whose owner and team exist (each name looked up once per import); the others rejected."""
        session, result = self.session, self.result
        logins = {data["owner"] for _, data, _ in valid if data.get("owner")} - self.users.keys()
        teams = {data["team"] for _, data, _ in valid if data.get("team")} - self.teams.keys()
        if logins or teams:
            self.last_write.wait()
        if logins:
            found = dict(session.execute(select(User.login, User.id).where(User.login.in_(logins))).all())
            self.users.update({login: found.get(login) for login in logins})
        if teams:
            found = dict(session.execute(select(Team.name, Team.id).where(Team.name.in_(teams))).all())
            self.teams.update({name: found.get(name) for name in teams})
        kept = []
        for line, data, provided in valid:
            if data.get("owner") and self.users[data["owner"]] is None:
                result.rejected.append((line, "owner", f"no such user {data['owner']!r}"))
                continue
            if data.get("team") and self.teams[data["team"]] is None:
                result.rejected.append((line, "team", f"no such team {data['team']!r}"))
                continue
            data["owner_id"] = self.users.get(data.get("owner"))
            data["team_id"] = self.teams.get(data.get("team"))
            kept.append((line, data, provided))
        return kept

    def write(self, valid) -> None:
        """Match the chunk's rows on every key, apply the policy, write the new rows."""
        session, result, policy, partners = self.session, self.result, self.policy, self.partners
        for _, data, _ in valid:
            add_keys(data)
        wanted = {name: {d["keys"][name] for _, d, _ in valid if d["keys"][name]} for name in KEYS}
        self.last_write.wait()  # the earlier chunks are in the table: this chunk's lookups see them
        self.leads.wrote(result.created)  # and plan on true figures
        existing = _staged_existing if session.get_bind().dialect.name == "postgresql" else _probed_existing
        in_db = existing(session, wanted)
        seen: dict[str, dict] = {name: {} for name in KEYS}   # key -> index in `pending` of the first row using it
        pending: list[dict] = []
        originals: list[int | None] = []     # per pending row: index of the earlier row of the chunk it duplicates
        today = self.app.today
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
                        self.updates.setdefault(person_lead, {}).update(fields)
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
        _insert(session, pending, originals, self.last_write)
        result.created += len(pending)
        self.written += len(valid)
        if self.progress:
            self.progress(self.written, None)

    def finish(self) -> None:
        """The updates the ``update`` policy gathered for leads written before this import or by it."""
        self.last_write.wait()
        for lead_id, fields in self.updates.items():
            lead = self.session.get(Lead, lead_id)
            for key, value in fields.items():
                setattr(lead, key, value)
            set_keys(lead)
        self.session.flush()


def add_keys(data: dict) -> None:
    """``data["keys"]``: every match key of a validated row (:func:`plugins.funnel.matching.lead_keys`)."""
    data["keys"] = lead_keys(name=data["name"], company=data.get("company"), email=data.get("email"),
                             phone=data.get("phone"), siren=data.get("siren"), website=data.get("website"))


def _probed_existing(session, wanted: dict[str, set]) -> dict[str, dict]:
    """``{match key name: {key: smallest lead id}}`` for the keys already used by a lead, on SQLite.

    Per key, the first entry of the column's index that is not merged: an index lists equal keys in
    rowid order, so a key shared by thousands of leads (a company's domain, its SIREN) costs one
    probe. ``min(id) ... GROUP BY`` over an ``IN`` list read every lead of every key instead: each
    chunk read all the leads written so far, and the import grew quadratically. A key name's keys
    go as one JSON array.
    """
    found: dict[str, dict] = {name: {} for name in KEYS}
    for name, keys in wanted.items():
        if keys:  # another team's lead is the same person all the same: plain SQL sees every record
            found[name] = dict(session.execute(text(
                f"SELECT key, lead_id FROM (SELECT k.value AS key, (SELECT l.id FROM {Lead.__tablename__} l"
                f" WHERE l.{KEY_COLUMNS[name]} = k.value AND l.state <> 'merged' ORDER BY l.id LIMIT 1) AS lead_id"
                " FROM json_each(:keys) k) WHERE lead_id IS NOT NULL"), {"keys": json.dumps(list(keys))}).all())
    return found


#: the temporary table a chunk's match keys are copied into on PostgreSQL
STAGE = "funnel_lead_import_key"


def _staged_existing(session, wanted: dict[str, set]) -> dict[str, dict]:
    """``{match key name: {key: smallest lead id}}``, as :func:`_probed_existing`, in one set query on PostgreSQL.

    The chunk's keys go by COPY into a temporary table, a column per match key (a row holds the
    n-th key of each), and one statement joins each column to the leads. An ``IN`` list of
    thousands of parameters per key cost more to build and convert (SQLAlchemy's expanding
    parameter, the driver's placeholders) than the lookup itself: most of the import's time on
    PostgreSQL went there.
    """
    columns = [name for name in KEYS if wanted[name]]
    found: dict[str, dict] = {name: {} for name in KEYS}
    if not columns:
        return found
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({', '.join(f'{n} VARCHAR(402)' for n in KEYS)})"
                         " ON COMMIT DROP"))
    session.execute(text(f"TRUNCATE {STAGE}"))
    driver_writer(session, STAGE, columns)(zip_longest(*(wanted[name] for name in columns)))
    # another team's lead is the same person all the same: a plain SQL statement sees every record
    lookups = " UNION ALL ".join(
        f"SELECT '{name}', s.{name}, min(l.id) FROM {STAGE} s JOIN {Lead.__tablename__} l "
        f"ON l.{KEY_COLUMNS[name]} = s.{name} WHERE l.state <> 'merged' GROUP BY s.{name}" for name in columns)
    for name, key, lead_id in session.execute(text(lookups)):
        found[name][key] = lead_id
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
    with every_record(session):  # the largest id of all, not of the leads the importer sees
        first = (session.execute(select(func.max(Lead.id))).scalar() or 0) + 1
    return list(range(first, first + count))


def _insert(session, rows: list[dict], originals: list, overlapped: Overlapped) -> list[int]:
    """The chunk's rows, given their ids beforehand, in one bulk write (``COPY`` on PostgreSQL, left to
    the server by ``overlapped``; the driver's executemany on SQLite).

    A row duplicating an earlier row of the chunk gets that row's id as ``duplicate_of_id`` as it
    is written: no second pass.
    """
    ids = _reserve_ids(session, len(rows))
    now = utcnow()  # one write time for the chunk
    for lead_id, row, original in zip(ids, rows, originals):
        row["id"], row["created_at"] = lead_id, now
        if original is not None:
            row["duplicate_of_id"] = ids[original]
    if rows:  # converted here; only the COPY goes on beside the next chunk
        overlapped.start(driver_writer(session, Lead.__tablename__, list(rows[0])),
                         list(database_values(session, Lead.__table__, rows)))
    return ids
