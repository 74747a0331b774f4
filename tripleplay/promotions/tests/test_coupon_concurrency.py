"""Parallel redemptions of one coupon: the usage limit and the one-use-per-customer rule hold.
Real threads, one connection each, committed transactions (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict
from tripleplay.customers.services import create_account
from tripleplay.ledger.tests.test_concurrency import run_concurrently
from tripleplay.promotions.models import Coupon, CouponRedemption, PromotionGrant
from tripleplay.promotions.services import create_coupon, redeem_coupon

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("coupon-race")


def test_fifty_customers_racing_for_ten_uses(make_customer, promos):
    clock.freeze(datetime(2025, 1, 10, 12, tzinfo=UTC))
    create_coupon(ACTOR, code="TEN", promotion=promos.half, usage_limit=10)
    subs = [create_account(ACTOR, make_customer("postpaid"), main_plan=promos.anniversary).products.get()
            for _ in range(50)]

    results = run_concurrently(lambda i: redeem_coupon(ACTOR, subs[i], "ten"), 50)

    ok = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "error"]
    assert len(ok) == 10 and len(refused) == 40
    assert all(isinstance(e, Conflict) and e.code == "coupon_used_up" for e in refused), refused
    assert Coupon.objects.get().used == 10
    assert PromotionGrant.objects.count() == CouponRedemption.objects.count() == 10


def test_one_customer_racing_itself_redeems_once(make_customer, promos):
    clock.freeze(datetime(2025, 1, 10, 12, tzinfo=UTC))
    create_coupon(ACTOR, code="ONCE", promotion=promos.half)
    customer = make_customer("postpaid")
    subs = [create_account(ACTOR, customer, main_plan=promos.anniversary).products.get() for _ in range(8)]

    results = run_concurrently(lambda i: redeem_coupon(ACTOR, subs[i], "once"), 8)

    assert [kind for kind, _ in results].count("ok") == 1
    assert all(e.code == "coupon_already_used" for kind, e in results if kind == "error"), results
    assert Coupon.objects.get().used == 1
    assert CouponRedemption.objects.count() == 1
