"""Period maths, table-driven: anniversaries on the 29th, 30th and 31st across February in leap and
non-leap years, weekly, semimonthly, quarterly, semi-annual and annual periods, and index() as the
inverse of start()."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripleplay.subscriptions.periods import PERIODS, bounds, days, index, overlap, start


@pytest.mark.parametrize("anchor, n, expected", [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),  # non-leap February
    (date(2025, 1, 31), 2, date(2025, 3, 31)),  # back to the 31st: never chained from Feb 28
    (date(2025, 1, 31), 3, date(2025, 4, 30)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
    (date(2024, 1, 31), 2, date(2024, 3, 31)),
    (date(2025, 1, 30), 1, date(2025, 2, 28)),
    (date(2025, 1, 30), 2, date(2025, 3, 30)),
    (date(2024, 1, 30), 1, date(2024, 2, 29)),
    (date(2025, 1, 29), 1, date(2025, 2, 28)),
    (date(2024, 1, 29), 1, date(2024, 2, 29)),
    (date(2024, 1, 29), 2, date(2024, 3, 29)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),  # anchored on a leap day
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2025, 11, 30), 3, date(2026, 2, 28)),  # across a year end
    (date(2025, 3, 31), -1, date(2025, 2, 28)),
])
def test_monthly_anniversaries(anchor, n, expected):
    assert start(anchor, "monthly", n) == expected


@pytest.mark.parametrize("period, anchor, n, expected", [
    ("daily", date(2024, 2, 28), 1, date(2024, 2, 29)),
    ("daily", date(2025, 2, 28), 1, date(2025, 3, 1)),
    ("weekly", date(2025, 12, 29), 1, date(2026, 1, 5)),
    ("weekly", date(2024, 2, 26), 1, date(2024, 3, 4)),
    ("semimonthly", date(2025, 1, 5), 1, date(2025, 1, 20)),
    ("semimonthly", date(2025, 1, 5), 2, date(2025, 2, 5)),
    ("semimonthly", date(2025, 1, 5), 3, date(2025, 2, 20)),
    ("semimonthly", date(2025, 1, 31), 1, date(2025, 2, 15)),
    ("semimonthly", date(2025, 1, 31), 2, date(2025, 2, 28)),
    ("semimonthly", date(2025, 1, 31), 4, date(2025, 3, 31)),
    ("semimonthly", date(2024, 1, 31), 2, date(2024, 2, 29)),
])
def test_other_periods(period, anchor, n, expected):
    assert start(anchor, period, n) == expected


@pytest.mark.parametrize("period, anchor, n, expected", [
    ("quarterly", date(2025, 1, 31), 1, date(2025, 4, 30)),  # Jan 31 + 1 quarter: clamped to April
    ("quarterly", date(2025, 1, 31), 2, date(2025, 7, 31)),  # never chained from Apr 30
    ("quarterly", date(2025, 1, 31), 3, date(2025, 10, 31)),
    ("quarterly", date(2025, 1, 31), 4, date(2026, 1, 31)),
    ("quarterly", date(2025, 11, 30), 1, date(2026, 2, 28)),  # across a year end into a short February
    ("quarterly", date(2023, 11, 30), 1, date(2024, 2, 29)),  # ... a leap one
    ("quarterly", date(2025, 11, 30), 2, date(2026, 5, 30)),
    ("quarterly", date(2025, 5, 31), -1, date(2025, 2, 28)),
    ("semiannual", date(2025, 8, 31), 1, date(2026, 2, 28)),
    ("semiannual", date(2023, 8, 31), 1, date(2024, 2, 29)),
    ("semiannual", date(2025, 8, 31), 2, date(2026, 8, 31)),
    ("semiannual", date(2025, 1, 1), 1, date(2025, 7, 1)),
    ("annual", date(2024, 2, 29), 1, date(2025, 2, 28)),  # anchored on a leap day
    ("annual", date(2024, 2, 29), 3, date(2027, 2, 28)),
    ("annual", date(2024, 2, 29), 4, date(2028, 2, 29)),  # back to Feb 29 in the next leap year
    ("annual", date(2025, 1, 31), 1, date(2026, 1, 31)),
    ("annual", date(2025, 3, 31), -1, date(2024, 3, 31)),
])
def test_quarterly_semiannual_annual_starts(period, anchor, n, expected):
    assert start(anchor, period, n) == expected


@pytest.mark.parametrize("period, anchor, n, length", [
    ("quarterly", date(2025, 1, 1), 0, 90),  # Jan + Feb + Mar 2025
    ("quarterly", date(2024, 1, 1), 0, 91),  # leap February
    ("quarterly", date(2025, 1, 31), 0, 89),  # Jan 31 .. Apr 30
    ("quarterly", date(2025, 1, 31), 1, 92),  # Apr 30 .. Jul 31
    ("quarterly", date(2025, 4, 1), 0, 91),
    ("semiannual", date(2025, 1, 1), 0, 181),
    ("semiannual", date(2025, 7, 1), 0, 184),
    ("semiannual", date(2024, 1, 1), 0, 182),
    ("annual", date(2025, 1, 1), 0, 365),
    ("annual", date(2024, 1, 1), 0, 366),
    ("annual", date(2023, 3, 1), 0, 366),  # holds Feb 29 2024
    ("annual", date(2024, 3, 1), 0, 365),
    ("annual", date(2024, 2, 29), 0, 365),  # Feb 29 2024 .. Feb 28 2025
    ("annual", date(2024, 2, 29), 3, 366),  # Feb 28 2027 .. Feb 29 2028
])
def test_long_period_lengths(period, anchor, n, length):
    first, end = bounds(anchor, period, n)
    assert days(first, end) == length


@pytest.mark.parametrize("period, anchor, day, n", [
    ("quarterly", date(2025, 1, 31), date(2025, 4, 29), 0),
    ("quarterly", date(2025, 1, 31), date(2025, 4, 30), 1),
    ("quarterly", date(2025, 1, 31), date(2025, 1, 30), -1),
    ("semiannual", date(2025, 8, 31), date(2026, 2, 27), 0),
    ("semiannual", date(2025, 8, 31), date(2026, 2, 28), 1),
    ("annual", date(2024, 2, 29), date(2025, 2, 27), 0),
    ("annual", date(2024, 2, 29), date(2025, 2, 28), 1),
    ("annual", date(2024, 2, 29), date(2028, 2, 28), 3),
    ("annual", date(2024, 2, 29), date(2028, 2, 29), 4),
])
def test_long_period_index(period, anchor, day, n):
    assert index(anchor, period, day) == n


@pytest.mark.parametrize("anchor, n, length", [
    (date(2025, 1, 31), 0, 28),  # Jan 31 .. Feb 28
    (date(2025, 1, 31), 1, 31),  # Feb 28 .. Mar 31
    (date(2024, 1, 31), 0, 29),
    (date(2025, 2, 1), 0, 28),
    (date(2024, 2, 1), 0, 29),
])
def test_monthly_period_lengths(anchor, n, length):
    first, end = bounds(anchor, "monthly", n)
    assert days(first, end) == length


def test_overlap():
    assert overlap(date(2025, 3, 10), date(2025, 4, 1), date(2025, 3, 1), date(2025, 4, 1)) == 22
    assert overlap(date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)) == 0


def test_unknown_period():
    with pytest.raises(ValueError):
        start(date(2025, 1, 1), "yearly", 1)


@given(anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
       period=st.sampled_from(PERIODS), offset=st.integers(min_value=0, max_value=4000))
def test_index_is_the_inverse_of_start(anchor, period, offset):
    day = anchor + timedelta(days=offset)
    n = index(anchor, period, day)
    assert start(anchor, period, n) <= day < start(anchor, period, n + 1)
    assert n >= 0 and index(anchor, period, start(anchor, period, n)) == n
