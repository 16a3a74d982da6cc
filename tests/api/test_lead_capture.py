"""Lead capture from websites: a real ``crm serve`` process, its public form door and its refusals."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from core.api.testing import ApiClient, ApiServer

pytestmark = pytest.mark.modules("funnel")
KEY = "kq2V8-contact-9fZ"
URL = f"/api/v1/forms/{KEY}"
SITE = "https://www.example.fr"
FORMS = f"""
[funnel.forms.contact]
key = "{KEY}"
owner = "alice"
origins = ["{SITE}"]
fields = {{name = "nom", email = "courriel", notes = "message"}}
honeypot = "url2"
rate_limit = 3
rate_window = 86400
max_body = 1024
max_field = 300

[funnel.forms.plain]
key = "plain-form-key-0000001"
team = "Paris"
redirect = "https://www.example.fr/merci"
"""


@pytest.fixture
def site(workspace, crm, app_today):
    """The workspace with two forms, alice (who owns the contact form's leads) and team Paris (the other's), served."""
    crm("user", "add", "alice", "Alice", "--role", "sales", "--email", "alice@entonnoir.test")
    crm("user", "add", "bruno", "Bruno", "--role", "sales", "--email", "bruno@entonnoir.test")
    crm("team", "add", "Paris", "--member", "bruno")
    with open(workspace.config_path, "a", encoding="utf-8") as config:
        config.write(FORMS)
    server = ApiServer(workspace.config_path, crm, app_today)
    yield ApiClient(server.port, None)
    log = server.stop()
    assert "Traceback" not in log, log[-4000:]


def _post(site, fields, *, origin=SITE, url=URL):
    return site.post(url, json=fields, headers={"Origin": origin} if origin else {})


def _leads(crm):
    return crm("lead", "list", "--json").json


def test_a_post_becomes_a_lead_of_the_owner_who_is_told(site, crm):
    sent = _post(site, {"nom": "Jeanne Martin", "courriel": "jeanne@martin.fr", "message": "40 chairs?", "url2": ""})
    assert sent.status == 201, sent
    assert sent.json == {"status": "received"}
    assert sent.headers["access-control-allow-origin"] == SITE
    [lead] = _leads(crm)
    assert (lead["name"], lead["email"], lead["owner"], lead["source"]) == \
        ("Jeanne Martin", "jeanne@martin.fr", "alice", "web form contact")
    assert crm("lead", "show", str(lead["id"]), "--json").json["notes"] == "40 chairs?"
    [note] = [n for n in crm("notifications", "list", "--json").json if n["related"] == f"funnel_lead:{lead['id']}"]
    assert note["recipients"] == ["alice@entonnoir.test"] and "Jeanne Martin" in note["subject"]
    trail = crm("audit", "--json").json
    assert any(row["user"] == "form:contact" and (row["command"] or "").startswith("web form contact")
               for row in trail), trail[:3]


def test_spam_an_unknown_key_and_another_origin_are_refused(site, crm):
    spam = _post(site, {"nom": "Bot", "courriel": "bot@spam.example", "url2": "http://buy.example"})
    assert spam.status == 422 and "spam" in spam.json["detail"]
    unknown = _post(site, {"nom": "X"}, url="/api/v1/forms/no-such-key-000000")
    assert unknown.status == 404 and unknown.headers["content-type"] == "application/problem+json"
    elsewhere = _post(site, {"nom": "X"}, origin="https://evil.example")
    assert elsewhere.status == 403 and "access-control-allow-origin" not in elsewhere.headers
    assert _leads(crm) == []
    # a browser's preflight is answered for the form's origins only
    allowed = site.request("OPTIONS", URL, headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert allowed.status == 204 and allowed.headers["access-control-allow-origin"] == SITE
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert site.request("OPTIONS", URL, headers={"Origin": "https://evil.example"}).status == 403


def test_a_flood_from_one_address_is_429_with_retry_after(site, crm):
    for number in range(3):
        assert _post(site, {"nom": f"Visitor {number}"}).status == 201
    flood = _post(site, {"nom": "Visitor 4"})
    assert flood.status == 429, flood
    assert 0 < int(flood.headers["retry-after"]) <= 86400
    assert "more than 3 posts" in flood.json["detail"]
    assert len(_leads(crm)) == 3
    # the other form counts its own posts
    assert _post(site, {"name": "Paul"}, url="/api/v1/forms/plain-form-key-0000001", origin=None).status == 201


def test_an_oversized_body_or_field_is_413_and_writes_nothing(site, crm):
    big = _post(site, {"nom": "Big", "message": "x" * 2000})
    assert big.status == 413 and "1024 bytes" in big.json["detail"], big
    long_field = _post(site, {"nom": "Long", "message": "y" * 400})
    assert long_field.status == 413 and "message" in long_field.json["detail"]
    assert _leads(crm) == []


def test_a_duplicate_is_flagged_against_the_existing_lead(site, crm):
    crm("lead", "add", "Jeanne Martin", "--email", "jeanne@martin.fr", "--company", "Martin SARL")
    assert _post(site, {"nom": "J. Martin", "courriel": "Jeanne@Martin.fr"}).status == 201
    first, second = sorted(_leads(crm), key=lambda lead: lead["id"])
    assert second["duplicate_of"] == first["id"] and "email" in second["duplicate_keys"]
    [note] = [n for n in crm("notifications", "list", "--json").json if n["related"] == f"funnel_lead:{second['id']}"]
    assert note["recipients"] == ["alice@entonnoir.test"]


def test_an_html_form_post_is_sent_on_to_the_thank_you_page(site, crm):
    posted = site.request("POST", "/api/v1/forms/plain-form-key-0000001",
                          data=urlencode({"name": "Léa Petit", "email": "lea@petit.fr", "hp": ""}).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert posted.status == 303 and posted.headers["location"] == "https://www.example.fr/merci"
    [lead] = _leads(crm)
    assert (lead["name"], lead["email"]) == ("Léa Petit", "lea@petit.fr")
    oversized = site.request("POST", "/api/v1/forms/plain-form-key-0000001",
                             data=urlencode({"name": "Big", "notes": "z" * 17000}).encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert oversized.status == 413
    [note] = [n for n in crm("notifications", "list", "--json").json if n["related"] == f"funnel_lead:{lead['id']}"]
    assert note["recipients"] == ["bruno@entonnoir.test"]


def test_form_list_shows_the_forms_and_their_problems(workspace, crm):
    with open(workspace.config_path, "a", encoding="utf-8") as config:
        config.write(FORMS)
    rows = crm("form", "list", "--json").json
    assert [(r["name"], r["url"], r["owner"], r["team"]) for r in rows] == [
        ("contact", URL, "alice", None), ("plain", "/api/v1/forms/plain-form-key-0000001", None, "Paris")]
    assert rows[0]["problems"] == ["owner alice: no such user"] and rows[1]["problems"] == ["team Paris: no such team"]
    crm("user", "add", "alice", "Alice", "--role", "sales")
    assert crm("form", "list", "--json").json[0]["problems"] == []
    assert "contact" in crm("form", "list").stdout
    with open(workspace.config_path, "a", encoding="utf-8") as config:
        config.write('\n[funnel.forms.bad]\nkey = "short"\n')
    assert "key" in crm("form", "list", expect=1).stderr  # a key under 16 characters is refused at load
