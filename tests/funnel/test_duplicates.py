"""Duplicate detection on every match key (e-mail, phone, SIREN, company domain, company + name),
against leads and partners, on entry and on import."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Contact
from plugins.funnel import leads
from plugins.funnel.importer import import_leads
from plugins.funnel.matching import domain_key, email_key, phone_key, siren_key, website_domain
from plugins.funnel.models import Lead

pytestmark = pytest.mark.modules("funnel")

SIREN = "732829320"        # a valid SIREN (Luhn key)
OTHER_SIREN = "552100554"


@pytest.mark.parametrize("text, key", [
    ("01 23 45 67 89", "0123456789"), ("+33 1 23 45 67 89", "0123456789"), ("+33 (0)1 23 45 67 89", "0123456789"),
    ("0033 1 23 45 67 89", "0123456789"), ("33 1 23 45 67 89", "0123456789"), ("01.23.45.67.89", "0123456789"),
    ("06-12-34-56-78", "0612345678"), ("+32 2 555 12 12", "003225551212"), ("0102", None), ("", None), (None, None),
])
def test_phone_key_is_the_digits_in_french_national_form(text, key):
    assert phone_key(text) == key


def test_domain_key_prefers_the_web_site_and_ignores_free_mail():
    assert website_domain("https://www.ACME.fr:443/contact?x=1") == "acme.fr"
    assert website_domain("acme.fr") == "acme.fr" and website_domain("not a site") is None
    assert domain_key(None, "Jean@ACME.fr") == "acme.fr"
    assert domain_key("www.acme.fr", "jean@acme-group.com") == "acme.fr"
    for free in ("gmail.com", "orange.fr", "hotmail.com", "yahoo.fr", "free.fr", "outlook.com", "laposte.net",
                 "wanadoo.fr"):
        assert domain_key(None, f"jean.dupont@{free}") is None, free
    assert domain_key("http://gmail.com", "jean@gmail.com") is None
    assert email_key(" Jean@ACME.fr ") == "jean@acme.fr" and siren_key("732 829 320") == SIREN


def _entry(app, **values):
    with app.transaction() as session:
        lead = leads.create_lead(app, session, values)
        return lead.duplicate_of_id, lead.duplicate_partner_id, lead.duplicate_keys


@pytest.mark.parametrize("first, second, keys", [
    ({"email": "jean@acme.fr"}, {"email": " JEAN@Acme.FR"}, "email,domain"),
    ({"phone": "+33 1 23 45 67 89"}, {"phone": "01.23.45.67.89"}, "phone"),
    ({"siren": SIREN}, {"siren": "732 829 320"}, "siren"),
    ({"company": "Café Dupont"}, {"company": " cafe  DUPONT"}, "company_name"),
    ({"website": "https://www.acme.fr"}, {"email": "paul@acme.fr"}, "domain"),
])
def test_each_key_flags_a_lead_duplicating_a_lead_on_entry(app, first, second, keys):
    original = _entry(app, name="Jean", **first)
    assert original == (None, None, None)
    assert _entry(app, name="Jean" if "company" in second else "Someone else", **second) == (1, None, keys)


def test_no_key_in_common_is_no_duplicate(app):
    _entry(app, name="Jean", email="jean@gmail.com", phone="0123456789", siren=SIREN, company="ACME")
    assert _entry(app, name="Paul", email="paul@gmail.com", phone="0612345678", siren=OTHER_SIREN,
                  company="ACME") == (None, None, None)   # same free-mail domain and company, another person


def test_each_key_flags_a_lead_duplicating_a_partner_on_entry(app, factory):
    partner = factory.partner(name="ACME SA", email="contact@acme.fr", phone="+33 1 23 45 67 89", siren=SIREN)
    with app.transaction() as session:
        session.add(Contact(partner_id=partner.id, name="Jean Dupont", email="jean.dupont@gmail.com",
                            phone="06 12 34 56 78"))
    def partner_match(**values):   # (partner, keys): the earlier leads of this test may match too
        return _entry(app, **values)[1:]

    assert partner_match(name="X", email="CONTACT@acme.fr") == (partner.id, "email,domain")
    assert partner_match(name="X", email="jean.dupont@gmail.com") == (partner.id, "email")   # a contact's
    assert partner_match(name="X", phone="01 23 45 67 89") == (partner.id, "phone")
    assert partner_match(name="X", phone="+33 6 12 34 56 78") == (partner.id, "phone")        # a contact's
    assert partner_match(name="X", siren="732829320") == (partner.id, "siren")
    assert partner_match(name="jean dupont", company="acme sa") == (partner.id, "company_name")
    assert partner_match(name="X", website="http://acme.fr/") == (partner.id, "domain")
    assert partner_match(name="X", email="x@gmail.com") == (None, None)


def test_an_edit_rechecks_the_keys_against_older_records(app):
    _entry(app, name="Jean", phone="0123456789")
    _entry(app, name="Paul")
    with app.transaction() as session:
        paul = session.get(Lead, 2)
        leads.update_lead(app, session, paul, {"phone": "+33 1 23 45 67 89"})
        assert (paul.duplicate_of_id, paul.duplicate_keys, paul.phone_key) == (1, "phone", "0123456789")
        jean = session.get(Lead, 1)
        leads.update_lead(app, session, jean, {"notes": "called"})
        assert jean.duplicate_of_id is None      # the newer record is never the original


def _csv(tmp_path, text, name="leads.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_flags_every_key_against_leads_partners_and_earlier_rows(app, factory, tmp_path):
    partner = factory.partner(name="Radium SA", email="contact@radium.fr", siren=OTHER_SIREN)
    _entry(app, name="Existing", phone="0123456789", siren=SIREN)
    path = _csv(tmp_path, "name,company,email,phone,siren,website\n"
                          "A,,a@gmail.com,+33 1 23 45 67 89,,\n"          # phone of lead 1
                          "B,,b@gmail.com,,732 829 320,\n"                # SIREN of lead 1
                          "C,,c@gmail.com,,552100554,\n"                  # SIREN of the partner
                          "D,,d@radium.fr,,,\n"                           # the partner's domain
                          "E,Curie,e@gmail.com,,,www.curie.fr\n"          # new
                          "F,,f@curie.fr,,,\n"                            # domain of row E
                          "E,curie,other@gmail.com,06 00 00 00 01,,\n"    # company + name of row E
                          "G,,g@gmail.com,0600000001,,\n"                 # phone of the row before
                          "H,,h@yahoo.fr,,,\n")                           # free mail: no key in common
    result = import_leads(app, path)
    assert (result.created, result.duplicates) == (9, 7)
    with app.transaction() as session:
        rows = {lead.name + str(lead.id): (lead.duplicate_of_id, lead.duplicate_partner_id, lead.duplicate_keys)
                for lead in session.scalars(select(Lead).where(Lead.id > 1))}
    assert rows == {
        "A2": (1, None, "phone"), "B3": (1, None, "siren"), "C4": (None, partner.id, "siren"),
        "D5": (None, partner.id, "domain"), "E6": (None, None, None), "F7": (6, None, "domain"),
        "E8": (6, None, "company_name"), "G9": (8, None, "phone"), "H10": (None, None, None)}


def test_import_skip_and_update_act_on_the_person_not_on_the_company(app, tmp_path):
    _entry(app, name="Jean", email="jean@acme.fr", phone="0123456789")
    path = _csv(tmp_path, "name,email,phone\n"
                          "Jean Dupont,jean@gmail.com,+33 1 23 45 67 89\n"     # same phone: the same person
                          "Paul,paul@acme.fr,\n")                             # same domain: a colleague
    skipped = import_leads(app, path, duplicates="skip")
    assert (skipped.created, skipped.skipped, skipped.duplicates) == (1, 1, 2)
    path = _csv(tmp_path, "name,email,phone\n"
                          "Jean Dupont,jean@gmail.com,+33 1 23 45 67 89\n"   # same phone: lead 1 is updated
                          "Marie,marie@acme.fr,\n", "second.csv")            # same domain only: written
    updated = import_leads(app, path, duplicates="update")
    assert (updated.created, updated.updated, updated.duplicates) == (1, 1, 2)
    with app.transaction() as session:
        jean = session.get(Lead, 1)
        assert (jean.name, jean.email_key, jean.domain_key) == ("Jean Dupont", "jean@gmail.com", None)
        names = [(lead.name, lead.duplicate_keys) for lead in session.scalars(select(Lead).order_by(Lead.id))]
        assert names == [("Jean Dupont", None), ("Paul", "domain"), ("Marie", "domain")]
