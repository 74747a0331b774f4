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
