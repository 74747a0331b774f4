"""Promotions, coupons and grants over REST (docs/api.md, docs/charging.md#promotions)."""

from __future__ import annotations

from tripleplay.api.tests.conftest import SYSTEM, error_of
from tripleplay.customers.services import create_account
from tripleplay.promotions.models import Coupon, PromotionGrant


def half_price(admin, api_catalog, **extra) -> dict:
    r = admin.post("/promotions", {"code": "half-3", "name": "Three months at half price",
                                   "product_id": api_catalog["basic"].pk, "kind": "price", "periods": 3,
                                   "percent_off": 50, **extra})
    assert r.status_code == 201, r.json()
    return r.json()


def test_promotion_and_coupon_crud(admin, support, api_catalog):
    promo = half_price(admin, api_catalog)
    assert {k: promo[k] for k in ("code", "kind", "periods", "percent_off", "fixed_fee_minor", "is_active")} == {
        "code": "half-3", "kind": "price", "periods": 3, "percent_off": 50, "fixed_fee_minor": None, "is_active": True}
    assert admin.get(f"/promotions/{promo['id']}").json()["name"] == "Three months at half price"
    assert [p["code"] for p in support.get("/promotions").json()["items"]] == ["half-3"]
    assert support.post("/promotions", {"code": "x", "name": "x", "product_id": api_catalog["basic"].pk,
                                        "kind": "trial", "trial_days": 7}).status_code == 403

    r = admin.post("/coupons", {"code": "Half-TV 3", "promotion_id": promo["id"], "usage_limit": 2,
                                "expires_on": "2026-03-31"})
    assert r.status_code == 201, r.json()
    coupon = r.json()
    assert (coupon["code"], coupon["usage_limit"], coupon["used"], coupon["expires_on"]) == (
        "HALFTV3", 2, 0, "2026-03-31")
    assert admin.post("/coupons", {"code": "halftv3", "promotion_id": promo["id"]}).status_code == 409
    r = admin.post(f"/coupons/{coupon['id']}/active", {"is_active": False})
    assert r.json()["is_active"] is False and not Coupon.objects.get().is_active
    r = admin.post(f"/promotions/{promo['id']}/active", {"is_active": False})
    assert r.json()["is_active"] is False


def test_terms_that_do_not_fit_the_kind(admin, api_catalog, db_snapshot):
    before = db_snapshot()
    r = admin.post("/promotions", {"code": "bad", "name": "Bad", "product_id": api_catalog["basic"].pk,
                                   "kind": "price", "periods": 3})
    assert r.status_code == 422
    assert (error_of(r)["code"], error_of(r)["details"]["field"]) == ("promotion_terms_invalid", "fixed_fee_minor")
    r = admin.post("/promotions", {"code": "bad", "name": "Bad", "product_id": api_catalog["basic"].pk,
                                   "plan_id": api_catalog["sports_plan"].pk, "kind": "trial", "trial_days": 7})
    assert error_of(r)["code"] == "promotion_terms_invalid"
    assert db_snapshot() == before


def test_grant_and_redeem_on_a_subscription(admin, support, api_catalog, customer):
    promo = half_price(admin, api_catalog)
    account = create_account(SYSTEM, customer, main_plan=api_catalog["basic_plan"], addon_plans=[api_catalog["sports_plan"]])
    main = account.products.get(role="main")
    sports = account.products.get(role="addon")
    r = admin.post(f"/accounts/{account.pk}/products/{main.pk}/promotion", {"promotion_id": promo["id"]})
    assert r.status_code == 201, r.json()
    assert {k: r.json()[k] for k in ("promotion_name", "assignment_id", "customer_id", "source", "since")} == {
        "promotion_name": "Three months at half price", "assignment_id": main.pk, "customer_id": customer.pk,
        "source": "operator", "since": "2026-03-10"}
    r = admin.post(f"/accounts/{account.pk}/products/{main.pk}/promotion", {"promotion_id": promo["id"]})
    assert (r.status_code, error_of(r)["code"]) == (409, "already_promoted")

    r = admin.post("/promotions", {"code": "sports-try", "name": "A week of sports", "kind": "trial",
                                   "product_id": api_catalog["sports"].pk, "trial_days": 7, "reminder_days": 2})
    admin.post("/coupons", {"code": "SPORTS7", "promotion_id": r.json()["id"], "usage_limit": 1})
    r = support.post(f"/accounts/{account.pk}/products/{sports.pk}/coupon", {"code": "sports-7"})
    assert r.status_code == 201, r.json()
    assert r.json()["source"] == "coupon"
    for code, status, error in (("sports7", 409, "coupon_already_used"), ("nope", 404, "coupon_not_found"),
                                ("-", 422, "coupon_code_malformed")):
        r = support.post(f"/accounts/{account.pk}/products/{sports.pk}/coupon", {"code": code})
        assert (r.status_code, error_of(r)["code"]) == (status, error)
    r = support.post(f"/accounts/{account.pk}/products/999999/coupon", {"code": "sports7"})
    assert r.status_code == 404
    grants = admin.get(f"/customers/{customer.pk}/promotion-grants").json()["items"]
    assert [(g["promotion_name"], g["source"]) for g in grants] == [("A week of sports", "coupon"),
                                                                    ("Three months at half price", "operator")]
    assert PromotionGrant.objects.count() == 2


def test_a_coupon_at_sign_up_is_granted_with_the_account_or_nothing_is_created(admin, api_catalog, customer,
                                                                               db_snapshot):
    from tripleplay import clock
    from tripleplay.promotions.models import CouponRedemption
    from tripleplay.subscriptions.services import charge_all

    promo = half_price(admin, api_catalog)
    admin.post("/coupons", {"code": "WELCOME50", "promotion_id": promo["id"], "usage_limit": 1})
    old = admin.post("/coupons", {"code": "OLD50", "promotion_id": promo["id"], "expires_on": "2026-03-09"})
    assert old.status_code == 201
    sign_up = {"customer_id": customer.pk, "login": "grace", "main_plan_id": api_catalog["premium_plan"].pk}
    before = db_snapshot()
    for code, status, error in (("nope", 404, "coupon_not_found"), ("old-50", 409, "coupon_expired"),
                                ("welcome50", 409, "promotion_not_applicable"),  # premium, not basic
                                ("?", 422, "coupon_code_malformed")):
        r = admin.post("/accounts", {**sign_up, "coupon_code": code})
        assert (r.status_code, error_of(r)["code"], error_of(r)["details"].get("field")) == (
            status, error, "coupon_code"), code
        assert db_snapshot() == before, code  # no account, no assignment, no audit event
    assert not PromotionGrant.objects.exists() and Coupon.objects.get(code="WELCOME50").used == 0

    r = admin.post("/accounts", {**sign_up, "main_plan_id": api_catalog["basic_plan"].pk,
                                 "addon_plan_ids": [api_catalog["sports_plan"].pk], "coupon_code": " Welcome-50 "})
    assert r.status_code == 201, r.json()
    main = next(p for p in r.json()["products"] if p["role"] == "main")
    grant = PromotionGrant.objects.get()
    assert (grant.assignment_id, grant.source, str(grant.since)) == (main["id"], "coupon", "2026-03-10")
    assert CouponRedemption.objects.get().customer == customer
    assert not charge_all(SYSTEM, clock.today()).failures
    fee = api_catalog["basic_plan"].periodic_fee_minor  # 1000
    fees = {e.data["plan"]: (e.amount_minor, e.data.get("promotion"))
            for e in customer.entries.filter(source="subscription")}
    assert fees == {"basic-monthly": (-fee // 2, "Three months at half price"),  # 1000 at half: 500
                    "sports-monthly": (-api_catalog["sports_plan"].periodic_fee_minor, None)}
    # The customer used the coupon: a second sign-up with it is refused, and creates nothing.
    again = admin.post("/accounts", {**sign_up, "login": "grace2", "main_plan_id": api_catalog["basic_plan"].pk,
                                     "coupon_code": "WELCOME50"})
    assert (again.status_code, error_of(again)["code"]) == (409, "coupon_already_used")
    assert customer.accounts.count() == 1
