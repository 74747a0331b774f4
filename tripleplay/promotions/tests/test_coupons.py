"""Coupon codes: case-insensitive, once per customer, a usage limit, an expiry, disabled; and grants."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.core.errors import Conflict, InvalidInput, NotFound
from tripleplay.customers.services import create_account
from tripleplay.invoicing.tests.conftest import at
from tripleplay.promotions.models import Coupon, CouponRedemption, PromotionGrant
from tripleplay.promotions.services import (
    create_coupon,
    create_promotion,
    grant_promotion,
    redeem_coupon,
    set_coupon_active,
    set_promotion_active,
)

D = date


@pytest.fixture
def subscription(actor, make_customer, promos):
    def make(plan=None):
        customer = make_customer("postpaid", credit_limit_minor=100_000)
        account = create_account(actor, customer, main_plan=plan or promos.anniversary)
        return account.products.get(role="main")

    at(D(2025, 1, 10))
    return make


def code_of(e) -> str:
    return e.value.code


def test_a_code_is_typed_in_any_case_and_granted_once_per_customer(actor, promos, subscription):
    create_coupon(actor, code="half-tv 3", promotion=promos.half)
    first = subscription()
    grant = redeem_coupon(actor, first, " halftv3 ")
    assert (grant.promotion, grant.source, grant.since) == (promos.half, "coupon", D(2025, 1, 10))
    # The same customer's other subscription: the coupon is spent for this customer.
    other = create_account(actor, first.account.customer, main_plan=promos.aligned).products.get()
    with pytest.raises(Conflict) as e:
        redeem_coupon(actor, other, "HALFTV3")
    assert code_of(e) == "coupon_already_used"
    assert Coupon.objects.get().used == 1
    assert CouponRedemption.objects.count() == PromotionGrant.objects.count() == 1


def test_usage_limit_expiry_disabled_and_unknown(actor, promos, subscription):
    create_coupon(actor, code="TWO", promotion=promos.half, usage_limit=2)
    create_coupon(actor, code="OLD", promotion=promos.half, expires_on=D(2025, 1, 9))
    off = create_coupon(actor, code="OFF", promotion=promos.half)
    set_coupon_active(actor, off, False)
    redeem_coupon(actor, subscription(), "two")
    redeem_coupon(actor, subscription(), "two")
    for code, error in (("TWO", "coupon_used_up"), ("OLD", "coupon_expired"), ("OFF", "coupon_disabled")):
        with pytest.raises(Conflict) as e:
            redeem_coupon(actor, subscription(), code)
        assert code_of(e) == error
    with pytest.raises(NotFound) as e:
        redeem_coupon(actor, subscription(), "NOPE")
    assert code_of(e) == "coupon_not_found"
    with pytest.raises(InvalidInput):
        redeem_coupon(actor, subscription(), "?")
    assert Coupon.objects.get(code="TWO").used == 2
    assert PromotionGrant.objects.count() == 2


def test_expiry_day_itself_still_redeems(actor, promos, subscription):
    create_coupon(actor, code="LASTDAY", promotion=promos.half, expires_on=D(2025, 1, 10))
    assert redeem_coupon(actor, subscription(), "lastday").promotion == promos.half


def test_a_refused_grant_uses_nothing(actor, promos, subscription):
    create_coupon(actor, code="SPORTS", promotion=promos.sports_trial, usage_limit=1)
    with pytest.raises(Conflict) as e:  # a sports promotion on a TV subscription
        redeem_coupon(actor, subscription(), "sports")
    assert code_of(e) == "promotion_not_applicable"
    assert Coupon.objects.get().used == 0


def test_grant_rules(actor, promos, subscription):
    s = subscription()
    grant_promotion(actor, s, promos.half)
    with pytest.raises(Conflict) as e:
        grant_promotion(actor, s, promos.half)
    assert code_of(e) == "already_promoted"
    late = subscription()
    at(D(2025, 1, 11))
    with pytest.raises(Conflict) as e:
        grant_promotion(actor, late, promos.trial)
    assert code_of(e) == "trial_after_start"
    set_promotion_active(actor, promos.trial, False)
    with pytest.raises(Conflict) as e:
        grant_promotion(actor, subscription(), promos.trial)
    assert code_of(e) == "promotion_retired"
    only_aligned = create_promotion(actor, code="aligned-only", name="x", product=promos.tv, plan=promos.aligned,
                                    kind="price", periods=1, fixed_fee_minor=100)
    with pytest.raises(Conflict) as e:
        grant_promotion(actor, subscription(), only_aligned)
    assert code_of(e) == "promotion_not_applicable"
    assert grant_promotion(actor, subscription(promos.aligned), only_aligned).since == D(2025, 1, 11)


@pytest.mark.parametrize("fields, field", [
    (dict(kind="price", periods=3), "fixed_fee_minor"),
    (dict(kind="price", periods=3, fixed_fee_minor=100, percent_off=5), "fixed_fee_minor"),
    (dict(kind="price", periods=0, percent_off=5), "periods"),
    (dict(kind="price", periods=3, percent_off=101), "percent_off"),
    (dict(kind="trial", trial_days=0), "trial_days"),
    (dict(kind="trial", trial_days=7, reminder_days=7), "reminder_days"),
    (dict(kind="gift"), "kind"),
])
def test_promotion_terms_are_checked(actor, promos, fields, field):
    with pytest.raises(InvalidInput) as e:
        create_promotion(actor, code="bad", name="Bad", product=promos.tv, **fields)
    assert e.value.details["field"] == field
