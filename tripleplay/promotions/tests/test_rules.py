"""The promotion rules inside the fee schedule: pure, table-driven (docs/charging.md#promotions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tripleplay.promotions import rules
from tripleplay.subscriptions import schedule

D = date
HALF = rules.Promo("Half price", rules.PRICE, since=D(2025, 1, 29), periods=3, percent_off=50)
TRIAL = rules.Promo("Two weeks free", rules.TRIAL, trial_days=14, converts=True)


def terms(**kw) -> schedule.Terms:
    return schedule.Terms(currency="USD", periodic_fee=3000, **kw)


def fees(t: schedule.Terms, start: date, through: date, end: date | None = None):
    return [(i.kind, i.due, i.amount, i.promotion) for i in schedule.pending(t, start, end, through, {})]


@pytest.mark.parametrize("fee, promo, expected", [
    (3000, rules.Promo("x", rules.PRICE, periods=1, percent_off=50), 1500),
    (999, rules.Promo("x", rules.PRICE, periods=1, percent_off=50), 500),  # 499.5 -> 500, half-up
    (999, rules.Promo("x", rules.PRICE, periods=1, percent_off=100), 0),
    (3000, rules.Promo("x", rules.PRICE, periods=1, fixed_fee=990), 990),
    (500, rules.Promo("x", rules.PRICE, periods=1, fixed_fee=990), 500),  # never above the plan's fee
])
def test_promotional_fee(fee, promo, expected):
    assert rules.promotional_fee(fee, "USD", promo) == expected


def test_three_periods_on_an_aligned_plan_after_a_partial_first():
    t = terms(alignment=schedule.BILLING_PERIOD, promotion=HALF)
    assert fees(t, D(2025, 1, 29), D(2025, 5, 1)) == [
        ("periodic", D(2025, 1, 29), 145, "Half price"),  # 1500 x 3 / 31 = 145.16
        ("periodic", D(2025, 2, 1), 1500, "Half price"),
        ("periodic", D(2025, 3, 1), 1500, "Half price"),
        ("periodic", D(2025, 4, 1), 1500, "Half price"),
        ("periodic", D(2025, 5, 1), 3000, ""),
    ]


def test_granted_later_counts_from_the_next_period():
    t = terms(promotion=replace(HALF, since=D(2025, 1, 15), periods=2))
    assert fees(t, D(2025, 1, 1), D(2025, 4, 1)) == [
        ("periodic", D(2025, 1, 1), 3000, ""),
        ("periodic", D(2025, 2, 1), 1500, "Half price"),
        ("periodic", D(2025, 3, 1), 1500, "Half price"),
        ("periodic", D(2025, 4, 1), 3000, ""),
    ]


def test_an_end_inside_a_promotional_period_credits_from_the_promotional_price():
    t = terms(promotion=replace(HALF, since=D(2025, 1, 1)))
    charged = {("periodic", 0): 1500}
    credit = schedule.pending(t, D(2025, 1, 1), D(2025, 1, 11), D(2025, 1, 11), charged)
    # 10 of 31 days used: 1500 x 10 / 31 = 483.87 -> 484 kept, 1016 back.
    assert [(i.kind, i.amount) for i in credit] == [("unused_credit", 1016)]


def test_a_daily_plan_takes_the_promotional_price_per_day():
    t = terms(charge_mode=schedule.DAILY, promotion=replace(HALF, since=D(2025, 1, 1), periods=1))
    items = fees(t, D(2025, 1, 1), D(2025, 2, 1))
    assert items[0] == ("daily", D(2025, 1, 1), 48, "Half price")  # 1500 / 31 = 48.39
    assert items[-1] == ("daily", D(2025, 2, 1), 107, "")  # 3000 / 28 = 107.14


@pytest.mark.parametrize("alignment, expected", [
    # anniversary: the paid subscription starts after the 14 free days, anchored on that day
    (schedule.ANNIVERSARY, [("activation", D(2025, 1, 24), 1000, ""), ("periodic", D(2025, 1, 24), 3000, ""),
                            ("periodic", D(2025, 2, 24), 3000, "")]),
    # aligned: Jan 24 - 31, 8 of 31 days (774.19), then whole months from the bill-cycle day
    (schedule.BILLING_PERIOD, [("activation", D(2025, 1, 24), 1000, ""), ("periodic", D(2025, 1, 24), 774, ""),
                               ("periodic", D(2025, 2, 1), 3000, ""), ("periodic", D(2025, 3, 1), 3000, "")]),
])
def test_a_converting_trial_starts_the_paid_periods_after_its_days(alignment, expected):
    t = terms(alignment=alignment, activation_fee=1000, promotion=TRIAL)
    assert fees(t, D(2025, 1, 10), D(2025, 1, 23)) == []
    assert fees(t, D(2025, 1, 10), D(2025, 3, 1)) == expected


def test_a_trial_without_conversion_owes_nothing_ever():
    t = terms(activation_fee=1000, minimum_term_periods=12, early_cancellation_fee=5000,
              promotion=replace(TRIAL, converts=False))
    assert fees(t, D(2025, 1, 10), D(2026, 1, 1)) == []
    assert fees(t, D(2025, 1, 10), D(2026, 1, 1), end=D(2025, 1, 24)) == []


def test_no_promotion_changes_nothing():
    t = terms(alignment=schedule.BILLING_PERIOD)
    assert fees(t, D(2025, 1, 29), D(2025, 2, 1)) == [("periodic", D(2025, 1, 29), 290, ""),
                                                       ("periodic", D(2025, 2, 1), 3000, "")]
