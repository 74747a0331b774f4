"""Catalog: products and plans."""

import pytest

from tripleplay.api.tests.conftest import error_of, snapshot

pytestmark = pytest.mark.django_db

PRODUCT = {"code": "tv-max", "name": "TV Max", "kind": "main", "currency": "EUR", "services": ["iptv", "ppv"],
           "description": "Everything"}


def test_create_and_get_product(admin, support):
    r = admin.post("/products", PRODUCT)
    assert r.status_code == 201, r.content
    body = r.json()
    pid = body.pop("id")
    assert body == {"code": "tv-max", "name": "TV Max", "description": "Everything", "kind": "main", "currency": "EUR",
                    "services": ["iptv", "ppv"], "status": "active", "self_service": False,
                    "created_at": "2026-03-10T12:00:00Z",
                    "retired_at": None, "plans": []}
    assert support.get(f"/products/{pid}").json() == {"id": pid, **body}


@pytest.mark.parametrize("change, status, code", [
    ({"currency": "XXY"}, 422, "unknown_currency"),
    ({"code": "Has Spaces"}, 422, "invalid_input"),
    ({"kind": "bundle"}, 422, "invalid_input"),
    ({"services": []}, 422, "invalid_input"),
    ({"services": ["telepathy"]}, 422, "invalid_input"),
    ({"price": 10}, 422, "invalid_input"),
])
def test_create_product_bad_input(admin, change, status, code):
    before = snapshot()
    r = admin.post("/products", {**PRODUCT, **change})
    assert (r.status_code, error_of(r)["code"]) == (status, code)
    assert snapshot() == before


def test_duplicate_product_code_is_409(admin, api_catalog):
    before = snapshot()
    r = admin.post("/products", {**PRODUCT, "code": "tv-basic"})
    assert r.status_code == 409
    assert error_of(r) == {"code": "duplicate", "message": "a product with code 'tv-basic' exists",
                           "details": {"field": "code"}}
    assert snapshot() == before


def test_patch_product(admin, api_catalog):
    pid = api_catalog["basic"].pk
    r = admin.patch(f"/products/{pid}", {"name": "Basic TV", "services": ["iptv"]})
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["services"], r.json()["description"]) == ("Basic TV", ["iptv"], "")
    before = snapshot()
    assert admin.patch(f"/products/{pid}", {"kind": "addon"}).status_code == 422
    assert admin.patch("/products/999999", {"name": "x"}).status_code == 404
    assert snapshot() == before


def test_list_products_filters(support, api_catalog):
    def codes(**params):
        r = support.get("/products", params)
        assert r.status_code == 200
        return [p["code"] for p in r.json()["items"]]

    assert codes() == ["movies", "sports", "tv-basic", "tv-euro", "tv-premium"]
    assert codes(kind="addon") == ["movies", "sports"]
    assert codes(service_type="data") == ["tv-basic"]
    assert codes(search="TV-") == ["tv-basic", "tv-euro", "tv-premium"]
    assert codes(limit=2, offset=1) == ["sports", "tv-basic"]
    assert support.get("/products", {"kind": "x"}).status_code == 422


def test_retire_and_delete(admin, finance, customer, api_catalog):
    premium = api_catalog["premium"].pk
    r = admin.post(f"/products/{premium}/retire")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["retired_at"]) == ("retired", "2026-03-10T12:00:00Z")
    assert [p["status"] for p in body["plans"]] == ["retired"]
    assert admin.post(f"/products/{premium}/retire").json() == body  # idempotent
    assert [p["code"] for p in admin.get("/products", {"status": "retired"}).json()["items"]] == ["tv-premium"]
    before = snapshot()
    r = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": api_catalog["premium_plan"].pk})
    assert r.status_code == 409
    assert error_of(r)["code"] == "plan_retired"
    r = admin.post("/plans", {"product_id": premium, "code": "late", "name": "Late", "periodic_fee_minor": 1})
    assert r.status_code == 409
    assert error_of(r)["code"] == "product_retired"
    assert snapshot() == before

    # never sold: deleted with its plans
    r = admin.delete(f"/products/{premium}")
    assert r.status_code == 204
    assert r.content == b""
    assert admin.get(f"/products/{premium}").status_code == 404
    assert admin.get(f"/plans/{api_catalog['premium_plan'].pk}").status_code == 404


def test_delete_product_in_use_is_409(admin, finance, customer, api_catalog):
    account = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": api_catalog["basic_plan"].pk}).json()
    finance.post(f"/accounts/{account['id']}/status", {"status": "closed", "reason": "gone"})  # sold long ago
    before = snapshot()
    r = admin.delete(f"/products/{api_catalog['basic'].pk}")
    assert r.status_code == 409
    assert error_of(r)["code"] == "product_in_use"
    assert snapshot() == before
    assert admin.delete("/products/999999").status_code == 404


PLAN = {"code": "basic-yearly", "name": "Basic yearly", "periodic_fee_minor": 999, "activation_fee_minor": 1500,
        "period": "weekly", "charge_mode": "in_arrears", "prorate_first_period": False, "minimum_term_periods": 12,
        "early_cancellation_fee_minor": 5000, "hold_fee_minor": 250,
        "allowances": [{"service_type": "data", "unit": "megabytes", "quantity": 10240}]}


def test_create_plan(admin, support, api_catalog):
    r = admin.post("/plans", {"product_id": api_catalog["basic"].pk, **PLAN})
    assert r.status_code == 201, r.content
    body = r.json()
    plan_id = body.pop("id")
    assert body == {
        "product_id": api_catalog["basic"].pk, "product_code": "tv-basic", "code": "basic-yearly", "name": "Basic yearly",
        "currency": "USD",
        "activation_fee": {"amount_minor": 1500, "amount": "15.00", "currency": "USD"},
        "periodic_fee": {"amount_minor": 999, "amount": "9.99", "currency": "USD"},
        "period": "weekly", "charge_mode": "in_arrears", "alignment": "anniversary", "prorate_first_period": False,
        "prorate_last_period": True, "minimum_term_periods": 12,
        "early_cancellation_fee": {"amount_minor": 5000, "amount": "50.00", "currency": "USD"},
        "hold_fee": {"amount_minor": 250, "amount": "2.50", "currency": "USD"},
        "allowances": [{"service_type": "data", "unit": "megabytes", "quantity": 10240}],
        "status": "active", "created_at": "2026-03-10T12:00:00Z", "retired_at": None,
    }
    assert support.get(f"/plans/{plan_id}").json() == {"id": plan_id, **body}
    product = support.get(f"/products/{api_catalog['basic'].pk}").json()
    assert [p["code"] for p in product["plans"]] == ["basic-monthly", "basic-yearly"]


@pytest.mark.parametrize("period", ["quarterly", "semiannual", "annual"])
def test_create_plan_with_a_long_period(admin, api_catalog, period):
    r = admin.post("/plans", {"product_id": api_catalog["basic"].pk, **PLAN, "code": f"basic-{period}",
                              "period": period, "minimum_term_periods": 4})
    assert r.status_code == 201, r.content
    assert (r.json()["period"], r.json()["minimum_term_periods"]) == (period, 4)


def test_create_plan_aligned_to_the_billing_period(admin, api_catalog):
    r = admin.post("/plans", {"product_id": api_catalog["basic"].pk, **PLAN, "code": "basic-aligned",
                              "period": "monthly", "alignment": "billing_period", "prorate_first_period": True})
    assert r.status_code == 201, r.content
    assert (r.json()["alignment"], r.json()["prorate_first_period"]) == ("billing_period", True)
    from tripleplay.catalog.models import SubscriptionPlan

    assert SubscriptionPlan.objects.get(code="basic-aligned").alignment == "billing_period"


@pytest.mark.parametrize("change, status", [
    ({"alignment": "calendar"}, 422),
    ({"alignment": None}, 422),
    ({"periodic_fee_minor": 9.99}, 422),
    ({"periodic_fee_minor": "999"}, 422),
    ({"periodic_fee_minor": -1}, 422),
    ({"prorate_first_period": "false"}, 422),
    ({"prorate_first_period": 0}, 422),
    ({"period": "yearly"}, 422),
    ({"allowances": [{"service_type": "data", "unit": "megabytes", "quantity": 0}]}, 422),
    ({"allowances": [{"service_type": "data", "unit": "megabytes", "quantity": 1, "extra": 1}]}, 422),
    ({"allowances": [{"service_type": "data", "unit": "megabytes", "quantity": 1}] * 2}, 422),
    ({"code": "basic-monthly"}, 409),
    ({"product_id": 999999}, 404),
])
def test_create_plan_bad_input(admin, api_catalog, change, status):
    before = snapshot()
    r = admin.post("/plans", {"product_id": api_catalog["basic"].pk, **PLAN, **change})
    assert r.status_code == status, r.content
    error_of(r)
    assert snapshot() == before


def test_rename_and_retire_plan(admin, finance, support, api_catalog):
    pid = api_catalog["basic_plan"].pk
    r = admin.patch(f"/plans/{pid}", {"name": "Basic (monthly)"})
    assert r.status_code == 200
    assert r.json()["name"] == "Basic (monthly)"
    before = snapshot()
    r = admin.patch(f"/plans/{pid}", {"name": "x", "periodic_fee_minor": 1})
    assert r.status_code == 422
    assert finance.patch(f"/plans/{pid}", {"name": "x"}).status_code == 403
    assert snapshot() == before
    r = admin.post(f"/plans/{pid}/retire")
    assert (r.status_code, r.json()["status"]) == (200, "retired")
    assert [p["id"] for p in support.get("/plans", {"status": "retired"}).json()["items"]] == [pid]
    assert [p["code"] for p in support.get("/plans", {"product_id": api_catalog["sports"].pk}).json()["items"]] == [
        "sports-monthly"]
