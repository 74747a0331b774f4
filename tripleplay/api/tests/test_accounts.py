"""Accounts: sign-up with products, identifiers, status, product changes."""

import pytest

from tripleplay.api.tests.conftest import error_of, new_customer, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(finance, customer, api_catalog):
    r = finance.post("/accounts", {
        "customer_id": customer.pk, "login": "ada-tv", "device_id": "MAC-00-11", "phone_number": "+15550100",
        "main_plan_id": api_catalog["basic_plan"].pk,
        "addon_plan_ids": [api_catalog["sports_plan"].pk, api_catalog["movies_plan"].pk],
        "start_date": "2026-03-01",
    })
    assert r.status_code == 201, r.content
    return r.json()


def products_of(body) -> list[tuple]:
    return [(p["role"], p["product_code"], p["plan_code"], p["start_date"], p["end_date"]) for p in body["products"]]


def test_create_account_with_main_and_two_addons(account, customer):
    assert (account["customer_id"], account["login"], account["device_id"], account["phone_number"]) == (
        customer.pk, "ada-tv", "MAC-00-11", "15550100")
    assert (account["status"], account["created_at"], account["closed_at"]) == ("active", "2026-03-10T12:00:00Z", None)
    assert products_of(account) == [
        ("main", "tv-basic", "basic-monthly", "2026-03-01", None),
        ("addon", "sports", "sports-monthly", "2026-03-01", None),
        ("addon", "movies", "movies-monthly", "2026-03-01", None),
    ]


def test_remove_addon_and_change_main_product(finance, support, account, api_catalog):
    a = account["id"]
    sports = next(p for p in account["products"] if p["product_code"] == "sports")
    r = finance.delete(f"/accounts/{a}/addons/{sports['id']}", {"end_date": "2026-03-20"})
    assert r.status_code == 200, r.content
    ended = r.json()
    assert (ended["id"], ended["end_date"], ended["ended_at"], ended["end_reason"]) == (
        sports["id"], "2026-03-20", "2026-03-10T12:00:00Z", "removed")
    before = snapshot()
    r = finance.delete(f"/accounts/{a}/addons/{sports['id']}")
    assert r.status_code == 409
    assert error_of(r)["code"] == "already_ended"
    assert snapshot() == before

    r = finance.post(f"/accounts/{a}/main-product",
                     {"plan_id": api_catalog["premium_plan"].pk, "effective_date": "2026-04-01"})
    assert r.status_code == 201, r.content
    assert (r.json()["role"], r.json()["product_code"], r.json()["start_date"]) == ("main", "tv-premium", "2026-04-01")

    current = support.get(f"/accounts/{a}").json()
    assert products_of(current) == [
        ("main", "tv-premium", "premium-monthly", "2026-04-01", None),
        ("addon", "movies", "movies-monthly", "2026-03-01", None),
    ]
    history = support.get(f"/accounts/{a}/products").json()
    assert [(p["product_code"], p["start_date"], p["end_date"]) for p in history] == [
        ("tv-basic", "2026-03-01", "2026-04-01"),
        ("sports", "2026-03-01", "2026-03-20"),
        ("movies", "2026-03-01", None),
        ("tv-premium", "2026-04-01", None),
    ]
    r = finance.post(f"/accounts/{a}/main-product", {"plan_id": api_catalog["premium_plan"].pk})
    assert r.status_code == 409
    assert error_of(r)["code"] == "no_change"


def test_add_addon(finance, account, api_catalog):
    a = account["id"]
    sports = next(p for p in account["products"] if p["product_code"] == "sports")
    before = snapshot()
    r = finance.post(f"/accounts/{a}/addons", {"plan_id": api_catalog["sports_plan"].pk})
    assert r.status_code == 409
    assert error_of(r)["code"] == "duplicate"
    r = finance.post(f"/accounts/{a}/addons", {"plan_id": api_catalog["premium_plan"].pk})
    assert r.status_code == 422
    assert error_of(r)["code"] == "wrong_product_kind"
    assert snapshot() == before
    finance.delete(f"/accounts/{a}/addons/{sports['id']}")
    r = finance.post(f"/accounts/{a}/addons", {"plan_id": api_catalog["sports_plan"].pk})
    assert r.status_code == 201
    assert (r.json()["role"], r.json()["start_date"], r.json()["end_date"]) == ("addon", "2026-03-10", None)


def test_remove_addon_errors(finance, account):
    a = account["id"]
    main = next(p for p in account["products"] if p["role"] == "main")
    before = snapshot()
    r = finance.delete(f"/accounts/{a}/addons/{main['id']}")
    assert r.status_code == 404
    r = finance.delete(f"/accounts/{a}/addons/999999")
    assert r.status_code == 404
    addon = next(p for p in account["products"] if p["role"] == "addon")
    r = finance.delete(f"/accounts/{a}/addons/{addon['id']}", {"end_date": "2026-02-01"})
    assert r.status_code == 422
    r = finance.delete(f"/accounts/{a}/addons/{addon['id']}", {"end_date": "20260320"})
    assert r.status_code == 422
    assert error_of(r)["details"]["errors"][0]["location"] == "query"
    assert snapshot() == before


def test_duplicate_identifiers_are_409(finance, account, customer, api_catalog):
    other = new_customer("Other")
    before = snapshot()
    for field, value in [("login", "ada-tv"), ("device_id", "MAC-00-11"), ("phone_number", "15550100")]:
        r = finance.post("/accounts", {"customer_id": other.pk, field: value, "main_plan_id": api_catalog["basic_plan"].pk})
        assert r.status_code == 409, field
        err = error_of(r)
        assert (err["code"], err["details"]) == ("duplicate", {"field": field})
    second = finance.post("/accounts", {"customer_id": customer.pk, "login": "ada-2",
                                        "main_plan_id": api_catalog["basic_plan"].pk})
    assert second.status_code == 201
    before = snapshot()
    r = finance.patch(f"/accounts/{second.json()['id']}", {"login": "ada-tv"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "duplicate"
    assert snapshot() == before


def test_patch_identifiers(finance, account):
    r = finance.patch(f"/accounts/{account['id']}", {"device_id": "MAC-99", "phone_number": None})
    assert r.status_code == 200
    body = r.json()
    assert (body["login"], body["device_id"], body["phone_number"]) == ("ada-tv", "MAC-99", None)
    assert len(body["products"]) == 3
    before = snapshot()
    r = finance.patch(f"/accounts/{account['id']}", {"customer_id": 5})
    assert r.status_code == 422
    assert error_of(r)["details"]["errors"][0]["type"] == "extra_forbidden"
    r = finance.patch(f"/accounts/{account['id']}", {"phone_number": "call me"})
    assert r.status_code == 422
    assert snapshot() == before


@pytest.mark.parametrize("change, status, code", [
    ({"customer_id": 999999}, 404, "not_found"),
    ({"main_plan_id": 999999}, 404, "not_found"),
    ({"addon_plan_ids": [999999]}, 404, "not_found"),
    ({"main_plan_id": "1"}, 422, "invalid_input"),
    ({"start_date": "10/03/2026"}, 422, "invalid_input"),
    ({"start_date": 1773100800}, 422, "invalid_input"),
    ({"start_date": "2026-03-10T00:00:00"}, 422, "invalid_input"),
    ({"start_date": "2026-02-30"}, 422, "invalid_input"),
    ({"plan": 1}, 422, "invalid_input"),
])
def test_create_account_bad_input(finance, customer, api_catalog, change, status, code):
    before = snapshot()
    body = {"customer_id": customer.pk, "main_plan_id": api_catalog["basic_plan"].pk, **change}
    r = finance.post("/accounts", body)
    assert r.status_code == status, r.content
    assert error_of(r)["code"] == code
    assert snapshot() == before


def test_create_account_with_wrong_plans(finance, customer, api_catalog):
    before = snapshot()
    cases = [
        ({"main_plan_id": api_catalog["sports_plan"].pk}, 422, "wrong_product_kind"),
        ({"main_plan_id": api_catalog["euro_plan"].pk}, 422, "currency_mismatch"),
        ({"addon_plan_ids": [api_catalog["sports_plan"].pk, api_catalog["sports_plan"].pk]}, 422, "invalid_input"),
    ]
    for change, status, code in cases:
        r = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": api_catalog["basic_plan"].pk, **change})
        assert (r.status_code, error_of(r)["code"]) == (status, code)
    assert snapshot() == before


def test_account_status(finance, support, account):
    a = account["id"]
    r = finance.post(f"/accounts/{a}/status", {"status": "suspended", "reason": "unpaid"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["status_reason"]) == ("suspended", "unpaid")
    before = snapshot()
    r = finance.post(f"/accounts/{a}/status", {"status": "suspended", "reason": "again"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "status_transition_not_allowed"
    assert snapshot() == before
    r = finance.post(f"/accounts/{a}/status", {"status": "closed", "reason": "cancelled"})
    assert r.json()["products"] == []
    assert r.json()["closed_at"] == "2026-03-10T12:00:00Z"
    history = support.get(f"/accounts/{a}/status-history").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("", "active"), ("active", "suspended"), ("suspended", "closed")]
    before = snapshot()
    r = finance.patch(f"/accounts/{a}", {"login": "zombie"})
    assert r.status_code == 409
    assert error_of(r)["code"] == "account_closed"
    assert snapshot() == before


def test_closing_customer_closes_accounts(finance, support, account, customer):
    finance.post(f"/customers/{customer.pk}/status", {"status": "closed", "reason": "moved"})
    body = support.get(f"/accounts/{account['id']}").json()
    assert (body["status"], body["status_reason"]) == ("closed", "customer closed: moved")


def test_list_accounts_filters(finance, support, customer, api_catalog):
    plan = api_catalog["basic_plan"].pk
    other = new_customer("Other")
    ids = [finance.post("/accounts", {"customer_id": customer.pk, "login": f"ada-{i}", "main_plan_id": plan}).json()["id"]
           for i in range(3)]
    phone = finance.post("/accounts", {"customer_id": other.pk, "phone_number": "+4930123456", "main_plan_id": plan}).json()
    box = finance.post("/accounts", {"customer_id": other.pk, "device_id": "STB-XYZ", "main_plan_id": plan}).json()
    finance.post(f"/accounts/{ids[1]}/status", {"status": "blocked", "reason": "x"})

    def listed(**params):
        r = support.get("/accounts", params)
        assert r.status_code == 200
        return [a["id"] for a in r.json()["items"]]

    assert listed() == ids + [phone["id"], box["id"]]
    assert listed(customer_id=customer.pk) == ids
    assert listed(customer_id=other.pk) == [phone["id"], box["id"]]
    assert listed(status="blocked") == [ids[1]]
    assert listed(search="ada-") == ids
    assert listed(search="30123") == [phone["id"]]
    assert listed(search="stb-x") == [box["id"]]
    assert listed(limit=2, offset=1) == ids[1:3]
    assert support.get("/accounts", {"limit": 2}).json()["count"] == 5


def test_unknown_account_is_404(support, finance):
    before = snapshot()
    assert support.get("/accounts/999999").status_code == 404
    assert finance.post("/accounts/999999/status", {"status": "blocked", "reason": "x"}).status_code == 404
    assert finance.post("/accounts/999999/addons", {"plan_id": 1}).status_code == 404
    r = support.get("/accounts/999999/products")
    assert error_of(r)["code"] == "not_found"
    assert snapshot() == before
