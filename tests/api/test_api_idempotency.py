"""A retried POST with the same Idempotency-Key creates once and answers the first response again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.testing import sample_siren

ORDER = {"customer": "Dupont SA", "lines": [{"sku": "WID", "quantity": "2"}], "confirm": True}
pytestmark = pytest.mark.modules("billing")


@pytest.fixture
def admin(api_server):
    admin = api_server.client()
    admin.post("/api/v1/products/", json={"sku": "WID", "name": "Widget", "list_price": "10.00"}, expect=201)
    admin.post("/api/v1/partners/", json={"name": "Dupont SA", "email": "a@dupont.fr", "street": "3 quai Rambaud",
                                          "postal_code": "69002", "city": "Lyon", "siren": sample_siren(7)}, expect=201)
    return admin


def test_a_retried_post_creates_once(admin, crm):
    key = {"Idempotency-Key": "order-4711"}
    first = admin.post("/api/v1/orders/", json=ORDER, headers=key, expect=201)
    again = admin.post("/api/v1/orders/", json=ORDER, headers=key, expect=201)
    assert again.json == first.json and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(admin.get("/api/v1/orders/").json) == 1
    assert len(crm("invoice", "list", "--json").json) == 1  # the confirmation's invoice too
    # the same key for another request is refused; without a key every POST creates
    other = admin.post("/api/v1/orders/", json=ORDER | {"note": "more"}, headers=key)
    assert other.status == 422 and "Idempotency-Key" in other.json["detail"]
    admin.post("/api/v1/orders/", json=ORDER, expect=201)
    assert len(admin.get("/api/v1/orders/").json) == 2


def test_a_failed_request_keeps_no_key_and_keys_are_per_user(admin, api_server, crm):
    key = {"Idempotency-Key": "k1"}
    refused = admin.post("/api/v1/orders/", json=ORDER | {"customer": "Nobody"}, headers=key)
    assert refused.status == 404  # no such customer
    assert admin.post("/api/v1/orders/", json=ORDER, headers=key, expect=201).json["state"] == "confirmed"
    crm("user", "add", "alice", "Alice", "--role", "sales")
    alice = api_server.client("alice")
    mine = alice.post("/api/v1/orders/", json=ORDER, headers=key, expect=201)  # alice's own key k1
    assert "idempotent-replayed" not in mine.headers
    assert len(admin.get("/api/v1/orders/").json) == 2
    assert admin.post("/api/v1/orders/", json=ORDER, headers={"Idempotency-Key": " "}).status == 422


def test_concurrent_retries_with_one_key_create_once(admin):
    key = {"Idempotency-Key": "burst"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: admin.post("/api/v1/orders/", json=ORDER, headers=key), range(8)))
    assert {a.status for a in answers} <= {201, 409}
    created = {a.json["id"] for a in answers if a.status == 201}
    assert len(created) == 1
    assert len(admin.get("/api/v1/orders/").json) == 1
    assert admin.post("/api/v1/orders/", json=ORDER, headers=key, expect=201).json["id"] in created
