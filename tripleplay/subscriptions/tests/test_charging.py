"""Recurring charges, Kill Bill style: dated scenarios on a frozen clock, exact amounts (minor units).

Every ``charge()`` below runs the charge twice and checks that the second run writes nothing, and that
the balance equals the sum of the customer's entries."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from tripleplay import clock
from tripleplay.customers.models import Status
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.subscriptions.models import SubscriptionCharge
from tripleplay.subscriptions.selectors import due_items
from tripleplay.subscriptions.services import INSUFFICIENT_FUNDS, charge_all

_codes = itertools.count(1)


def at(day: date) -> None:
    clock.freeze(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))


def charge(actor, day: date, *customers):
    """Run the charge on ``day`` (the clock moved there) twice: the rerun must write nothing."""
    at(day)
    report = charge_all(actor, day)
    assert not report.failures, report.failures
    before = LedgerEntry.objects.count()
    again = charge_all(actor, day)
    assert again.entries == 0 and LedgerEntry.objects.count() == before
    for c in customers:
        assert funds_of(c).balance.minor == sum_of_entries(c)
    return report


def rows(assignment) -> list[tuple]:
    """(kind, period index, signed effect on the balance, period start, period end) of an assignment."""
    return [(r.kind, r.period_index, r.entry.amount_minor, r.period_start, r.period_end)
            for r in SubscriptionCharge.objects.filter(assignment=assignment).select_related("entry")
            .order_by("due_date", "id")]


@pytest.fixture
def make_plan(db, actor):
    from tripleplay.catalog.services import create_plan, create_product

    def make(kind="addon", services=("iptv",), **terms):
        n = next(_codes)
        product = create_product(actor, code=f"p{n}", name=f"Product {n}", kind=kind, currency="USD",
                                 services=list(services))
        terms.setdefault("periodic_fee_minor", 0)
        return create_plan(actor, product, code=f"plan{n}", name=f"Plan {n}", **terms)

    return make


@pytest.fixture
def postpaid(make_customer):
    return make_customer("postpaid", credit_limit_minor=10_000_000)


def subscribe(actor, make_plan, customer, start: date, end: date | None, **terms):
    """An account on a free main product, with the plan under test as an add-on [start, end)."""
    from tripleplay.customers.services import add_addon, create_account, remove_addon

    at(start)
    account = create_account(actor, customer, main_plan=make_plan(kind="main", services=("data",)), start_date=start)
    assignment = add_addon(actor, account, make_plan(**terms), start_date=start)
    if end is not None:
        remove_addon(actor, account, assignment.pk, end_date=end)
    return assignment


D = date
ADV, ARR, DAY = "in_advance", "in_arrears", "daily"

# (id, plan terms, start, end, charge through, expected [(kind, n, signed amount, period start, period end)])
CASES = [
    # Aligned to the customer's billing period (monthly on the 1st, D92): Jan 28 - 31 is 4 of 31 days.
    ("aligned-advance", dict(periodic_fee_minor=3100, alignment="billing_period"), D(2025, 1, 28), None,
     D(2025, 2, 1), [
        ("periodic", 0, -400, D(2025, 1, 28), D(2025, 2, 1)),
        ("periodic", 1, -3100, D(2025, 2, 1), D(2025, 3, 1))]),
    ("aligned-arrears-ended", dict(periodic_fee_minor=3100, alignment="billing_period", charge_mode=ARR),
     D(2025, 1, 28), D(2025, 2, 15), D(2025, 3, 1), [
        ("periodic", 0, -400, D(2025, 1, 28), D(2025, 2, 1)),
        ("periodic", 1, -1550, D(2025, 2, 1), D(2025, 2, 15))]),  # 14 of 28 days, due Feb 14
    ("advance-monthly", dict(periodic_fee_minor=3000, activation_fee_minor=1000), D(2025, 1, 10), None, D(2025, 3, 10), [
        ("activation", 0, -1000, D(2025, 1, 10), D(2025, 2, 10)),
        ("periodic", 0, -3000, D(2025, 1, 10), D(2025, 2, 10)),
        ("periodic", 1, -3000, D(2025, 2, 10), D(2025, 3, 10)),
        ("periodic", 2, -3000, D(2025, 3, 10), D(2025, 4, 10))]),
    ("advance-monthly-day-before", dict(periodic_fee_minor=3000), D(2025, 1, 10), None, D(2025, 3, 9), [
        ("periodic", 0, -3000, D(2025, 1, 10), D(2025, 2, 10)),
        ("periodic", 1, -3000, D(2025, 2, 10), D(2025, 3, 10))]),
    # Anniversary billing: the first period is whole whatever prorate_first_period says.
    ("advance-first-period-whole", dict(periodic_fee_minor=3000, prorate_first_period=True), D(2025, 1, 17), None,
     D(2025, 1, 17), [("periodic", 0, -3000, D(2025, 1, 17), D(2025, 2, 17))]),
    ("advance-first-period-flag-off", dict(periodic_fee_minor=3000, prorate_first_period=False), D(2025, 1, 17), None,
     D(2025, 1, 17), [("periodic", 0, -3000, D(2025, 1, 17), D(2025, 2, 17))]),
    # Ended before its last period started: that period costs its used days only (10 of 28).
    ("advance-last-prorated", dict(periodic_fee_minor=2800), D(2025, 1, 1), D(2025, 2, 11), D(2025, 2, 20), [
        ("periodic", 0, -2800, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -1000, D(2025, 2, 1), D(2025, 2, 11))]),
    ("advance-last-not-prorated", dict(periodic_fee_minor=2800, prorate_last_period=False), D(2025, 1, 1),
     D(2025, 2, 11), D(2025, 2, 20), [
        ("periodic", 0, -2800, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -2800, D(2025, 2, 1), D(2025, 2, 11))]),
    # In arrears: due on the period's last day of service (D93), Jan 31 for January, not before.
    ("arrears-not-yet", dict(periodic_fee_minor=3100, charge_mode=ARR), D(2025, 1, 1), None, D(2025, 1, 30), []),
    ("arrears-last-day", dict(periodic_fee_minor=3100, charge_mode=ARR), D(2025, 1, 1), None, D(2025, 1, 31), [
        ("periodic", 0, -3100, D(2025, 1, 1), D(2025, 2, 1))]),
    ("arrears-monthly", dict(periodic_fee_minor=3100, charge_mode=ARR), D(2025, 1, 1), None, D(2025, 3, 1), [
        ("periodic", 0, -3100, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -3100, D(2025, 2, 1), D(2025, 3, 1))]),
    ("arrears-last-prorated", dict(periodic_fee_minor=3100, charge_mode=ARR), D(2025, 1, 1), D(2025, 3, 11),
     D(2025, 3, 11), [
        ("periodic", 0, -3100, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -3100, D(2025, 2, 1), D(2025, 3, 1)),
        ("periodic", 2, -1000, D(2025, 3, 1), D(2025, 3, 11))]),  # 10 of 31 days
    ("arrears-last-not-prorated", dict(periodic_fee_minor=3100, charge_mode=ARR, prorate_last_period=False),
     D(2025, 1, 1), D(2025, 1, 11), D(2025, 3, 1), [("periodic", 0, -3100, D(2025, 1, 1), D(2025, 1, 11))]),
    # Daily (progressive): fee x 1 / days in the day's period, rounded once per day (half-up).
    ("daily-april-may", dict(periodic_fee_minor=3000, charge_mode=DAY), D(2025, 4, 29), None, D(2025, 5, 1), [
        ("daily", 0, -100, D(2025, 4, 29), D(2025, 4, 30)),  # period Apr 29 - May 29: 30 days
        ("daily", 1, -100, D(2025, 4, 30), D(2025, 5, 1)),
        ("daily", 2, -100, D(2025, 5, 1), D(2025, 5, 2))]),
    ("daily-half-up", dict(periodic_fee_minor=15, charge_mode=DAY), D(2025, 4, 1), None, D(2025, 4, 2), [
        ("daily", 0, -1, D(2025, 4, 1), D(2025, 4, 2)),  # 0.5 cent -> 1
        ("daily", 1, -1, D(2025, 4, 2), D(2025, 4, 3))]),
    ("daily-semimonthly-ends", dict(periodic_fee_minor=1000, charge_mode=DAY, period="semimonthly"), D(2025, 2, 14),
     D(2025, 3, 2), D(2025, 3, 31), [
        *[("daily", i, -67, D(2025, 2, 14 + i), D(2025, 2, 15 + i)) for i in range(14)],  # Feb 14 - Mar 1: 15 days
        ("daily", 14, -67, D(2025, 2, 28), D(2025, 3, 1)),
        ("daily", 15, -77, D(2025, 3, 1), D(2025, 3, 2))]),  # Mar 1 - Mar 14: 13 days; 1000 / 13 = 76.9
    ("weekly-advance", dict(periodic_fee_minor=700, period="weekly"), D(2025, 1, 1), D(2025, 1, 18), D(2025, 1, 20), [
        ("periodic", 0, -700, D(2025, 1, 1), D(2025, 1, 8)),
        ("periodic", 1, -700, D(2025, 1, 8), D(2025, 1, 15)),
        ("periodic", 2, -300, D(2025, 1, 15), D(2025, 1, 18))]),  # 3 of 7 days
    ("semimonthly-advance-31st", dict(periodic_fee_minor=1000, period="semimonthly"), D(2025, 1, 31), None,
     D(2025, 3, 31), [
        ("periodic", 0, -1000, D(2025, 1, 31), D(2025, 2, 15)),
        ("periodic", 1, -1000, D(2025, 2, 15), D(2025, 2, 28)),
        ("periodic", 2, -1000, D(2025, 2, 28), D(2025, 3, 15)),
        ("periodic", 3, -1000, D(2025, 3, 15), D(2025, 3, 31)),
        ("periodic", 4, -1000, D(2025, 3, 31), D(2025, 4, 15))]),
    ("semimonthly-arrears-ends", dict(periodic_fee_minor=1000, period="semimonthly", charge_mode=ARR), D(2025, 1, 31),
     D(2025, 3, 5), D(2025, 3, 31), [
        ("periodic", 0, -1000, D(2025, 1, 31), D(2025, 2, 15)),
        ("periodic", 1, -1000, D(2025, 2, 15), D(2025, 2, 28)),
        ("periodic", 2, -333, D(2025, 2, 28), D(2025, 3, 5))]),  # 5 of 15 days
    # Anniversaries on the 29th, 30th and 31st: in advance, the period starts clamp in February and
    # come back (never chained from the short month).
    ("advance-31st-nonleap", dict(periodic_fee_minor=3000), D(2025, 1, 31), None, D(2025, 4, 30), [
        ("periodic", 0, -3000, D(2025, 1, 31), D(2025, 2, 28)),
        ("periodic", 1, -3000, D(2025, 2, 28), D(2025, 3, 31)),
        ("periodic", 2, -3000, D(2025, 3, 31), D(2025, 4, 30)),
        ("periodic", 3, -3000, D(2025, 4, 30), D(2025, 5, 31))]),
    ("advance-30th-leap", dict(periodic_fee_minor=3000), D(2024, 1, 30), None, D(2024, 3, 30), [
        ("periodic", 0, -3000, D(2024, 1, 30), D(2024, 2, 29)),
        ("periodic", 1, -3000, D(2024, 2, 29), D(2024, 3, 30)),
        ("periodic", 2, -3000, D(2024, 3, 30), D(2024, 4, 30))]),
    ("advance-29th-leap-cut", dict(periodic_fee_minor=2900), D(2024, 1, 29), D(2024, 3, 9), D(2024, 3, 9), [
        ("periodic", 0, -2900, D(2024, 1, 29), D(2024, 2, 29)),
        ("periodic", 1, -900, D(2024, 2, 29), D(2024, 3, 9))]),  # 9 of 29 days (Feb 29 - Mar 29)
    # ... and in arrears, the last period prorated by the days of a February-shaped period: 15 used days.
    ("arrears-29th-nonleap", dict(periodic_fee_minor=2800, charge_mode=ARR), D(2025, 1, 29), D(2025, 2, 13),
     D(2025, 2, 13), [("periodic", 0, -1400, D(2025, 1, 29), D(2025, 2, 13))]),  # 15 / 30
    ("arrears-29th-leap", dict(periodic_fee_minor=2800, charge_mode=ARR), D(2024, 1, 29), D(2024, 2, 13),
     D(2024, 2, 13), [("periodic", 0, -1355, D(2024, 1, 29), D(2024, 2, 13))]),  # 15 / 31 = 1354.84
    ("arrears-30th-nonleap", dict(periodic_fee_minor=2800, charge_mode=ARR), D(2025, 1, 30), D(2025, 2, 14),
     D(2025, 2, 14), [("periodic", 0, -1448, D(2025, 1, 30), D(2025, 2, 14))]),  # 15 / 29 = 1448.28
    ("arrears-30th-leap", dict(periodic_fee_minor=2800, charge_mode=ARR), D(2024, 1, 30), D(2024, 2, 14),
     D(2024, 2, 14), [("periodic", 0, -1400, D(2024, 1, 30), D(2024, 2, 14))]),  # 15 / 30
    ("arrears-31st-nonleap", dict(periodic_fee_minor=2800, charge_mode=ARR), D(2025, 1, 31), D(2025, 2, 15),
     D(2025, 2, 15), [("periodic", 0, -1500, D(2025, 1, 31), D(2025, 2, 15))]),  # 15 / 28
    ("arrears-31st-leap", dict(periodic_fee_minor=2800, charge_mode=ARR), D(2024, 1, 31), D(2024, 2, 15),
     D(2024, 2, 15), [("periodic", 0, -1448, D(2024, 1, 31), D(2024, 2, 15))]),  # 15 / 29
    # Minimum term of 12 months: ending before Jan 1 2026 costs the early-cancellation fee, once.
    ("early-cancellation", dict(periodic_fee_minor=1000, minimum_term_periods=12, early_cancellation_fee_minor=5000),
     D(2025, 1, 1), D(2025, 3, 1), D(2025, 3, 1), [
        ("periodic", 0, -1000, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -1000, D(2025, 2, 1), D(2025, 3, 1)),
        ("early_cancellation", 0, -5000, D(2025, 3, 1), D(2026, 1, 1))]),
    ("early-cancellation-not-before-end", dict(periodic_fee_minor=1000, minimum_term_periods=12,
                                               early_cancellation_fee_minor=5000),
     D(2025, 1, 1), D(2025, 3, 1), D(2025, 2, 28), [
        ("periodic", 0, -1000, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -1000, D(2025, 2, 1), D(2025, 3, 1))]),
    ("minimum-term-served", dict(periodic_fee_minor=1000, minimum_term_periods=2, early_cancellation_fee_minor=5000),
     D(2025, 1, 1), D(2025, 3, 1), D(2025, 3, 1), [
        ("periodic", 0, -1000, D(2025, 1, 1), D(2025, 2, 1)),
        ("periodic", 1, -1000, D(2025, 2, 1), D(2025, 3, 1))]),
    ("ended-the-day-it-started", dict(periodic_fee_minor=1000, activation_fee_minor=500), D(2025, 1, 1), D(2025, 1, 1),
     D(2025, 2, 1), []),
    # Quarterly, semi-annual and annual plans (D70): the same rules on periods of 3, 6 and 12 months,
    # anchored on the start, prorated by the days of the actual period.
    ("quarterly-advance-31st", dict(periodic_fee_minor=9000, period="quarterly"), D(2025, 1, 31), None,
     D(2026, 1, 31), [
        ("periodic", 0, -9000, D(2025, 1, 31), D(2025, 4, 30)),  # clamped in April, back to the 31st in July
        ("periodic", 1, -9000, D(2025, 4, 30), D(2025, 7, 31)),
        ("periodic", 2, -9000, D(2025, 7, 31), D(2025, 10, 31)),
        ("periodic", 3, -9000, D(2025, 10, 31), D(2026, 1, 31)),
        ("periodic", 4, -9000, D(2026, 1, 31), D(2026, 4, 30))]),
    ("quarterly-advance-last-prorated", dict(periodic_fee_minor=9000, period="quarterly"), D(2025, 1, 1),
     D(2025, 5, 11), D(2025, 5, 11), [
        ("periodic", 0, -9000, D(2025, 1, 1), D(2025, 4, 1)),
        ("periodic", 1, -3956, D(2025, 4, 1), D(2025, 5, 11))]),  # 40 of 91 days: 3956.04
    ("quarterly-arrears-not-yet", dict(periodic_fee_minor=9000, period="quarterly", charge_mode=ARR), D(2025, 1, 1),
     None, D(2025, 3, 30), []),
    ("quarterly-arrears", dict(periodic_fee_minor=9000, period="quarterly", charge_mode=ARR), D(2025, 1, 1), None,
     D(2025, 7, 1), [
        ("periodic", 0, -9000, D(2025, 1, 1), D(2025, 4, 1)),
        ("periodic", 1, -9000, D(2025, 4, 1), D(2025, 7, 1))]),
    ("quarterly-arrears-cut-leap", dict(periodic_fee_minor=9100, period="quarterly", charge_mode=ARR),
     D(2024, 1, 1), D(2024, 2, 15), D(2024, 2, 15), [
        ("periodic", 0, -4500, D(2024, 1, 1), D(2024, 2, 15))]),  # 45 of 91 days (Jan 1 - Apr 1 2024)
    ("semiannual-advance-31st", dict(periodic_fee_minor=18000, period="semiannual"), D(2025, 8, 31), None,
     D(2026, 3, 1), [
        ("periodic", 0, -18000, D(2025, 8, 31), D(2026, 2, 28)),
        ("periodic", 1, -18000, D(2026, 2, 28), D(2026, 8, 31))]),
    ("semiannual-arrears-cut", dict(periodic_fee_minor=18100, period="semiannual", charge_mode=ARR), D(2025, 1, 1),
     D(2025, 4, 1), D(2025, 4, 1), [
        ("periodic", 0, -9000, D(2025, 1, 1), D(2025, 4, 1))]),  # 90 of 181 days
    ("annual-advance-leap-day", dict(periodic_fee_minor=36500, period="annual"), D(2024, 2, 29), None,
     D(2025, 2, 28), [
        ("periodic", 0, -36500, D(2024, 2, 29), D(2025, 2, 28)),
        ("periodic", 1, -36500, D(2025, 2, 28), D(2026, 2, 28))]),
    ("annual-advance-last-prorated-leap", dict(periodic_fee_minor=36600, period="annual"), D(2024, 1, 1),
     D(2024, 3, 1), D(2024, 3, 1), [
        ("periodic", 0, -6000, D(2024, 1, 1), D(2024, 3, 1))]),  # 60 of 366 days
    ("annual-arrears", dict(periodic_fee_minor=36500, period="annual", charge_mode=ARR), D(2025, 1, 1), None,
     D(2026, 1, 1), [("periodic", 0, -36500, D(2025, 1, 1), D(2026, 1, 1))]),
    ("annual-arrears-cut-not-prorated", dict(periodic_fee_minor=36500, period="annual", charge_mode=ARR,
                                             prorate_last_period=False), D(2025, 1, 1), D(2025, 7, 1), D(2025, 7, 1), [
        ("periodic", 0, -36500, D(2025, 1, 1), D(2025, 7, 1))]),
    ("annual-daily-leap", dict(periodic_fee_minor=36600, period="annual", charge_mode=DAY), D(2023, 12, 31), None,
     D(2024, 1, 1), [
        ("daily", 0, -100, D(2023, 12, 31), D(2024, 1, 1)),  # Dec 31 2023 - Dec 31 2024: 366 days
        ("daily", 1, -100, D(2024, 1, 1), D(2024, 1, 2))]),
    # A 12-month minimum on a quarterly plan is four periods.
    ("quarterly-early-cancellation", dict(periodic_fee_minor=9000, period="quarterly", minimum_term_periods=4,
                                          early_cancellation_fee_minor=20000), D(2025, 1, 1), D(2025, 6, 1),
     D(2025, 6, 1), [
        ("periodic", 0, -9000, D(2025, 1, 1), D(2025, 4, 1)),
        ("periodic", 1, -6033, D(2025, 4, 1), D(2025, 6, 1)),  # 61 of 91 days: 6032.97
        ("early_cancellation", 0, -20000, D(2025, 6, 1), D(2026, 1, 1))]),
    ("quarterly-minimum-term-served", dict(periodic_fee_minor=9000, period="quarterly", minimum_term_periods=4,
                                           early_cancellation_fee_minor=20000), D(2025, 1, 1), D(2026, 1, 1),
     D(2026, 1, 1), [
        ("periodic", 0, -9000, D(2025, 1, 1), D(2025, 4, 1)),
        ("periodic", 1, -9000, D(2025, 4, 1), D(2025, 7, 1)),
        ("periodic", 2, -9000, D(2025, 7, 1), D(2025, 10, 1)),
        ("periodic", 3, -9000, D(2025, 10, 1), D(2026, 1, 1))]),
    ("annual-arrears-early-cancellation", dict(periodic_fee_minor=36500, period="annual", charge_mode=ARR,
                                               minimum_term_periods=2, early_cancellation_fee_minor=10000),
     D(2025, 1, 1), D(2026, 1, 1), D(2026, 1, 1), [
        ("periodic", 0, -36500, D(2025, 1, 1), D(2026, 1, 1)),
        ("early_cancellation", 0, -10000, D(2026, 1, 1), D(2027, 1, 1))]),
]


@pytest.mark.parametrize("terms, start, end, through, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_charges_by_plan(actor, make_plan, postpaid, terms, start, end, through, expected):
    assignment = subscribe(actor, make_plan, postpaid, start, end, **terms)
    charge(actor, through, postpaid)
    assert rows(assignment) == expected
    assert funds_of(postpaid).balance.minor == sum(e[2] for e in expected)


def test_entries_carry_service_period_and_keys(actor, make_plan, postpaid):
    assignment = subscribe(actor, make_plan, postpaid, D(2025, 1, 10), None, periodic_fee_minor=3000)
    charge(actor, D(2025, 1, 10), postpaid)
    entry = LedgerEntry.objects.get(idempotency_key=f"sub:{assignment.pk}:periodic:0")
    assert (entry.kind, entry.amount_minor, entry.service_type, entry.source, entry.account_id) == (
        "charge", -3000, "iptv", "subscription", assignment.account_id)
    assert entry.data == {"plan": assignment.plan.code, "period_start": "2025-01-10", "period_end": "2025-02-10",
                          "days": 31, "of_days": 31, "kind": "periodic", "period_index": 0,
                          "assignment": assignment.pk}


def test_runs_day_by_day_charge_the_same_as_one_run(actor, make_plan, postpaid, make_customer):
    """A daily job and a run after a month write the same rows."""
    terms = dict(periodic_fee_minor=1000, charge_mode=DAY, period="weekly")
    stepwise = subscribe(actor, make_plan, postpaid, D(2025, 1, 1), None, **terms)
    for day in range(1, 15):
        charge(actor, D(2025, 1, day), postpaid)
    other = make_customer("postpaid", credit_limit_minor=100_000)
    at_once = subscribe(actor, make_plan, other, D(2025, 1, 1), None, **terms)
    charge(actor, D(2025, 1, 14), other)
    assert [r[1:] for r in rows(stepwise)] == [r[1:] for r in rows(at_once)]
    assert funds_of(postpaid).balance.minor == -14 * 143  # 1000 / 7 = 142.86 -> 143 a day


def test_in_advance_period_ended_after_it_was_charged_credits_the_unused_days(actor, make_plan, postpaid):
    from tripleplay.customers.services import remove_addon

    a = subscribe(actor, make_plan, postpaid, D(2025, 3, 1), None, periodic_fee_minor=3100)
    charge(actor, D(2025, 3, 1), postpaid)
    at(D(2025, 3, 11))
    remove_addon(actor, a.account, a.pk, end_date=D(2025, 3, 11))
    charge(actor, D(2025, 3, 11), postpaid)
    charge(actor, D(2025, 5, 1), postpaid)  # nothing after the end
    assert rows(a) == [("periodic", 0, -3100, D(2025, 3, 1), D(2025, 4, 1)),
                       ("unused_credit", 0, 2100, D(2025, 3, 11), D(2025, 4, 1))]  # 3100 - 10/31 of it
    assert funds_of(postpaid).balance.minor == -1000
    assert LedgerEntry.objects.get(idempotency_key=f"sub:{a.pk}:unused_credit:0").kind == "credit"


def test_annual_plan_cancelled_in_its_minimum_term_credits_unused_days_and_charges_the_fee(actor, make_plan,
                                                                                            postpaid):
    """An annual plan charged in advance on Jan 1, cancelled on Apr 1 inside its one-year minimum term:
    the unused 275 of 365 days come back and the early-cancellation fee is charged, both on Apr 1."""
    from tripleplay.customers.services import remove_addon

    a = subscribe(actor, make_plan, postpaid, D(2025, 1, 1), None, periodic_fee_minor=36500, period="annual",
                  minimum_term_periods=1, early_cancellation_fee_minor=5000)
    charge(actor, D(2025, 1, 1), postpaid)
    at(D(2025, 4, 1))
    remove_addon(actor, a.account, a.pk, end_date=D(2025, 4, 1))
    charge(actor, D(2025, 4, 1), postpaid)
    charge(actor, D(2026, 1, 1), postpaid)  # nothing after the end
    assert rows(a) == [("periodic", 0, -36500, D(2025, 1, 1), D(2026, 1, 1)),
                       ("unused_credit", 0, 27500, D(2025, 4, 1), D(2026, 1, 1)),  # 36500 - 90/365 of it
                       ("early_cancellation", 0, -5000, D(2025, 4, 1), D(2026, 1, 1))]
    assert funds_of(postpaid).balance.minor == -36500 + 27500 - 5000


def test_plan_change_mid_period(actor, catalog, make_account, postpaid):
    """TV Basic (15.00 a month, 10.00 activation) from Jan 1, changed to TV Basic plus (25.00) on Jan 16:
    the old plan's 16 unused days of 31 come back, the new plan's first period runs Jan 16 - Feb 16."""
    from tripleplay.customers.services import change_main_product

    at(D(2025, 1, 1))
    account = make_account(postpaid, main_plan=catalog.tv_plan, start_date=D(2025, 1, 1))
    old = account.products.get()
    charge(actor, D(2025, 1, 1), postpaid)
    at(D(2025, 1, 16))
    new = change_main_product(actor, account, catalog.tv_plus_plan, effective_date=D(2025, 1, 16))
    charge(actor, D(2025, 1, 16), postpaid)
    charge(actor, D(2025, 2, 1), postpaid)  # the old plan's anniversary: nothing
    assert LedgerEntry.objects.filter(customer=postpaid).count() == 4
    charge(actor, D(2025, 2, 16), postpaid)
    assert rows(old) == [("activation", 0, -1000, D(2025, 1, 1), D(2025, 2, 1)),
                         ("periodic", 0, -1500, D(2025, 1, 1), D(2025, 2, 1)),
                         ("unused_credit", 0, 774, D(2025, 1, 16), D(2025, 2, 1))]  # 1500 - 15/31 (725.8 -> 726)
    assert rows(new) == [("periodic", 0, -2500, D(2025, 1, 16), D(2025, 2, 16)),
                         ("periodic", 1, -2500, D(2025, 2, 16), D(2025, 3, 16))]
    assert funds_of(postpaid).balance.minor == -1000 - 1500 + 774 - 2500 - 2500


def test_blocked_and_suspended_postpaid_keep_paying_closed_stop(actor, make_plan, make_customer):
    from tripleplay.customers.services import change_account_status, change_customer_status

    blocked = make_customer("postpaid", credit_limit_minor=100_000)
    suspended = make_customer("postpaid", credit_limit_minor=100_000)
    a_blocked = subscribe(actor, make_plan, blocked, D(2025, 1, 1), None, periodic_fee_minor=1000)
    a_suspended = subscribe(actor, make_plan, suspended, D(2025, 1, 1), None, periodic_fee_minor=1000)
    closed = subscribe(actor, make_plan, blocked, D(2025, 1, 1), None, periodic_fee_minor=700)
    charge(actor, D(2025, 1, 1), blocked, suspended)
    at(D(2025, 1, 20))
    change_customer_status(actor, blocked, "blocked", reason="fraud check")
    change_customer_status(actor, suspended, "suspended", reason="overdue")
    change_account_status(actor, closed.account, "closed", reason="moved out")  # ends its products on Jan 20
    charge(actor, D(2025, 2, 1), blocked, suspended)
    assert [r[2] for r in rows(a_blocked)] == [-1000, -1000]
    assert [r[2] for r in rows(a_suspended)] == [-1000, -1000]
    assert [r[:3] for r in rows(closed)] == [("periodic", 0, -700), ("unused_credit", 0, 271)]  # 700 - 19/31


def test_prepaid_suspension_and_payment_lift_it(actor, make_customer):
    """Prepaid, 15.00 a month in advance, funds for one month: Feb 1 suspended (IPTV disabled), the fee
    stays due; a payment too small changes nothing; one that covers it charges it and lifts the suspension."""
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.customers.services import create_account
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage, Subscriber
    from tripleplay.iptv.packages import link_package
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    at(D(2025, 1, 1))
    platform = create_platform(actor, code="tv", name="TV", kind="generic_xml", base_url="http://127.0.0.1:9",
                               timeout_seconds="1")
    package = ChannelPackage.objects.create(platform=platform, external_id="basic", name="Basic",
                                            first_seen_at=clock.now(), updated_at=clock.now())
    tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    link_package(actor, package, tv)
    plan = create_plan(actor, tv, code="tv-monthly", name="TV monthly", periodic_fee_minor=1500)
    customer = make_customer("prepaid")
    record_payment(actor, customer, Money(1500, "USD"), idempotency_key="pay-1")
    account = create_account(actor, customer, main_plan=plan, login="alice", start_date=D(2025, 1, 1))
    subscriber = Subscriber.objects.get(account=account)

    def state():
        customer.refresh_from_db()
        subscriber.refresh_from_db()
        return customer.status, customer.status_reason, subscriber.desired_enabled, funds_of(customer).balance.minor

    assert charge(actor, D(2025, 1, 1), customer).charges == 1
    assert state() == ("active", "", True, 0)

    report = charge(actor, D(2025, 2, 1), customer)
    assert (report.charges, report.due, report.suspended) == (0, 1, [customer.pk])
    assert state() == ("suspended", INSUFFICIENT_FUNDS, False, 0)
    assert [(i.kind, i.index, i.amount) for _, i in due_items(customer, D(2025, 2, 1))] == [("periodic", 1, 1500)]
    assert customer.status_changes.filter(to_status="suspended").count() == 1  # the rerun suspended nobody again

    at(D(2025, 2, 3))
    record_payment(actor, customer, Money(1000, "USD"), idempotency_key="pay-2")
    assert state() == ("suspended", INSUFFICIENT_FUNDS, False, 1000)
    record_payment(actor, customer, Money(500, "USD"), idempotency_key="pay-3")
    assert state() == ("active", "funds sufficient: due fees charged", True, 0)
    entry = LedgerEntry.objects.get(idempotency_key=f"sub:{account.products.get().pk}:periodic:1")
    assert (entry.amount_minor, entry.data["period_start"], entry.data["period_end"]) == (-1500, "2025-02-01",
                                                                                         "2025-03-01")
    record_payment(actor, customer, Money(500, "USD"), idempotency_key="pay-3")  # a retried payment: nothing new
    assert charge(actor, D(2025, 2, 28), customer).entries == 0
    assert funds_of(customer).balance.minor == sum_of_entries(customer) == 0


def test_payment_never_lifts_an_operator_block_or_another_suspension(actor, make_plan, make_customer):
    from tripleplay.customers.services import change_customer_status
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    blocked = make_customer("prepaid")
    overdue = make_customer("prepaid")
    subscribe(actor, make_plan, blocked, D(2025, 1, 1), None, periodic_fee_minor=1500)
    subscribe(actor, make_plan, overdue, D(2025, 1, 1), None, periodic_fee_minor=1500)
    change_customer_status(actor, blocked, "blocked", reason="operator")
    change_customer_status(actor, overdue, "suspended", reason="overdue invoice")
    report = charge(actor, D(2025, 1, 1), blocked, overdue)
    assert (report.due, report.suspended) == (2, [])  # nothing charged, nobody's status changed
    record_payment(actor, blocked, Money(1500, "USD"), idempotency_key="b")
    record_payment(actor, overdue, Money(1500, "USD"), idempotency_key="o")
    charge(actor, D(2025, 1, 1), blocked, overdue)  # the run charges the fee, the statuses stay
    for c, status in ((blocked, Status.BLOCKED), (overdue, Status.SUSPENDED)):
        c.refresh_from_db()
        assert (c.status, funds_of(c).balance.minor) == (status, 0)


def test_charge_command_and_job(actor, make_plan, postpaid, settings):
    from io import StringIO

    from tripleplay.core.scheduler import worker_jobs
    from tripleplay.subscriptions.jobs import charge_subscriptions

    subscribe(actor, make_plan, postpaid, D(2025, 1, 1), None, periodic_fee_minor=1000)
    out = StringIO()
    call_command("charge", "--date", "2025-02-01", stdout=out)
    assert "2 charges (20.00 USD)" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("charge", "--date", "yesterday")
    at(D(2025, 3, 1))
    assert "1 charges (10.00 USD)" in charge_subscriptions()
    job = next(j for j in worker_jobs() if j.name == "charge")
    assert job.interval.total_seconds() == settings.TRIPLEPLAY_JOB_INTERVALS["charge"] == 3600
