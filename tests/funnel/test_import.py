"""The lead importer: all or nothing, --skip-invalid with a rejects file, duplicate policies, and a
property test feeding it arbitrary CSV text and field values."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.errors import CrmError
from plugins.funnel.importer import _validate, import_leads, validate_rows
from plugins.funnel.models import Lead
from plugins.funnel.schemas import LEAD_FIELDS

pytestmark = pytest.mark.modules("funnel")


def _count(app) -> int:
    with app.transaction() as session:
        return session.execute(select(func.count()).select_from(Lead)).scalar()


def _csv(tmp_path, text: str, name: str = "leads.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicates_against_partners_and_leads_with_each_policy(app, factory, tmp_path):
    factory.partner(name="Radium SA", email="contact@radium.fr")
    factory.user(login="alice")
    first = _csv(tmp_path, "Name;Firm;email;owner\nMarie;Radium SA;CONTACT@radium.fr;alice\n"
                           "Pierre;Curie SARL;pierre@curie.fr;alice\n")
    result = import_leads(app, first, mapping={"Name": "name", "Firm": "company"})
    assert (result.created, result.duplicates) == (2, 1)
    with app.transaction() as session:
        marie = session.scalars(select(Lead).where(Lead.name == "Marie")).one()
        assert marie.duplicate_partner_id is not None and marie.owner.login == "alice"

    second = _csv(tmp_path, "name,company,email,phone\nPierre Curie,Curie SARL,PIERRE@curie.fr,0102030405\n"
                            "Paul,Other,paul@other.fr,\n", "second.csv")
    skipped = import_leads(app, second, duplicates="skip")
    assert (skipped.created, skipped.skipped, skipped.duplicates) == (1, 1, 1)
    updated = import_leads(app, second, duplicates="update")
    assert (updated.created, updated.updated) == (0, 2)
    with app.transaction() as session:
        pierre = session.scalars(select(Lead).where(Lead.email_key == "pierre@curie.fr")).one()
        assert (pierre.name, pierre.phone) == ("Pierre Curie", "0102030405")
    created = import_leads(app, second)
    assert (created.created, created.duplicates) == (2, 2)
    assert _count(app) == 5


def test_a_bad_file_writes_nothing_and_lists_every_bad_row(app, tmp_path):
    path = _csv(tmp_path, "name,email,created_on\nA,a@x.fr,2026-01-01\n,b@x.fr,\nC,not mail,\nD,d@x.fr,2026-02-30\n")
    with pytest.raises(CrmError) as caught:
        import_leads(app, path)
    assert [(r, f) for r, f, _ in caught.value.errors] == [("line 3", "name"), ("line 4", "email"),
                                                          ("line 5", "created_on")]
    assert _count(app) == 0
    result = import_leads(app, path, skip_invalid=True)
    assert (result.created, len(result.rejected)) == (1, 3)
    rows = list(csv.reader(open(result.rejects_file, encoding="utf-8")))
    assert rows[0] == ["line", "name", "email", "created_on", "error"] and [r[0] for r in rows[1:]] == ["3", "4", "5"]


def test_generic_import_kind_and_export(crm, tmp_path):
    path = _csv(tmp_path, "name,company,email\nAnne,ACME,anne@acme.fr\nAnne,Acme ,other@acme.fr\n")
    assert crm("import", "leads", str(path), "--json").json["created"] == 2
    leads = crm("lead", "list", "--duplicates", "--json").json
    assert [(lead["name"], lead["duplicate_of"]) for lead in leads] == [("Anne", 1)]   # company + name
    exported = crm("export", "leads").stdout
    assert exported.splitlines()[0] == ",".join(LEAD_FIELDS) and exported.count("Anne") == 2


#: addresses near the importer's plain form (PLAIN_EMAIL) on every side: dots, hyphens, short or long
#: labels, letters outside ASCII, a second @
emails = st.one_of(st.from_regex(r"[a-z0-9._%+é-]{0,4}@[a-z0-9.é@-]{0,9}", fullmatch=True),
                   st.sampled_from(["a@b.fr", "a.b@c.d.fr", ".a@b.fr", "a.@b.fr", "a..b@c.fr", "a@-b.fr", "a@b-.fr",
                                    "a@b.f", "a@b.abcdefg", "a@b.fr1", "a@b..fr", "a@" + "b" * 64 + ".fr",
                                    "a" * 250 + "@b.fr", "a+b_c%d-e@x-y.fr", "é@b.fr", "a@é.fr"]))
cells = st.one_of(st.text(max_size=30), emails, st.sampled_from(
    ["", " ", "a@b.fr", "2026-02-29", "2026-02-30", "=1+1", "x" * 300, "é", "\x00", '"', "\n"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from([*LEAD_FIELDS, "unknown", ""]), min_size=1, max_size=5),
       rows=st.lists(st.lists(cells, min_size=0, max_size=6), max_size=6), noise=st.text(max_size=40),
       skip=st.booleans())
def test_property_arbitrary_files_never_crash_nor_half_write(app, tmp_path, header, rows, noise, skip):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "arbitrary.csv"
    path.write_text(buffer.getvalue() + noise, encoding="utf-8")
    before = _count(app)
    try:
        result = import_leads(app, path, skip_invalid=skip, duplicates="create")
    except CrmError:
        assert _count(app) == before      # a refused file writes nothing
        return
    assert _count(app) == before + result.created
    assert skip or not result.rejected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from([*LEAD_FIELDS, "other"]), cells, max_size=6), max_size=8))
def test_property_bulk_validation_is_schema_load(rows):
    """The importer's per-column validation gives exactly what ``LeadSchema().load`` gives, row by row."""
    numbered = list(enumerate(rows, start=2))
    assert validate_rows(numbered) == _validate(numbered)


@settings(max_examples=300, deadline=None)
@given(emails)
def test_property_an_address_the_quick_check_takes_is_one_marshmallow_takes(email):
    """The importer takes a plain address without marshmallow (PLAIN_EMAIL): exactly as ``LeadSchema`` would."""
    numbered = [(2, {"name": "Anne", "email": email})]
    assert validate_rows(numbered) == _validate(numbered)


def test_a_file_streamed_in_chunks_matches_across_chunks_and_stays_all_or_nothing(app, factory, tmp_path, monkeypatch):
    """Rows are read, matched and written a chunk at a time: a duplicate of a row of an earlier chunk is
    flagged against it (``update`` updates it), and a bad row in a late chunk, after earlier chunks were
    written, still writes nothing and names its line and field."""
    from plugins.funnel import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    factory.user(login="alice")
    rows = [f"Person {n},Firm {n},p{n}@firm{n}.fr,alice" for n in range(5)]
    rows.append("Person 1 again,Firm 1,P1@firm1.fr,alice")  # the 6th row: the 2nd row's e-mail, 2 chunks later
    path = _csv(tmp_path, "name,company,email,owner\n" + "\n".join(rows) + "\n")
    result = import_leads(app, path)
    assert (result.rows, result.created, result.duplicates) == (6, 6, 1)
    with app.transaction() as session:
        again = session.scalars(select(Lead).where(Lead.name == "Person 1 again")).one()
        first = session.scalars(select(Lead).where(Lead.name == "Person 1")).one()
        assert again.duplicate_of_id == first.id and again.duplicate_keys.startswith("email")
    updated = import_leads(app, _csv(tmp_path, "name,email,phone\nP,p4@firm4.fr,0102030405\nQ,q@q.fr,\n"
                                               "R,r@r.fr,\nP4,P4@FIRM4.FR,0607080910\n", "update.csv"),
                           duplicates="update")
    assert (updated.created, updated.updated) == (2, 2)
    with app.transaction() as session:
        person4 = session.scalars(select(Lead).where(Lead.email_key == "p4@firm4.fr")).one()
        assert (person4.name, person4.phone) == ("P4", "0607080910")  # the last row of the file wins
    before = _count(app)
    bad = _csv(tmp_path, "name,email,owner\n" + "".join(f"N{n},n{n}@x.fr,alice\n" for n in range(7))
               + "Late,late@x.fr,nobody\nLater,not an e-mail,\n", "bad.csv")
    with pytest.raises(CrmError) as caught:
        import_leads(app, bad)
    assert "line 9" in str(caught.value) and "owner" in str(caught.value) and "nothing was imported" in str(caught.value)
    assert [e[:2] for e in caught.value.errors] == [("line 9", "owner"), ("line 10", "email")]
    assert _count(app) == before


def test_a_duplicate_points_at_the_oldest_lead_not_merged_among_many_sharing_its_keys(app, tmp_path, monkeypatch):
    """Each key is looked up for a whole chunk at once (on PostgreSQL through a staging table): a key
    many leads share (a company's domain) gives the oldest of them, a merged lead is none, and each
    key of the row is matched on its own column."""
    from plugins.funnel import importer

    rows = "".join(f"Staff {n},Acme,staff{n}@acme.fr,01 44 00 00 {n:02d}\n" for n in range(6))
    import_leads(app, _csv(tmp_path, "name,company,email,phone\n" + rows))
    with app.transaction() as session:
        ids = list(session.scalars(select(Lead.id).order_by(Lead.id)))
        session.get(Lead, ids[0]).state = "merged"
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    result = import_leads(app, _csv(tmp_path, "name,company,email,phone\n"
                                              "New,,new@acme.fr,\n"                   # the domain of all six
                                              "Phone,,phone@gmail.com,0144000003\n"   # the phone of the 4th
                                              "Again,Acme,again@gmail.com,\n"         # nothing in common
                                              "Staff 0,acme,,\n"                      # company + name of the merged one
                                              "Staff 5,ACME,,01 44 00 00 05\n", "second.csv"))  # the 6th
    assert (result.created, result.duplicates) == (5, 3)
    with app.transaction() as session:
        found = {lead.name: (lead.duplicate_of_id, lead.duplicate_keys)
                 for lead in session.scalars(select(Lead).where(Lead.id > ids[-1]))}
    assert found == {"New": (ids[1], "domain"), "Phone": (ids[3], "phone"), "Again": (None, None),
                     "Staff 0": (None, None), "Staff 5": (ids[5], "phone,company_name")}
