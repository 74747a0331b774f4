"""Customers: sign-up, details, status, listing."""

import pytest

from tripleplay.api.tests.conftest import error_of, new_customer, snapshot

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Grace Hopper",
    "currency": "USD",
    "balance_model": "postpaid",
    "credit_limit_minor": 10000,
    "billing_period": "monthly",
    "bill_cycle_day": 15,
    "tax_rate": "20.5",
    "email": "grace@example.com",
    "phone": "+1 555 0100",
    "city": "Arlington",
    "country": "us",
}


def test_create_customer_returns_exact_fields(finance):
    r = finance.post("/customers", NEW)
    assert r.status_code == 201, r.content
    body = r.json()
    assert isinstance(body.pop("id"), int)
    assert body == {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "phone": "+15550100",  # stored in E.164
        "address_line1": "",
        "address_line2": "",
        "city": "Arlington",
        "postal_code": "",
        "country": "US",
        "currency": "USD",
        "balance_model": "postpaid",
        "credit_limit": {"amount_minor": 10000, "amount": "100.00", "currency": "USD"},
        "billing_period": "monthly",
        "bill_cycle_day": 15,
        "tax_rate": "20.5",
        "status": "active",
        "status_reason": "",
        "status_changed_at": "2026-03-10T12:00:00Z",
        "created_at": "2026-03-10T12:00:00Z",
        "closed_at": None,
        "external_id": None,
        "metadata": {},
    }


def test_create_customer_defaults(finance):
    r = finance.post("/customers", {"name": "Min", "currency": "JPY", "balance_model": "prepaid"})
    assert r.status_code == 201
    body = r.json()
    assert (body["billing_period"], body["bill_cycle_day"], body["tax_rate"]) == ("monthly", 1, "0")
    assert body["credit_limit"] == {"amount_minor": 0, "amount": "0", "currency": "JPY"}
    funds = finance.get(f"/customers/{body['id']}/funds").json()
    assert funds["balance"] == {"amount_minor": 0, "amount": "0", "currency": "JPY"}


@pytest.mark.parametrize("change, status, code, field", [
    ({"currency": "XXY"}, 422, "unknown_currency", None),
    ({"balance_model": "prepaid", "credit_limit_minor": 100}, 422, "invalid_input", None),
    ({"credit_limit_minor": 12.5}, 422, "invalid_input", "credit_limit_minor"),
    ({"credit_limit_minor": "1250"}, 422, "invalid_input", "credit_limit_minor"),
    ({"credit_limit_minor": True}, 422, "invalid_input", "credit_limit_minor"),
    ({"credit_limit_minor": -1}, 422, "invalid_input", "credit_limit_minor"),
    ({"tax_rate": 20.5}, 422, "invalid_input", "tax_rate"),
    ({"tax_rate": "101"}, 422, "invalid_input", None),
    ({"bill_cycle_day": 32}, 422, "invalid_input", None),
    ({"balance_model": "barter"}, 422, "invalid_input", "balance_model"),
    ({"billing_period": "quarterly"}, 422, "invalid_input", "billing_period"),  # a plan period only (D70)
    ({"email": "not-an-email"}, 422, "invalid_input", None),
    ({"phone": "0151 12345678"}, 422, "invalid_phone_number", None),  # not E.164 (D203)
    ({"phone": "+49 151 1234567890123"}, 422, "invalid_phone_number", None),
    ({"nmae": "typo"}, 422, "invalid_input", "nmae"),
    ({"name": "  "}, 422, "invalid_input", None),
])
def test_create_customer_bad_input_writes_nothing(finance, change, status, code, field):
    before = snapshot()
    r = finance.post("/customers", {**NEW, **change})
    assert r.status_code == status, r.content
    err = error_of(r)
    assert err["code"] == code
    if field:
        assert [e["field"] for e in err["details"]["errors"]] == [field]
        assert err["details"]["errors"][0]["location"] == "body"
    assert snapshot() == before


def test_a_phone_is_stored_normalized_and_a_bad_one_changes_nothing(finance):
    body = finance.post("/customers", {**NEW, "phone": "0049 151 1234-5678"}).json()
    assert body["phone"] == "+4915112345678"
    r = finance.patch(f"/customers/{body['id']}", {"phone": "0151 12345678"})
    assert (r.status_code, error_of(r)["code"], error_of(r)["details"]) == (422, "invalid_phone_number", {"field": "phone"})
    assert finance.get(f"/customers/{body['id']}").json()["phone"] == "+4915112345678"


def test_missing_required_fields_are_listed(finance):
    r = finance.post("/customers", {})
    assert r.status_code == 422
    errors = error_of(r)["details"]["errors"]
    assert sorted(e["field"] for e in errors) == ["balance_model", "currency", "name"]
    assert {e["type"] for e in errors} == {"missing"}


def test_get_unknown_customer_is_404(support):
    r = support.get("/customers/999999")
    assert r.status_code == 404
    assert error_of(r) == {"code": "not_found", "message": "customer 999999 does not exist", "details": {}}


def test_patch_customer(finance, customer):
    before_events = snapshot()["audit_events"]
    r = finance.patch(f"/customers/{customer.pk}", {"name": "Ada King", "tax_rate": "7.25", "credit_limit_minor": 9000})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["name"], body["tax_rate"], body["email"]) == ("Ada King", "7.25", "ada@example.com")
    assert body["credit_limit"]["amount_minor"] == 9000
    assert finance.get(f"/customers/{customer.pk}/funds").json()["available"]["amount_minor"] == 9000
    assert snapshot()["audit_events"] == before_events + 2  # customer.updated + funds.credit_limit_set


def test_patch_billing_cycle_refused_while_an_aligned_plan_runs(finance, admin, customer, api_catalog):
    """A plan aligned to the billing period counts its periods from the bill-cycle day (D94)."""
    plan = admin.post("/plans", {"product_id": api_catalog["basic"].pk, "code": "basic-aligned", "name": "Aligned",
                                 "periodic_fee_minor": 3100, "alignment": "billing_period"}).json()
    account = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": plan["id"]}).json()
    before = snapshot()
    r = finance.patch(f"/customers/{customer.pk}", {"bill_cycle_day": 15})
    assert r.status_code == 409
    assert (error_of(r)["code"], error_of(r)["details"]) == ("aligned_subscriptions", {"plans": ["basic-aligned"]})
    assert snapshot() == before
    assert finance.patch(f"/customers/{customer.pk}", {"bill_cycle_day": 1, "name": "Same day"}).status_code == 200
    r = finance.post(f"/accounts/{account['id']}/main-product", {"plan_id": api_catalog["basic_plan"].pk})
    assert r.status_code in (200, 201), r.content
    assert finance.patch(f"/customers/{customer.pk}", {"bill_cycle_day": 15}).json()["bill_cycle_day"] == 15


def test_patch_customer_currency_cannot_change(finance, customer):
    before = snapshot()
    r = finance.patch(f"/customers/{customer.pk}", {"currency": "EUR"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "currency_immutable"
    r = finance.patch(f"/customers/{customer.pk}", {"name": None})
    assert r.status_code == 422
    r = finance.patch(f"/customers/{customer.pk}", {"balance_model": "prepaid", "credit_limit_minor": 1})
    assert r.status_code == 422
    r = finance.patch("/customers/999999", {"name": "x"})
    assert r.status_code == 404
    assert snapshot() == before


def test_status_changes_and_history(finance, customer):
    r = finance.post(f"/customers/{customer.pk}/status", {"status": "blocked", "reason": "fraud check"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["status_reason"]) == ("blocked", "fraud check")
    r = finance.post(f"/customers/{customer.pk}/status", {"status": "active", "reason": "cleared"})
    assert r.json()["status"] == "active"
    history = finance.get(f"/customers/{customer.pk}/status-history").json()
    assert [(h["from_status"], h["to_status"], h["reason"], h["actor"]["name"]) for h in history] == [
        ("", "active", "signed up", "test-setup"),
        ("active", "blocked", "fraud check", "test-finance"),
        ("blocked", "active", "cleared", "test-finance"),
    ]


def test_status_transition_not_allowed(finance, customer):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/status", {"status": "active", "reason": "again"})
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "status_transition_not_allowed"
    assert err["details"] == {"from": "active", "to": "active"}
    assert snapshot() == before

    assert finance.post(f"/customers/{customer.pk}/status", {"status": "closed", "reason": "moved"}).status_code == 200
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/status", {"status": "active", "reason": "came back"})
    assert r.status_code == 409
    assert error_of(r)["details"] == {"from": "closed", "to": "active", "allowed": []}
    r = finance.post(f"/customers/{customer.pk}/status", {"status": "gone", "reason": "x"})
    assert r.status_code == 422
    r = finance.post(f"/customers/{customer.pk}/status", {"status": "blocked"})
    assert r.status_code == 422
    assert snapshot() == before


def test_closed_customer_cannot_be_edited(finance, customer):
    finance.post(f"/customers/{customer.pk}/status", {"status": "closed", "reason": "moved"})
    before = snapshot()
    r = finance.patch(f"/customers/{customer.pk}", {"name": "Zombie"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "customer_closed"
    assert snapshot() == before


def test_list_pagination_and_filters(support, db):
    ids = [new_customer(f"Customer {i:02d}", email=f"c{i}@example.com").pk for i in range(7)]
    blocked = new_customer("Blocked Bob", email="bob@blocked.example")
    from tripleplay.api.tests.conftest import SYSTEM
    from tripleplay.customers import services

    services.change_customer_status(SYSTEM, blocked, "blocked", reason="test")

    r = support.get("/customers", {"limit": 3, "offset": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 8
    assert [c["id"] for c in body["items"]] == ids[2:5]

    assert [c["id"] for c in support.get("/customers", {"status": "blocked"}).json()["items"]] == [blocked.pk]
    assert [c["id"] for c in support.get("/customers", {"status": "active", "limit": 500}).json()["items"]] == ids
    assert [c["id"] for c in support.get("/customers", {"search": "customer 0"}).json()["items"]] == ids
    assert [c["id"] for c in support.get("/customers", {"search": "C3@EXAMPLE"}).json()["items"]] == [ids[3]]
    assert [c["id"] for c in support.get("/customers", {"search": "BLOCKED.ex"}).json()["items"]] == [blocked.pk]
    assert support.get("/customers", {"search": "nobody"}).json() == {"items": [], "count": 0}


def test_list_search_matches_account_login(finance, support, customer, api_catalog):
    other = new_customer("Other")
    plan = api_catalog["basic_plan"].pk
    finance.post("/accounts", {"customer_id": customer.pk, "login": "stb-lovelace", "main_plan_id": plan})
    finance.post("/accounts", {"customer_id": other.pk, "login": "stb-other", "main_plan_id": plan})
    assert [c["id"] for c in support.get("/customers", {"search": "lovelace"}).json()["items"]] == [customer.pk]
    assert support.get("/customers", {"search": "stb-"}).json()["count"] == 2


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"offset": -1}, {"status": "gone"}, {"limit": "x"}])
def test_list_bad_query_is_422(support, params):
    r = support.get("/customers", params)
    assert r.status_code == 422
    assert error_of(r)["details"]["errors"][0]["location"] == "query"
