"""Rating maths, table-driven, exact (docs/rating.md)."""

from fractions import Fraction

import pytest

from tripleplay.money import Money
from tripleplay.rating.pricing import RateTerms, base_quantity, billable, longest_prefix, price, to_money


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
