"""The rating cascade's pure functions (tripleplay/rating/cascade.py), which both rating paths call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tripleplay.rating import cascade, pricing
from tripleplay.rating.cascade import RateRow

NY = ZoneInfo("America/New_York")
WINDOW = pricing.PeakWindow(frozenset({1, 2, 3, 4, 5}), time(8), time(20))  # weekdays 08:00-20:00
RATES = [RateRow(1, "", 100_000, 0, 60, 60, None, None),
         RateRow(2, "44", 200_000, 0, 1, 1, 50_000, None),
         RateRow(3, "4420", 300_000, 10_000, 30, 6, None, 0),
         RateRow(4, "33", 400_000, 0, 1, 1, None, None)]
PRICES = cascade.price_list("USD", "Voice", WINDOW, NY, RATES)
PEAK = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
NIGHT = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # Wednesday 22:00 in New York (Thursday in UTC)


@pytest.mark.parametrize("number, started, rate_id, prefix, terms, offpeak", [
    ("4420123", PEAK, 3, "4420", pricing.RateTerms(300_000, 10_000, 30, 6), False),
    ("4420123", NIGHT, 3, "4420", pricing.RateTerms(300_000, 0, 30, 6), True),  # off-peak fee only
    ("4411", PEAK, 2, "44", pricing.RateTerms(200_000, 0, 1, 1), False),
    ("4411", NIGHT, 2, "44", pricing.RateTerms(50_000, 0, 1, 1), True),
    ("4411", NIGHT.astimezone(NY), 2, "44", pricing.RateTerms(50_000, 0, 1, 1), True),  # any aware time
    ("3312", NIGHT, 4, "33", pricing.RateTerms(400_000, 0, 1, 1), False),  # no off-peak terms: same at any time
    ("4", PEAK, 1, "", pricing.RateTerms(100_000, 0, 60, 60), False),  # shorter than every prefix but ""
    ("", PEAK, 1, "", pricing.RateTerms(100_000, 0, 60, 60), False),  # data: only the default rate
])
def test_choose_rate(number, started, rate_id, prefix, terms, offpeak):
    assert cascade.choose_rate(PRICES, number, started) == cascade.RateChoice(rate_id, prefix, terms, offpeak)


def test_without_a_default_rate_an_unknown_destination_has_none():
    prices = cascade.price_list("USD", "Voice", None, NY, RATES[1:])
    assert cascade.choose_rate(prices, "4911", PEAK) is None
    assert cascade.choose_rate(prices, "", PEAK) is None
    assert prices.lengths == (4, 2)


def test_the_chosen_rate_is_the_longest_prefix_as_pricing_says():
    for number in ("4420999", "4421", "44", "3", "33", "9"):
        choice = cascade.choose_rate(PRICES, number, PEAK)
        assert choice.prefix == pricing.longest_prefix(number, [r.prefix for r in RATES])


@pytest.mark.parametrize("account, customer, expected", [
    ("active", "active", None), ("suspended", "active", None), ("active", "suspended", None),
    ("blocked", "active", cascade.ACCOUNT_BLOCKED), ("active", "blocked", cascade.ACCOUNT_BLOCKED),
    ("closed", "blocked", cascade.ACCOUNT_BLOCKED),  # blocked is said first
    ("closed", "active", cascade.ACCOUNT_CLOSED), ("active", "closed", cascade.ACCOUNT_CLOSED),
])
def test_status_refusal(account, customer, expected):
    assert cascade.status_refusal(account, customer) == expected


@pytest.mark.parametrize("billed, free, expected", [
    (0, 0, 0),  # a zero-length xDR costs nothing, not even the connection fee
    (90, 0, 151),  # 0.01 fee + 90 s at 1.00/min = 1.51
    (90, 90, 1),  # all free: the fee alone
    (61, 1, 101),
])
def test_usage_cost_minor(billed, free, expected):
    terms = pricing.RateTerms(1_000_000, 10_000, 1, 1)
    assert pricing.usage_cost_minor(billed, free, terms, 60, 2, "ROUND_HALF_UP") == expected


@pytest.mark.parametrize("start, end, current", [
    ((3, 1), None, True), ((3, 4), None, True), ((3, 5), None, False),  # from its start day on
    ((3, 1), (3, 5), True), ((3, 1), (3, 4), False),  # up to the day before its end day
])
def test_is_current(start, end, current):
    day = date(2026, 3, 4)
    assert cascade.is_current(date(2026, *start), end and date(2026, *end), day) is current


def test_subscription_order_main_first_then_as_assigned():
    subs = [("addon", 3), ("main", 9), ("addon", 1)]
    assert sorted(subs, key=lambda s: cascade.subscription_order(*s)) == [("main", 9), ("addon", 1), ("addon", 3)]
