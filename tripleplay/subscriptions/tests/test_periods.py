"""Period maths, table-driven: anniversaries on the 29th, 30th and 31st across February in leap and
non-leap years, weekly and semimonthly periods, and index() as the inverse of start()."""

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
