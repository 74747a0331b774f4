from decimal import Decimal

import pytest
from babel.numbers import list_currencies
from hypothesis import given
from hypothesis import strategies as st

from tripleplay.money import (
    NOT_MONEY,
    AmountFormatError,
    CurrencyError,
    CurrencyMismatch,
    Money,
    currency_exponent,
    prorate,
    rounding_mode,
    validate_currency,
)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


# -- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", [1.5, 1.0, True, False, Decimal("1"), "100", None])
def test_money_refuses_anything_but_int_minor_units(minor):
    with pytest.raises(TypeError):
        Money(minor, "USD")


@pytest.mark.parametrize("code", ["usd", "ABC", "", "US", None, 840])
def test_money_refuses_unknown_currency(code):
    with pytest.raises(CurrencyError):
        Money(100, code)


@pytest.mark.parametrize("code", sorted(NOT_MONEY))
def test_codes_that_are_not_money_are_refused(code):
    with pytest.raises(CurrencyError, match="is an ISO 4217 code but not money"):
        validate_currency(code)
    with pytest.raises(CurrencyError):
        Money(100, code)


def test_every_code_refused_as_not_money_is_one_babel_knows():
    assert NOT_MONEY <= set(list_currencies())


def test_money_is_an_immutable_value():
    m = usd(1250)
    assert m == Money(1250, "USD")
    assert m != Money(1250, "EUR")
    assert hash(m) == hash(Money(1250, "USD"))
    with pytest.raises(AttributeError):
        m.minor = 1


@pytest.mark.parametrize("code, exponent", [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)])
def test_currency_precision_comes_from_babel(code, exponent):
    assert currency_exponent(code) == exponent
    assert Money(1, code).exponent == exponent


# -- parse ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, currency, minor",
    [
        ("12.50", "USD", 1250),
        ("12.5", "USD", 1250),
        ("12", "USD", 1200),
        (" 0.01 ", "USD", 1),
        ("-0.05", "USD", -5),
        ("+3.10", "USD", 310),
        ("0", "USD", 0),
        ("100", "JPY", 100),
        ("100.0", "JPY", 100),
        ("1.234", "KWD", 1234),
        ("12.500", "USD", 1250),  # trailing zeros are not extra precision
        ("99999999999.99", "USD", 9_999_999_999_999),
    ],
)
def test_parse_is_exact(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    "text, currency",
    [
        ("12.345", "USD"),  # more decimals than USD has: an error, never a rounding
        ("0.001", "USD"),
        ("100.5", "JPY"),
        ("1.2345", "KWD"),
        ("1e3", "USD"),
        ("1E3", "USD"),
        ("abc", "USD"),
        ("", "USD"),
        ("12.", "USD"),
        (".5", "USD"),
        ("1,000.00", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("--1", "USD"),
        (12.5, "USD"),
        (1250, "USD"),
        (None, "USD"),
    ],
)
def test_parse_refuses_malformed_or_too_precise_text(text, currency):
    with pytest.raises(AmountFormatError):
        Money.parse(text, currency)


def test_parse_refuses_unknown_currency():
    with pytest.raises(CurrencyError):
        Money.parse("1.00", "XYZ1")


# -- from_decimal / from_micros rounding ---------------------------------------------------------


@pytest.mark.parametrize(
    "amount, currency, rounding, minor",
    [
        # ROUND_HALF_UP (the default) rounds ties away from zero, on both sides of zero
        ("0.005", "USD", None, 1),
        ("0.015", "USD", None, 2),
        ("0.0049", "USD", None, 0),
        ("-0.005", "USD", None, -1),
        ("-0.015", "USD", None, -2),
        ("-0.0049", "USD", None, 0),
        ("12.345", "USD", None, 1235),
        ("0.5", "JPY", None, 1),
        ("-0.5", "JPY", None, -1),
        ("1.2345", "KWD", None, 1235),
        ("12.50", "USD", "ROUND_HALF_UP", 1250),
        # banker's rounding: ties to the even neighbour
        ("0.125", "USD", "ROUND_HALF_EVEN", 12),
        ("0.135", "USD", "ROUND_HALF_EVEN", 14),
        ("-0.125", "USD", "ROUND_HALF_EVEN", -12),
        ("0.1251", "USD", "ROUND_HALF_EVEN", 13),
        # ties toward zero
        ("0.125", "USD", "ROUND_HALF_DOWN", 12),
        ("-0.125", "USD", "ROUND_HALF_DOWN", -12),
        ("0.1251", "USD", "ROUND_HALF_DOWN", 13),
        # directed modes
        ("0.001", "USD", "ROUND_UP", 1),  # away from zero
        ("-0.001", "USD", "ROUND_UP", -1),
        ("0.019", "USD", "ROUND_DOWN", 1),  # toward zero
        ("-0.019", "USD", "ROUND_DOWN", -1),
        ("0.001", "USD", "ROUND_CEILING", 1),  # toward +infinity
        ("-0.019", "USD", "ROUND_CEILING", -1),
        ("-0.001", "USD", "ROUND_CEILING", 0),
        ("0.019", "USD", "ROUND_FLOOR", 1),  # toward -infinity
        ("-0.001", "USD", "ROUND_FLOOR", -1),
    ],
)
def test_from_decimal_rounds_once_with_the_mode(amount, currency, rounding, minor):
    result = Money.from_decimal(Decimal(amount), currency, rounding)
    assert result == Money(minor, currency)
    assert type(result.minor) is int


@pytest.mark.parametrize("amount", [1.5, 1, "1.5"])
def test_from_decimal_refuses_non_decimals(amount):
    with pytest.raises(TypeError):
        Money.from_decimal(amount, "USD")


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_from_decimal_refuses_non_finite(amount):
    with pytest.raises(AmountFormatError):
        Money.from_decimal(Decimal(amount), "USD")


def test_unknown_rounding_mode_is_an_error():
    with pytest.raises(ValueError, match="unknown rounding mode"):
        Money.from_decimal(Decimal("1.005"), "USD", "ROUND_SIDEWAYS")
    with pytest.raises(ValueError):
        rounding_mode("ROUND_05UP")  # a decimal mode, but not one money may use


def test_rounding_follows_settings(settings):
    assert Money.from_decimal(Decimal("0.125"), "USD") == usd(13)
    settings.TRIPLEPLAY_ROUNDING = "ROUND_HALF_EVEN"
    assert Money.from_decimal(Decimal("0.125"), "USD") == usd(12)
    assert Money.from_micros(125_000, "USD") == usd(12)
    assert prorate(usd(5), 1, 2) == usd(2)
    # an explicit mode wins over the setting
    assert Money.from_decimal(Decimal("0.125"), "USD", "ROUND_HALF_UP") == usd(13)
    settings.TRIPLEPLAY_ROUNDING = "ROUND_FLOOR"
    assert Money.from_decimal(Decimal("-0.001"), "USD") == usd(-1)
    settings.TRIPLEPLAY_ROUNDING = "NOPE"
    with pytest.raises(ValueError):
        Money.from_decimal(Decimal("1"), "USD")


@pytest.mark.parametrize(
    "micros, currency, rounding, minor",
    [
        (12_500, "USD", None, 1),  # 0.0125 USD = 1.25 cents
        (15_000, "USD", None, 2),  # 1.5 cents, tie away from zero
        (-15_000, "USD", None, -2),
        (15_000, "USD", "ROUND_HALF_EVEN", 2),
        (25_000, "USD", "ROUND_HALF_EVEN", 2),
        (1_000_000, "USD", None, 100),
        (500_000, "JPY", None, 1),
        (499_999, "JPY", None, 0),
        (1_234_500, "KWD", None, 1235),
        (0, "USD", None, 0),
    ],
)
def test_from_micros(micros, currency, rounding, minor):
    assert Money.from_micros(micros, currency, rounding) == Money(minor, currency)


@pytest.mark.parametrize("micros", [1.5, True, Decimal(1)])
def test_from_micros_refuses_non_int(micros):
    with pytest.raises(TypeError):
        Money.from_micros(micros, "USD")


@pytest.mark.parametrize("minor, currency, micros", [(125, "USD", 1_250_000), (7, "JPY", 7_000_000),
                                                     (1234, "KWD", 1_234_000), (-1, "USD", -10_000)])
def test_to_micros_and_to_decimal(minor, currency, micros):
    m = Money(minor, currency)
    assert m.to_micros() == micros
    assert Money.from_micros(micros, currency) == m
    assert Money.from_decimal(m.to_decimal(), currency) == m


# -- prorate -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "minor, num, den, rounding, expected",
    [
        (3000, 10, 31, None, 968),  # 967.74 -> 968
        (3000, 1, 31, None, 97),  # 96.77 -> 97
        (3000, 31, 31, None, 3000),
        (3000, 0, 31, None, 0),
        (1000, 1, 8, None, 125),  # exact
        (5, 1, 2, None, 3),  # tie, away from zero
        (5, 1, 2, "ROUND_HALF_EVEN", 2),
        (5, 1, 2, "ROUND_DOWN", 2),
        (-5, 1, 2, None, -3),
        (-3000, 10, 31, None, -968),
        (1999, 15, 30, None, 1000),  # 999.5 -> 1000
        (1999, 15, 30, "ROUND_HALF_EVEN", 1000),  # 999.5 -> 1000 (even)
        (2999, 15, 30, "ROUND_HALF_EVEN", 1500),  # 1499.5 -> 1500 (even)
        (2997, 15, 30, "ROUND_HALF_EVEN", 1498),  # 1498.5 -> 1498 (even)
    ],
)
def test_prorate(minor, num, den, rounding, expected):
    assert prorate(usd(minor), num, den, rounding) == usd(expected)


def test_prorate_keeps_the_currency_and_checks_arguments():
    assert prorate(Money(1000, "JPY"), 1, 3) == Money(333, "JPY")
    with pytest.raises(ValueError):
        prorate(usd(100), 1, 0)
    with pytest.raises(ValueError):
        prorate(usd(100), 1, -3)
    with pytest.raises(TypeError):
        prorate(usd(100), 0.5, 1)
    with pytest.raises(TypeError):
        prorate(usd(100), 1, Decimal(2))


# -- arithmetic ----------------------------------------------------------------------------------


def test_arithmetic_is_exact():
    assert usd(1250) + usd(5) == usd(1255)
    assert usd(5) - usd(1250) == usd(-1245)
    assert -usd(5) == usd(-5)
    assert abs(usd(-5)) == usd(5)
    assert usd(333) * 3 == usd(999)
    assert 3 * usd(333) == usd(999)
    assert usd(1) < usd(2) <= usd(2) and usd(3) > usd(2) >= usd(2)
    assert not usd(0) and usd(-1)
    assert usd(-1).is_negative() and not usd(0).is_negative()
    assert Money.zero("JPY") == Money(0, "JPY")


@pytest.mark.parametrize("factor", [1.5, Decimal("2"), True])
def test_multiplication_by_non_int_refused(factor):
    with pytest.raises(TypeError):
        usd(100) * factor


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_currency_mismatch_raises(op):
    with pytest.raises(CurrencyMismatch):
        op(usd(100), Money(100, "EUR"))


def test_combining_with_a_number_is_a_type_error():
    with pytest.raises(TypeError):
        usd(100) + 1
    with pytest.raises(TypeError):
        assert usd(100) < 1


# -- text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "minor, currency, text",
    [
        (1250, "USD", "12.50"),
        (5, "USD", "0.05"),
        (-5, "USD", "-0.05"),
        (-1250, "USD", "-12.50"),
        (0, "USD", "0.00"),
        (100, "JPY", "100"),
        (-100, "JPY", "-100"),
        (0, "JPY", "0"),
        (1234, "KWD", "1.234"),
        (-1, "KWD", "-0.001"),
    ],
)
def test_amount_text(minor, currency, text):
    m = Money(minor, currency)
    assert m.amount_text() == text
    assert str(m) == f"{text} {currency}"
    assert Money.parse(text, currency) == m  # round trip


def test_human_format():
    assert usd(123450).format() == "$1,234.50"
    assert Money(1000, "JPY").format() == "¥1,000"
    assert usd(-5).format() == "-$0.05"


# -- allocate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "minor, ratios, shares",
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (101, [1, 1, 1], [34, 34, 33]),
        (-100, [1, 1, 1], [-33, -33, -34]),
        (5, [1, 1], [3, 2]),
        (1000, [70, 30], [700, 300]),
        (1, [1, 1, 1], [1, 0, 0]),
        (0, [1, 2], [0, 0]),
        (100, [0, 1], [0, 100]),
        (1, [0, 1, 1], [0, 1, 0]),  # a zero ratio never receives a leftover unit
        (2, [0, 0, 1, 1, 1], [0, 0, 1, 1, 0]),
        (-1, [0, 1, 1], [0, 0, -1]),
    ],
)
def test_allocate(minor, ratios, shares):
    result = usd(minor).allocate(ratios)
    assert [m.minor for m in result] == shares
    assert all(m.currency == "USD" for m in result)


@pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1], [1.5, 1], [True, 1]])
def test_allocate_refuses_bad_ratios(ratios):
    with pytest.raises((ValueError, TypeError)):
        usd(100).allocate(ratios)


@given(
    minor=st.integers(min_value=-10**12, max_value=10**12),
    ratios=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).filter(lambda r: sum(r) > 0),
)
def test_allocate_property_sums_exactly_and_stays_within_one_unit(minor, ratios):
    shares = [m.minor for m in Money(minor, "USD").allocate(ratios)]
    assert sum(shares) == minor
    total = sum(ratios)
    for share, ratio in zip(shares, ratios, strict=True):
        exact_floor = minor * ratio // total
        assert exact_floor <= share <= exact_floor + 1
        if ratio == 0:
            assert share == 0


@given(minor=st.integers(min_value=-10**12, max_value=10**12), n=st.integers(min_value=1, max_value=50))
def test_allocate_property_equal_ratios_differ_by_at_most_one(minor, n):
    shares = [m.minor for m in Money(minor, "USD").allocate([1] * n)]
    assert sum(shares) == minor
    assert max(shares) - min(shares) <= 1
    # the leftover goes to the first shares: never increasing
    assert shares == sorted(shares, reverse=True)
