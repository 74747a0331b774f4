"""API clients, /me and the audit trail."""

import pytest

from tripleplay.api.tests.conftest import Api, error_of, snapshot

pytestmark = pytest.mark.django_db


def test_create_api_client_shows_token_once(admin):
    r = admin.post("/api-clients", {"name": "iptv-platform", "role": "finance"})
    assert r.status_code == 201, r.content
    body = r.json()
    token = body.pop("token")
    assert token.startswith("tp_") and body["token_prefix"] == token[:10]
    assert (body["name"], body["role"], body["is_active"], body["last_used_at"]) == ("iptv-platform", "finance", True, None)
    listed = admin.get("/api-clients").json()
    assert [c["name"] for c in listed["items"]] == ["test-admin", "iptv-platform"]
    assert all("token" not in c for c in listed["items"])
    assert Api(token).get("/me").json() == {"kind": "api_client", "name": "iptv-platform", "role": "finance"}

    r = admin.post(f"/api-clients/{body['id']}/revoke")
    assert (r.status_code, r.json()["is_active"]) == (200, False)
    assert Api(token).get("/me").status_code == 401


def test_api_client_bad_input(admin):
    before = snapshot()
    assert admin.post("/api-clients", {"name": "x", "role": "god"}).status_code == 422
    r = admin.post("/api-clients", {"name": "test-admin", "role": "support"})
    assert (r.status_code, error_of(r)["code"]) == (409, "duplicate")
    assert admin.post("/api-clients/999999/revoke").status_code == 404
    assert snapshot() == before


def test_audit_trail(finance, support, customer):
    finance.post(f"/customers/{customer.pk}/status", {"status": "blocked", "reason": "check"})
    finance.post(f"/customers/{customer.pk}/payments", {"amount_minor": 100}, key="p")
    r = support.get("/audit", {"object_type": "customer", "object_id": str(customer.pk)})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(e["action"], e["actor"]["name"]) for e in items] == [
        ("customer.status_changed", "test-finance"), ("customer.created", "test-setup")]
    assert items[0]["data"] == {"from": "active", "to": "blocked", "reason": "check"}
    r = support.get("/audit", {"action": "ledger.payment"})
    assert r.json()["count"] == 1
    assert r.json()["items"][0]["data"]["amount_minor"] == 100
    # api_client.created x2 (finance, support fixtures), customer.created, status change, payment; newest first
    page = support.get("/audit", {"limit": 1}).json()
    assert page["count"] == 5
    assert [e["action"] for e in page["items"]] == ["ledger.payment"]
