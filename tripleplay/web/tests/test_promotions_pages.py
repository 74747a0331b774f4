"""The promotions pages: promotions and coupon codes created from their forms, retired and disabled,
and a promotion granted and a coupon redeemed on the customer page, with exact rows."""

from __future__ import annotations

from tripleplay.promotions.models import Coupon, Promotion, PromotionGrant


def test_promotions_coupons_and_grants_from_the_forms(world, login):
    client = login("finance")
    r = client.post("/promotions/new", {"code": "half-3", "name": "Three months at half price",
                                        "product_id": world.cat.tv_plan.product_id, "kind": "price", "periods": "3",
                                        "percent_off": "50"}, follow=True)
    assert "Promotion Three months at half price created." in r.content.decode()
    client.post("/promotions/new", {"code": "sports-try", "name": "A week of sports", "kind": "trial",
                                    "product_id": world.cat.sports_plan.product_id, "trial_days": "7", "reminder_days": "2"})
    half, trial = Promotion.objects.get(code="half-3"), Promotion.objects.get(code="sports-try")
    assert (half.kind, half.periods, half.percent_off, half.fixed_fee_minor) == ("price", 3, 50, None)
    assert (trial.trial_days, trial.reminder_days, trial.trial_converts) == (7, 2, False)  # box unticked
    page = client.get("/promotions/").content.decode()
    assert "50 % off for 3 periods" in page and "7 days free, then ends, reminder 2 days before" in page

    r = client.post("/promotions/coupons/new", {"code": "half 3", "promotion_id": half.pk, "usage_limit": "5",
                                                "expires_on": "2030-01-31"}, follow=True)
    assert "Coupon HALF3 created." in r.content.decode()
    coupon = Coupon.objects.get()
    assert (coupon.usage_limit, str(coupon.expires_on)) == (5, "2030-01-31")

    main = world.account.products.get(role="main")
    sports = world.account.products.get(role="addon")
    here = f"/customers/{world.customer.pk}/"
    page = client.get(here).content.decode()
    assert f'action="/accounts/{world.account.pk}/promotion"' in page
    r = client.post(f"/accounts/{world.account.pk}/coupon", {"assignment_id": main.pk, "code": "half-3",
                                                              "next": here}, follow=True)
    assert "Coupon accepted: Three months at half price on" in r.content.decode()
    r = client.post(f"/accounts/{world.account.pk}/promotion", {"assignment_id": sports.pk,
                                                                 "promotion_id": trial.pk, "next": here}, follow=True)
    body = r.content.decode()
    assert "A week of sports granted on" in body
    assert body.count('class="grant"') == 2
    assert sorted(PromotionGrant.objects.values_list("promotion__code", "source")) == [
        ("half-3", "coupon"), ("sports-try", "operator")]

    r = client.post(f"/promotions/coupons/{coupon.pk}/active", {"is_active": "0"}, follow=True)
    assert "Coupon HALF3 is disabled." in r.content.decode()
    r = client.post(f"/promotions/{half.pk}/active", {"is_active": "0"}, follow=True)
    assert "is retired" in r.content.decode()
    # A refusal is a message on the page, nothing written.
    r = client.post(f"/accounts/{world.account.pk}/coupon", {"assignment_id": main.pk, "code": "HALF3",
                                                              "next": here}, follow=True)
    assert "coupon &#x27;HALF3&#x27; is disabled" in r.content.decode()
    assert PromotionGrant.objects.count() == 2


def test_support_reads_but_does_not_create(world, login):
    client = login("support")
    assert client.get("/promotions/").status_code == 200
    assert client.get("/promotions/coupons/").status_code == 200
    assert "New promotion" not in client.get("/promotions/").content.decode()
    client.post("/promotions/new", {"code": "x", "name": "x", "product_id": world.cat.tv_plan.product_id, "kind": "trial",
                                    "trial_days": "7"})
    assert not Promotion.objects.exists()
