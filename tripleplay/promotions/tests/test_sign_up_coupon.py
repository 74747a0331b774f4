"""A coupon typed at sign-up (issue #13, D220): its promotion goes on the new subscription it applies
to, in the sign-up's transaction; a refused coupon leaves nothing behind. Invoices with exact amounts,
as in test_scenarios (a postpaid customer invoiced monthly on the 1st, no tax)."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.audit.models import AuditEvent
from tripleplay.core.errors import Conflict, InvalidInput, NotFound
from tripleplay.customers.models import Account, AccountProduct
from tripleplay.invoicing.tests.conftest import at
from tripleplay.invoicing.tests.test_aligned_invoices import lines_by_month
from tripleplay.iptv.models import ProvisioningCommand
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.promotions.models import Coupon, CouponRedemption, PromotionGrant
from tripleplay.promotions.services import (
    create_coupon,
    create_promotion,
    set_coupon_active,
    sign_up_account,
)
from tripleplay.promotions.tests.test_scenarios import days

D = date


def new_customer(make_customer, day: date):
    at(day, hour=4)
    return make_customer("postpaid", credit_limit_minor=10_000_000, bill_cycle_day=1)


def test_a_coupon_at_sign_up_prices_the_first_three_months_at_half(actor, make_customer, promos):
    create_coupon(actor, code="WELCOME-50", promotion=promos.half, usage_limit=100)
    customer = new_customer(make_customer, D(2025, 1, 29))
    account = sign_up_account(actor, customer, main_plan=promos.aligned, addon_plans=[promos.sports_plan],
                              coupon_code=" welcome 50 ")
    tv = account.products.get(role="main")
    grant = PromotionGrant.objects.get()
    assert (grant.assignment, grant.source, grant.since, grant.promotion) == (tv, "coupon", D(2025, 1, 29), promos.half)
    assert CouponRedemption.objects.get().grant == grant and Coupon.objects.get().used == 1
    days(actor, D(2025, 1, 29), D(2025, 6, 1))
    half = "TV: subscription fee (Three months at half price)"
    tv_lines = {month: [line for line in lines if line[0].startswith("TV")]
                for month, lines in lines_by_month(customer).items()}
    # Jan 29 - 31 at the promotional price and outside the count (1500 x 3 / 31 = 145.16 -> 145), then
    # three whole months at 1500, then the plan's 3000.
    assert tv_lines == {
        D(2025, 1, 1): [("TV: activation fee 2025-01-29..2025-01-31", 1000, D(2025, 1, 29), D(2025, 2, 1)),
                        (f"{half} 2025-01-29..2025-01-31", 145, D(2025, 1, 29), D(2025, 2, 1))],
        D(2025, 2, 1): [(f"{half} 2025-02-01..2025-02-28", 1500, D(2025, 2, 1), D(2025, 3, 1))],
        D(2025, 3, 1): [(f"{half} 2025-03-01..2025-03-31", 1500, D(2025, 3, 1), D(2025, 4, 1))],
        D(2025, 4, 1): [(f"{half} 2025-04-01..2025-04-30", 1500, D(2025, 4, 1), D(2025, 5, 1))],
        D(2025, 5, 1): [("TV: subscription fee 2025-05-01..2025-05-31", 3000, D(2025, 5, 1), D(2025, 6, 1))],
    }
    # The add-on is not promoted: its anniversary periods from Jan 29 at 999 each, in advance.
    sports = [(line[0], line[1]) for lines in lines_by_month(customer).values() for line in lines
              if line[0].startswith("Sports")]
    assert sports == [("Sports: subscription fee 2025-01-29..2025-02-27", 999),
                      ("Sports: subscription fee 2025-02-28..2025-03-28", 999),
                      ("Sports: subscription fee 2025-03-29..2025-04-28", 999),
                      ("Sports: subscription fee 2025-04-29..2025-05-28", 999),
                      ("Sports: subscription fee 2025-05-29..2025-06-28", 999)]
    # June's TV fee is charged (in advance, Jun 1) and not yet invoiced.
    assert funds_of(customer).balance.minor == sum_of_entries(customer) == -(
        1000 + 145 + 3 * 1500 + 3000 + 3000 + 5 * 999)


def test_the_coupon_goes_on_the_add_on_it_is_for(actor, make_customer, promos):
    """A fixed price for two periods of the sports add-on: the sign-up's TV stays at its price."""
    sports_deal = create_promotion(actor, code="sports-499", name="Sports for 4.99", product=promos.sports,
                                   kind="price", periods=2, fixed_fee_minor=499)
    create_coupon(actor, code="SPORTS499", promotion=sports_deal)
    customer = new_customer(make_customer, D(2025, 1, 10))
    account = sign_up_account(actor, customer, main_plan=promos.anniversary, addon_plans=[promos.sports_plan],
                              coupon_code="sports499")
    assert PromotionGrant.objects.get().assignment == account.products.get(role="addon")
    days(actor, D(2025, 1, 10), D(2025, 4, 1))
    lines = [(line[0], line[1]) for month in lines_by_month(customer).values() for line in month]
    assert lines == [  # January's, February's and March's invoices
        ("Sports: subscription fee (Sports for 4.99) 2025-01-10..2025-02-09", 499),
        ("TV anniversary: activation fee 2025-01-10..2025-02-09", 1000),
        ("TV anniversary: subscription fee 2025-01-10..2025-02-09", 3000),
        ("Sports: subscription fee (Sports for 4.99) 2025-02-10..2025-03-09", 499),
        ("TV anniversary: subscription fee 2025-02-10..2025-03-09", 3000),
        ("Sports: subscription fee 2025-03-10..2025-04-09", 999),
        ("TV anniversary: subscription fee 2025-03-10..2025-04-09", 3000),
    ]


def test_no_code_or_a_blank_one_is_a_plain_sign_up(actor, make_customer, promos):
    customer = new_customer(make_customer, D(2025, 1, 10))
    sign_up_account(actor, customer, main_plan=promos.aligned, coupon_code=None)
    sign_up_account(actor, customer, main_plan=promos.aligned, coupon_code="  ")
    assert Account.objects.filter(customer=customer).count() == 2
    assert not PromotionGrant.objects.exists()


def _counts():
    return (Account.objects.count(), AccountProduct.objects.count(), PromotionGrant.objects.count(),
            CouponRedemption.objects.count(), list(Coupon.objects.order_by("code").values_list("code", "used")),
            ProvisioningCommand.objects.count(), AuditEvent.objects.count())


def test_a_refused_coupon_creates_nothing(actor, make_customer, promos):
    create_coupon(actor, code="ONCE", promotion=promos.half, usage_limit=1)
    create_coupon(actor, code="OLD", promotion=promos.half, expires_on=D(2025, 1, 9))
    create_coupon(actor, code="TRYSPORTS", promotion=promos.sports_trial)
    set_coupon_active(actor, create_coupon(actor, code="OFF", promotion=promos.half), False)
    retired = create_promotion(actor, code="gone", name="Gone", product=promos.tv, kind="price", periods=1,
                               fixed_fee_minor=0)
    create_coupon(actor, code="GONE", promotion=retired)
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    customer = new_customer(make_customer, D(2025, 1, 10))
    sign_up_account(actor, customer, main_plan=promos.aligned, coupon_code="once")  # spends ONCE
    other = make_customer("postpaid", credit_limit_minor=100_000)
    before = _counts()
    cases = [
        (other, "NOPE", NotFound, "coupon_not_found"),
        (other, "OLD", Conflict, "coupon_expired"),
        (other, "OFF", Conflict, "coupon_disabled"),
        (other, "ONCE", Conflict, "coupon_used_up"),
        (customer, "ONCE", Conflict, "coupon_already_used"),
        (other, "TRYSPORTS", Conflict, "promotion_not_applicable"),  # no sports in this sign-up
        (other, "GONE", Conflict, "promotion_retired"),
        (other, "no!", InvalidInput, "coupon_code_malformed"),
    ]
    for who, code, error, name in cases:
        with pytest.raises(error) as e:
            sign_up_account(actor, who, main_plan=promos.aligned, login=f"new-{code}", coupon_code=code)
        assert (e.value.code, e.value.details["field"]) == (name, "coupon_code"), code
        assert _counts() == before, code  # no account, no assignment, no command, no audit event


def test_a_trial_coupon_at_sign_up_makes_the_first_days_free(actor, make_customer, promos):
    create_coupon(actor, code="TRY14", promotion=promos.trial)
    customer = new_customer(make_customer, D(2025, 1, 10))
    sign_up_account(actor, customer, main_plan=promos.aligned, coupon_code="try14")
    days(actor, D(2025, 1, 10), D(2025, 2, 1))
    assert lines_by_month(customer)[D(2025, 1, 1)] == [
        ("TV: activation fee 2025-01-24..2025-01-31", 1000, D(2025, 1, 24), D(2025, 2, 1)),
        ("TV: subscription fee 2025-01-24..2025-01-31", 774, D(2025, 1, 24), D(2025, 2, 1)),
    ]
