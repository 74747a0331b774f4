"""Vacation holds spanning a bill date (issue #13, D151-D156), Kill Bill style: a frozen clock moved
day by day (holds started and ended at 00:30 by the "vacation-holds" job, the charge at 06:00, the
invoice run at 08:00), exact amounts on the dated lines of each month's invoice.

A postpaid customer invoiced monthly on the 1st (no tax), with two accounts: TV, 31.00 a month in
advance, and Internet, 31.00 a month in arrears; both plans have a hold fee of 6.20 a month. On
Jan 10 the customer's accounts are put on hold from Jan 20 to Feb 10 (service resumes Feb 10): the
hold spans the bill date Feb 1. The held days cost the hold fee instead of the fee, both prorated by
days of the whole period and rounded once each (subscriptions/holds.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at
from tripleplay.ledger.selectors import funds_of, sum_of_entries

D = date


@pytest.fixture
def plans(db, actor):
    from tripleplay.catalog.services import create_plan, create_product

    tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    net = create_product(actor, code="net", name="Internet", kind="main", currency="USD", services=["data"])

    def plan(product, code, name, **terms):
        return create_plan(actor, product, code=code, name=name, periodic_fee_minor=3100, hold_fee_minor=620, **terms)

    return {
        "billing_period": (plan(tv, "tv-aligned", "TV", alignment="billing_period"),
                           plan(net, "net-aligned", "Internet", alignment="billing_period", charge_mode="in_arrears")),
        "anniversary": (plan(tv, "tv-anniversary", "TV"),
                        plan(net, "net-anniversary", "Internet", charge_mode="in_arrears")),
    }


def days(actor, first: date, last: date, on_day=None):
    from tripleplay.customers.vacation import run_holds
    from tripleplay.subscriptions.services import charge_all

    day = first
    while day <= last:
        at(day, hour=0)
        run_holds(actor, day)
        if on_day:
            at(day, hour=5)
            on_day(day)
        at(day, hour=6)
        assert not charge_all(actor, day).failures
        at(day, hour=8)
        assert not run_invoices(actor, day).failures
        day += timedelta(days=1)


def lines_by_month(customer) -> dict[date, list[tuple]]:
    return {inv.period_start: sorted((ln.description, ln.amount_minor, ln.period_start, ln.period_end)
                                     for ln in inv.lines.filter(section="subscriptions"))
            for inv in Invoice.objects.filter(customer=customer)}


def signed_up(actor, make_customer, tv_plan, net_plan, day: date):
    from tripleplay.customers.services import create_account

    at(day, hour=4)
    customer = make_customer("postpaid", credit_limit_minor=10_000_000, bill_cycle_day=1)
    tv = create_account(actor, customer, main_plan=tv_plan, start_date=day, login="tv")
    net = create_account(actor, customer, main_plan=net_plan, start_date=day, login="net")
    return customer, tv, net


def hold_both(actor, tv, net, start: date, end: date):
    from tripleplay.customers.vacation import schedule_hold

    return [schedule_hold(actor, a, start_date=start, end_date=end, reason="vacation") for a in (tv, net)]


def test_hold_spanning_a_bill_date_on_plans_aligned_to_the_billing_period(actor, make_customer, plans):
    customer, tv, net = signed_up(actor, make_customer, *plans["billing_period"], D(2025, 1, 1))

    def customer_asks(day):
        if day == D(2025, 1, 10):
            hold_both(actor, tv, net, D(2025, 1, 20), D(2025, 2, 10))

    days(actor, D(2025, 1, 1), D(2025, 3, 1), customer_asks)
    by_month = lines_by_month(customer)
    assert sorted(by_month) == [D(2025, 1, 1), D(2025, 2, 1)]
    # January: TV's fee was charged whole on Jan 1, before the hold was made: January now costs
    # 3100 x 19 / 31 = 1900 for the days of service and 620 x 12 / 31 = 240 for Jan 20 - 31 on hold,
    # 2140; the difference, 960, comes back on January's last day. Internet, in arrears, is charged
    # on Jan 31 what January costs with its hold: 2140.
    assert by_month[D(2025, 1, 1)] == [
        ("Internet: subscription fee 2025-01-01..2025-01-31, 12 days on vacation hold", 2140,
         D(2025, 1, 1), D(2025, 2, 1)),
        ("TV: subscription fee 2025-01-01..2025-01-31", 3100, D(2025, 1, 1), D(2025, 2, 1)),
        ("TV: vacation hold: fee of the held days back 2025-01-20..2025-01-31 (12 days held)", -960,
         D(2025, 1, 20), D(2025, 2, 1)),
    ]
    # February: the hold is known when TV's February is charged (Feb 1): 3100 x 19 / 28 = 2103.57 ->
    # 2104, and 620 x 9 / 28 = 199.29 -> 199 for Feb 1 - 9 on hold: 2303. Internet the same on Feb 28.
    assert by_month[D(2025, 2, 1)] == [
        ("Internet: subscription fee 2025-02-01..2025-02-28, 9 days on vacation hold", 2303,
         D(2025, 2, 1), D(2025, 3, 1)),
        ("TV: subscription fee 2025-02-01..2025-02-28, 9 days on vacation hold", 2303, D(2025, 2, 1), D(2025, 3, 1)),
    ]
    # March 1 (TV charged whole again) is on March's invoice, not issued yet.
    assert funds_of(customer).balance.minor == sum_of_entries(customer) == -(2140 + 3100 - 960 + 2303 * 2 + 3100)


def test_hold_spanning_a_bill_date_on_anniversary_plans(actor, make_customer, plans):
    """Signed up Jan 15: periods Jan 15 - Feb 14 (31 days) and Feb 15 - Mar 14 (28 days). A hold from
    Feb 1 to Feb 22, asked on Jan 20, spans the bill date Feb 1 and the anniversary Feb 15."""
    customer, tv, net = signed_up(actor, make_customer, *plans["anniversary"], D(2025, 1, 15))

    def customer_asks(day):
        if day == D(2025, 1, 20):
            hold_both(actor, tv, net, D(2025, 2, 1), D(2025, 2, 22))

    days(actor, D(2025, 1, 15), D(2025, 3, 15), customer_asks)
    by_month = lines_by_month(customer)
    assert sorted(by_month) == [D(2025, 1, 1), D(2025, 2, 1)]
    assert by_month[D(2025, 1, 1)] == [
        ("TV: subscription fee 2025-01-15..2025-02-14", 3100, D(2025, 1, 15), D(2025, 2, 15)),
    ]
    # Period 0 with Feb 1 - 14 on hold: 3100 x 17 / 31 = 1700 + 620 x 14 / 31 = 280 = 1980. TV paid 3100
    # on Jan 15: 1120 back on Feb 14, the period's last day. Internet, in arrears, pays 1980 that day.
    # Period 1 with Feb 15 - 21 on hold: 3100 x 21 / 28 = 2325 + 620 x 7 / 28 = 155 = 2480, TV on Feb 15
    # (in advance, the hold known); Internet's is due Mar 14, on March's invoice.
    assert by_month[D(2025, 2, 1)] == [
        ("Internet: subscription fee 2025-01-15..2025-02-14, 14 days on vacation hold", 1980,
         D(2025, 1, 15), D(2025, 2, 15)),
        ("TV: subscription fee 2025-02-15..2025-03-14, 7 days on vacation hold", 2480, D(2025, 2, 15), D(2025, 3, 15)),
        ("TV: vacation hold: fee of the held days back 2025-02-01..2025-02-14 (14 days held)", -1120,
         D(2025, 2, 1), D(2025, 2, 15)),
    ]
    assert sum_of_entries(customer) == -(3100 + 1980 + 2480 - 1120 + 2480 + 3100)  # + Mar 14 and Mar 15


def test_hold_ended_early_by_the_operator_charges_the_days_not_held(actor, make_customer, plans):
    from tripleplay.customers.vacation import end_hold

    customer, tv, net = signed_up(actor, make_customer, *plans["billing_period"], D(2025, 1, 1))
    held = {}

    def people(day):
        if day == D(2025, 1, 10):
            held["tv"], held["net"] = hold_both(actor, tv, net, D(2025, 1, 20), D(2025, 2, 10))
        if day == D(2025, 2, 5):  # back early: service resumes today
            for h in held.values():
                end_hold(actor, h, reason="back early")

    days(actor, D(2025, 1, 1), D(2025, 3, 1), people)
    # February was charged on Feb 1 for 9 held days (2303); only Feb 1 - 4 were held: 3100 x 24 / 28 =
    # 2657.14 -> 2657 + 620 x 4 / 28 = 88.57 -> 89 = 2746. TV pays the 443 more on Feb 28; Internet,
    # in arrears, is charged 2746 that day.
    assert lines_by_month(customer)[D(2025, 2, 1)] == [
        ("Internet: subscription fee 2025-02-01..2025-02-28, 4 days on vacation hold", 2746,
         D(2025, 2, 1), D(2025, 3, 1)),
        ("TV: subscription fee 2025-02-01..2025-02-28, 9 days on vacation hold", 2303, D(2025, 2, 1), D(2025, 3, 1)),
        ("TV: vacation hold: fee of the days not held after all 2025-02-01..2025-02-04 (4 days held)", 443,
         D(2025, 2, 1), D(2025, 2, 5)),
    ]
