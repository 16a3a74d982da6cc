"""The HTTP door itself: tokens, rights, problem details, the business-date header, the audit trail."""

from __future__ import annotations

import pytest

P = "/api/v1/partners/"
NEW = {"name": "Dupont SA", "email": "achats@dupont.fr", "city": "Lyon"}


def test_no_token_unknown_token_expired_and_revoked_are_401(api_server, crm):
    admin = api_server.client()
    assert admin.get(P).status == 200
    admin.post(P, json=NEW, expect=201)
    assert admin.get(P + "1", expect=200).json["name"] == "Dupont SA"
    for token in (None, "crm_not-a-token", "Basic abc"):
        response = admin.get(P, token=token)
        assert response.status == 401, response
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json["status"] == 401 and response.json["type"].endswith("/unauthenticated")
    token_id = crm("token", "list", "--json").json[0]["id"]
    crm("token", "revoke", str(token_id))
    assert "revoked" in admin.get(P).json["detail"]
    assert crm("token", "list", "--json").json[0]["state"] == "revoked"


def test_an_expired_token_is_401_and_tokens_are_their_users(api_server, crm, app):
    from sqlalchemy import update

    from core.api.models import ApiToken
    from core.db import utcnow

    crm("user", "add", "alice", "Alice", "--role", "sales")
    crm("user", "add", "bob", "Bob", "--role", "sales")
    alice = api_server.client("alice")
    assert alice.get(P).status == 200
    with app.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.prefix == alice.token[:12]).values(expires_at=utcnow()))
    expired = alice.get(P)
    assert expired.status == 401 and "expired" in expired.json["detail"]
    # the token is shown once: the list has its prefix and state, never the token or its hash
    listing = crm.as_user("alice")("token", "list", "--json")
    assert [(t["user"], t["state"], t["prefix"]) for t in listing.json] == [("alice", "expired", alice.token[:12])]
    assert alice.token not in listing.stdout
    bob_token = crm.as_user("bob")("token", "create", "mine", "--json").json
    assert crm.as_user("alice")("token", "revoke", str(bob_token["id"]), expect=1).stderr.startswith(
        "error: token")  # another's token is not found
    assert crm.as_user("alice")("token", "create", "x", "--user", "bob", expect=4).exit_code == 4  # core.users
    assert len(crm("token", "list", "--all", "--json").json) == 2
    assert crm("token", "create", "x", "--days", "400", expect=1).stderr.startswith("error: --days")


def test_a_missing_right_is_403_and_a_limited_token_has_only_its_rights(api_server, crm):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    alice = api_server.client("alice")
    assert alice.post(P, json=NEW).status == 201  # sales may add partners
    refused = alice.post("/api/v1/products/", json={"sku": "X1", "name": "X", "list_price": "1.00"})
    assert refused.status == 403, refused
    assert "core.product.write" in refused.json["detail"]
    reader = api_server.client("alice", rights=["core.read"])
    assert reader.get(P).status == 200
    assert reader.post(P, json=NEW | {"name": "Other", "email": "o@x.fr"}).status == 403
    # an admin's limited token loses the admin's blanket pass too
    limited_admin = api_server.client(rights=["core.read"])
    assert limited_admin.post(P, json={"name": "Third"}).status == 403
    # a token cannot hold more than its user
    refused = crm("token", "create", "x", "--user", "alice", "--right", "core.users", expect=1)
    assert "does not hold core.users" in refused.stderr


def test_refused_input_is_a_problem_naming_the_field_and_writes_nothing(api_server):
    admin = api_server.client()
    response = admin.post(P, json={"name": "Bad", "siren": "123"})
    assert response.status == 422
    assert response.json["errors"] == [{"record": "partner 'Bad'", "field": "siren",
                                        "message": response.json["errors"][0]["message"]}]
    assert "siren" in response.json["detail"]
    assert admin.post(P, data=b"not json", headers={"Content-Type": "application/json"}).status == 422
    assert admin.get(P).json == []
    assert admin.get("/api/v1/partners/999").status == 404
    assert admin.get("/api/v1/nowhere").status == 404
    assert admin.request("DELETE", P).status == 405
    bad_page = admin.get(P + "?page=0")
    assert bad_page.status == 422 and bad_page.json["errors"][0]["field"] == "page"


def test_the_business_date_header_is_for_admins_only(api_server, crm):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    admin, alice = api_server.client(), api_server.client("alice")
    assert admin.post(P, json=NEW, headers={"X-Crm-Today": "2027-01-15"}).status == 201
    assert alice.get(P, headers={"X-Crm-Today": "2027-01-15"}).status == 403
    bad = admin.get(P, headers={"X-Crm-Today": "tomorrow"})
    assert bad.status == 422 and "X-Crm-Today" in bad.json["detail"]
    trail = crm("audit", "--json").json
    created = [row for row in trail if row.get("record_type") == "core_partner" and row["action"] == "create"]
    assert created and created[0]["business_date"] == "2027-01-15"
    assert created[0]["command"].startswith("api POST /api/v1/partners/")


def test_every_write_is_in_the_audit_trail_as_its_user_through_the_api(api_server, crm):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    alice = api_server.client("alice")
    created = alice.post(P, json=NEW).json
    rows = [row for row in crm("audit", "--json").json
            if row.get("record_type") == "core_partner" and row.get("record_id") == str(created["id"])]
    assert rows and rows[0]["user"] == "alice"
    assert rows[0]["command"].startswith("api POST")
