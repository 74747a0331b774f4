"""Billing periods of a customer: pure functions on tripleplay.subscriptions.periods (anchored maths).

The customer's billing period starts on its bill-cycle day:
- monthly: that day of every month (31 = the last day of shorter months, never drifting);
- semimonthly: that day (1..15) and fifteen days later;
- weekly: that ISO weekday (1 = Monday);
- daily: every day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from tripleplay.subscriptions import periods

_MONDAY = date(2000, 1, 3)


def anchor(period: str, bill_cycle_day: int) -> date:
    """A date from which the customer's periods are counted (any period start would do)."""
    if period == periods.MONTHLY:
        return date(2000, 1, bill_cycle_day)  # January has 31 days: any day 1..31
    if period == periods.SEMIMONTHLY:
        return date(2000, 1, min(bill_cycle_day, 15))
    if period == periods.WEEKLY:
        return _MONDAY + timedelta(days=(bill_cycle_day - 1) % 7)
    if period == periods.DAILY:
        return date(2000, 1, 1)
    raise ValueError(f"unknown billing period {period!r}")


@lru_cache(maxsize=4096)  # pure, and an invoice run asks the same few questions for every customer
def period_containing(period: str, bill_cycle_day: int, day: date) -> tuple[date, date]:
    """(first day, first day of the next period) of the billing period that contains ``day``."""
    a = anchor(period, bill_cycle_day)
    return periods.bounds(a, period, periods.index(a, period, day))


@lru_cache(maxsize=4096)
def next_period(period: str, bill_cycle_day: int, start: date) -> tuple[date, date]:
    """The period that starts on ``start``: it ends where the anchored period containing ``start``
    ends (after a change of bill-cycle day, the first period is shorter or longer; then regular)."""
    return start, period_containing(period, bill_cycle_day, start)[1]
