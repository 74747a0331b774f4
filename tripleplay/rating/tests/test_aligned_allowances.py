"""Included allowances on a plan aligned to the billing period (D222): they turn on the bill-cycle day,
as the fee's periods do, and the partial first period (sign-up to the bill-cycle day) grants its days'
share. Per-record rating and the bulk path give the same xDRs and allowance rows.

A postpaid customer billed monthly on the 1st signs up on Mar 29 2026 for a voice plan aligned to it
with 10 free minutes (600 s) a month; calls at the default rate of the rating conftest (0.10/min, 60/60).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from tripleplay import clock
from tripleplay.catalog.models import SubscriptionPlan
from tripleplay.customers.models import AccountProduct
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.models import AllowanceUsage, Xdr
from tripleplay.rating.services import allowance_left, create_rate_table, ingest, set_rate

from .conftest import call

PHONE = "15550009"
D = date


@pytest.fixture
def aligned(db, actor, make_customer):
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.customers.services import create_account

    clock.freeze(datetime(2026, 3, 29, 9, 0, tzinfo=UTC))
    voice = create_product(actor, code="voice-a", name="Voice", kind="main", currency="USD", services=["voice"])
    plan = create_plan(actor, voice, code="voice-aligned", name="Voice aligned", periodic_fee_minor=0,
                       alignment="billing_period",
                       allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 10}])
    table = create_rate_table(actor, voice, service_type="voice", name="Voice rates")
    set_rate(actor, table, prefix="", price_per_unit_micros=100_000, first_increment=60, next_increment=60)
    customer = make_customer("postpaid", credit_limit_minor=100_000, bill_cycle_day=1)
    account = create_account(actor, customer, main_plan=plan, phone_number=PHONE)
    clock.freeze(datetime(2026, 5, 2, 9, 0, tzinfo=UTC))
    return account


CALLS = [
    call("mar30", caller=PHONE, seconds=120, at="2026-03-30T12:00:00Z"),  # 58 s free of the partial period's
    call("apr01", caller=PHONE, seconds=600, at="2026-04-01T12:00:00Z"),  # a fresh 600 s on the 1st: all free
    call("apr29", caller=PHONE, seconds=61, at="2026-04-29T12:00:00Z"),  # the anniversary: nothing new
    call("may01", caller=PHONE, seconds=61, at="2026-05-01T12:00:00Z"),  # the 1st again: free
]


def outcome() -> dict:
    return {
        "xdrs": sorted(Xdr.objects.values_list("external_id", "billed_quantity", "allowance_used", "cost_minor")),
        "usage": sorted(AllowanceUsage.objects.values_list("period_index", "period_start", "period_end", "granted",
                                                           "used")),
    }


EXPECTED = {
    # 62 s charged of the 120 billed: 62 x 0.10 / 60 = 0.103 -> 10; 120 s at 0.10/min: 20.
    "xdrs": [("apr01", 600, 600, 0), ("apr29", 120, 0, 20), ("mar30", 120, 58, 10), ("may01", 120, 120, 0)],
    "usage": [(0, D(2026, 3, 29), D(2026, 4, 1), 58, 58),  # 600 x 3 / 31 = 58.06 -> 58 s
              (1, D(2026, 4, 1), D(2026, 5, 1), 600, 600),
              (2, D(2026, 5, 1), D(2026, 6, 1), 600, 120)],
}


def test_per_record_rating_counts_allowances_on_the_bill_cycle(aligned, actor):
    results = ingest(actor, CALLS)
    assert [r.status for r in results] == ["rated"] * 4
    assert outcome() == EXPECTED
    subs = list(AccountProduct.objects.filter(account=aligned).select_related("plan"))
    assert allowance_left(subs, "voice", D(2026, 4, 30)) == 0
    assert allowance_left(subs, "voice", D(2026, 5, 1)) == 480
    assert allowance_left(subs, "voice", D(2026, 6, 1)) == 600  # no row yet: the whole quantity


class Rollback(Exception):
    pass


def test_the_bulk_path_counts_them_the_same_way(aligned, actor):
    try:
        with transaction.atomic():
            ingest(actor, CALLS)
            expected = outcome()
            raise Rollback
    except Rollback:
        pass
    assert expected == EXPECTED and not Xdr.objects.exists()
    rate_bulk(actor, CALLS, source="sw", chunk_size=2)
    assert outcome() == EXPECTED


def test_without_first_period_proration_the_partial_period_grants_the_whole_quantity(aligned, actor):
    SubscriptionPlan.objects.filter(code="voice-aligned").update(prorate_first_period=False)
    ingest(actor, CALLS[:1])
    assert list(AllowanceUsage.objects.values_list("period_index", "granted", "used")) == [(0, 600, 120)]
