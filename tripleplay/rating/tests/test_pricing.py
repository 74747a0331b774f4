"""Rating maths, table-driven, exact (docs/rating.md)."""

from datetime import datetime, time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripleplay.money import ROUNDING_MODES, Money, currency_exponent
from tripleplay.rating.pricing import (
    Charged,
    PeakWindow,
    RateTerms,
    base_quantity,
    billable,
    cost_minor,
    is_peak,
    longest_prefix,
    price,
    round_ratio,
    terms_at,
    to_money,
)


@pytest.mark.parametrize("number, prefixes, expected", [
    ("447700900123", ["", "44", "447", "4477"], "4477"),
    ("447100900123", ["", "44", "447", "4477"], "447"),
    ("4420", ["", "44", "447"], "44"),
    ("15550001", ["", "44"], ""),
    ("15550001", ["44", "447"], None),
    ("", ["", "44"], ""),
    ("44", ["447"], None),
])
def test_longest_prefix(number, prefixes, expected):
    assert longest_prefix(number, prefixes) == expected


@pytest.mark.parametrize("quantity, first, nxt, expected", [
    (61, 60, 60, 120),
    (61, 30, 6, 66),
    (61, 1, 1, 61),
    (60, 60, 60, 60),
    (1, 60, 60, 60),
    (29, 30, 6, 30),
    (31, 30, 6, 36),
    (36, 30, 6, 36),
    (0, 60, 60, 0),
    (0, 1, 1, 0),
])
def test_billable_increments(quantity, first, nxt, expected):
    assert billable(quantity, first, nxt) == expected


def test_increments_must_be_positive():
    with pytest.raises(ValueError):
        billable(10, 0, 1)


@pytest.mark.parametrize("service, kwargs, expected", [
    ("voice", {"duration_seconds": 61}, 61),
    ("data", {"bytes_": 1}, 1),  # a partial kilobyte counts as one
    ("data", {"bytes_": 1000}, 1),
    ("data", {"bytes_": 1001}, 2),
    ("data", {"bytes_": 0}, 0),
    ("messaging", {"count": 3}, 3),
])
def test_base_quantity(service, kwargs, expected):
    assert base_quantity(service, **kwargs) == expected


# 0.0125 USD a minute = 12,500 micros; 0.10 USD a minute = 100,000 micros.
@pytest.mark.parametrize("quantity, terms, unit, free, billed, free_used, charged, micros", [
    (61, RateTerms(100_000, 0, 60, 60), 60, 0, 120, 0, 120, Fraction(200_000)),
    (61, RateTerms(100_000, 0, 30, 6), 60, 0, 66, 0, 66, Fraction(110_000)),
    (61, RateTerms(100_000, 0, 1, 1), 60, 0, 61, 0, 61, Fraction(305_000, 3)),
    (61, RateTerms(12_500, 0, 1, 1), 60, 0, 61, 0, 61, Fraction(38_125, 3)),
    # connection fee 0.05 on top
    (61, RateTerms(100_000, 50_000, 60, 60), 60, 0, 120, 0, 120, Fraction(250_000)),
    # zero-length call: nothing billed, no connection fee
    (0, RateTerms(100_000, 50_000, 60, 60), 60, 500, 0, 0, 0, Fraction(0)),
    # allowance ends mid-call: 300 s free left, 361 s call at 1/1 -> 61 s charged
    (361, RateTerms(100_000, 0, 1, 1), 60, 300, 361, 300, 61, Fraction(305_000, 3)),
    # same at 60/60: 420 s billed, 300 free, 120 charged
    (361, RateTerms(100_000, 0, 60, 60), 60, 300, 420, 300, 120, Fraction(200_000)),
    # fully free: the connection fee is still charged (allowances cover units, not fees)
    (30, RateTerms(100_000, 20_000, 60, 60), 60, 600, 60, 60, 0, Fraction(20_000)),
    # data: 2,500 KB at 0.01 per MB (1,000 KB)
    (2500, RateTerms(10_000, 0, 1, 1), 1000, 0, 2500, 0, 2500, Fraction(25_000)),
    # messages: 3 at 0.05, 1 free
    (3, RateTerms(50_000, 0, 1, 1), 1, 1, 3, 1, 2, Fraction(100_000)),
])
def test_price(quantity, terms, unit, free, billed, free_used, charged, micros):
    p = price(quantity, terms, unit, free_available=free)
    assert (p.billed, p.free, p.charged, p.cost_micros) == (billed, free_used, charged, micros)


@pytest.mark.parametrize("micros, currency, rounding, expected", [
    (Fraction(200_000), "USD", None, 20),
    (Fraction(305_000, 3), "USD", None, 10),  # 0.101666.. -> 0.10
    (Fraction(38_125, 3), "USD", None, 1),  # 0.0127083.. -> 0.01
    (Fraction(5_000), "USD", None, 1),  # 0.005 -> 0.01 half-up
    (Fraction(5_000), "USD", "ROUND_HALF_EVEN", 0),
    (Fraction(9_999, 2), "USD", None, 0),  # 0.0049995 -> 0.00 (exact, no double rounding)
    (Fraction(15_000, 1), "USD", None, 2),  # 0.015 -> 0.02
    (Fraction(1_500_000), "JPY", None, 2),  # 1.5 yen -> 2
    (Fraction(1_234_567, 1), "KWD", None, 1235),
])
def test_one_rounding_to_minor_units(micros, currency, rounding, expected):
    assert to_money(micros, currency, rounding) == Money(expected, currency)


# -- peak / off-peak --------------------------------------------------------------------------------

WEEKDAYS_8_20 = PeakWindow(frozenset({1, 2, 3, 4, 5}), time(8), time(20))


@pytest.mark.parametrize("local, window, expected", [
    (datetime(2026, 3, 10, 12, 0), WEEKDAYS_8_20, True),  # Tuesday noon
    (datetime(2026, 3, 10, 8, 0), WEEKDAYS_8_20, True),  # the start is peak
    (datetime(2026, 3, 10, 7, 59, 59), WEEKDAYS_8_20, False),
    (datetime(2026, 3, 10, 19, 59, 59), WEEKDAYS_8_20, True),
    (datetime(2026, 3, 10, 20, 0), WEEKDAYS_8_20, False),  # the end is off-peak
    (datetime(2026, 3, 14, 12, 0), WEEKDAYS_8_20, False),  # Saturday
    (datetime(2026, 3, 15, 12, 0), WEEKDAYS_8_20, False),  # Sunday
    (datetime(2026, 3, 14, 12, 0), PeakWindow(frozenset({6}), time(10), time(13)), True),
    (datetime(2026, 3, 14, 3, 0), None, True),  # no window: always peak
])
def test_is_peak(local, window, expected):
    assert is_peak(local, window) is expected


PEAK = RateTerms(200_000, 50_000, 30, 6)


@pytest.mark.parametrize("offpeak_price, offpeak_fee, peak_time, expected, offpeak", [
    (70_000, 0, True, PEAK, False),
    (70_000, 0, False, RateTerms(70_000, 0, 30, 6), True),
    (70_000, None, False, RateTerms(70_000, 50_000, 30, 6), True),  # no off-peak fee: the peak one
    (None, 10_000, False, RateTerms(200_000, 10_000, 30, 6), True),
    (None, None, False, PEAK, False),  # a rate without off-peak terms costs the same at any time
])
def test_terms_at(offpeak_price, offpeak_fee, peak_time, expected, offpeak):
    assert terms_at(PEAK, offpeak_price, offpeak_fee, peak_time) == (expected, offpeak)


# -- the bulk path's integer rounding equals to_money -------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(first=st.integers(0, 10**7), following=st.integers(0, 10**7), price_micros=st.integers(0, 10**7),
       next_micros=st.one_of(st.none(), st.integers(0, 10**7)), fee=st.integers(0, 10**6),
       unit=st.sampled_from([1, 60, 1000]), currency=st.sampled_from(["USD", "JPY", "KWD", "CLF"]),
       rounding=st.sampled_from(sorted(ROUNDING_MODES)))
def test_cost_minor_equals_to_money(first, following, price_micros, next_micros, fee, unit, currency, rounding):
    terms = RateTerms(price_micros, fee, 1, 1, next_micros)
    exact = fee + Fraction(first * price_micros + following * (price_micros if next_micros is None else next_micros),
                           unit)
    assert cost_minor(Charged(first, following), terms, unit, currency_exponent(currency), rounding) == to_money(
        exact, currency, rounding).minor


@pytest.mark.parametrize("numerator, denominator, rounding, expected", [
    (5, 10, "ROUND_HALF_UP", 1), (5, 10, "ROUND_HALF_DOWN", 0), (5, 10, "ROUND_HALF_EVEN", 0),
    (15, 10, "ROUND_HALF_EVEN", 2), (1, 10, "ROUND_UP", 1), (9, 10, "ROUND_DOWN", 0), (20, 10, "ROUND_UP", 2),
])
def test_round_ratio(numerator, denominator, rounding, expected):
    assert round_ratio(numerator, denominator, rounding) == expected
