"""Billing-period maths: pure functions, no database, no clock.

Period n of a subscription anchored on date A is ``start(A, n)`` to ``start(A, n + 1)`` (end
exclusive), always computed from the anchor, never chained from the previous period's end, so
that clamping to a short month never drifts: a monthly subscription anchored on Jan 31 has periods
starting Feb 28 (Feb 29 in a leap year), Mar 31, Apr 30, May 31 ...

- daily: A + n days; weekly: A + 7n days;
- monthly: A + n months, the day clamped to the month's length (python-dateutil's relativedelta);
- quarterly, semiannual, annual: A + 3n, 6n, 12n months, clamped the same way (anchored on Jan 31:
  quarters start Apr 30, Jul 31, Oct 31, Jan 31; anchored on Feb 29: years start Feb 28, ..., Feb 29
  again in the next leap year);
- semimonthly: two periods a month, A + (n // 2) months, plus 15 days for odd n (anchored on the
  5th: the 5th and the 20th of every month; on Jan 31: Jan 31, Feb 15, Feb 28/29, Mar 15, Mar 31 ...).

Proration is by days in the actual period: a part of a period covering d of its D days costs
fee x d / D, rounded once (tripleplay.money.prorate).

A customer's billing period (the invoice cycle) starts on its bill-cycle day: ``cycle_anchor``,
``cycle_containing`` and ``cycle_start_on_or_after`` (tripleplay.invoicing.periods closes invoices on
them; tripleplay.subscriptions.schedule aligns plans to them).
- monthly: that day of every month (31 = the last day of shorter months, never drifting);
- semimonthly: that day (1..15) and fifteen days later;
- weekly: that ISO weekday (1 = Monday);
- daily: every day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

DAILY, WEEKLY, SEMIMONTHLY, MONTHLY = "daily", "weekly", "semimonthly", "monthly"
QUARTERLY, SEMIANNUAL, ANNUAL = "quarterly", "semiannual", "annual"
PERIODS = (DAILY, WEEKLY, SEMIMONTHLY, MONTHLY, QUARTERLY, SEMIANNUAL, ANNUAL)
# Periods of whole months: how many months each spans.
MONTHS = {MONTHLY: 1, QUARTERLY: 3, SEMIANNUAL: 6, ANNUAL: 12}


def start(anchor: date, period: str, n: int, day: int | None = None) -> date:
    """First day of period ``n`` (n may be negative: periods before the anchor). ``day``: the day of
    the month that periods of months fall on, when the anchor is that day clamped (a grid aligned on
    the 31st anchored on Feb 28 has its next period on Mar 31, not Mar 28); the anchor's own day
    otherwise."""
    if period == DAILY:
        return anchor + timedelta(days=n)
    if period == WEEKLY:
        return anchor + timedelta(days=7 * n)
    months = MONTHS.get(period)
    if months is not None:
        return anchor + relativedelta(months=months * n, day=day)
    if period == SEMIMONTHLY:
        months, half = divmod(n, 2)
        return anchor + relativedelta(months=months, day=day) + timedelta(days=15 * half)
    raise ValueError(f"unknown period {period!r}; one of {PERIODS}")


def bounds(anchor: date, period: str, n: int, day: int | None = None) -> tuple[date, date]:
    """(first day, first day of the next period) of period ``n``."""
    return start(anchor, period, n, day), start(anchor, period, n + 1, day)


def index(anchor: date, period: str, on: date, day: int | None = None) -> int:
    """The n with start(n) <= on < start(n + 1)."""
    if period == DAILY:
        return (on - anchor).days
    if period == WEEKLY:
        return (on - anchor).days // 7
    # Months and half-months: estimate from the calendar, then step to the exact period.
    months = (on.year - anchor.year) * 12 + (on.month - anchor.month)
    n = 2 * months if period == SEMIMONTHLY else months // MONTHS.get(period, 1)  # start() refuses unknowns
    while start(anchor, period, n, day) > on:
        n -= 1
    while start(anchor, period, n + 1, day) <= on:
        n += 1
    return n


def days(first: date, end: date) -> int:
    """Days in [first, end)."""
    return (end - first).days


def overlap(a_first: date, a_end: date, b_first: date, b_end: date) -> int:
    """Days shared by [a_first, a_end) and [b_first, b_end)."""
    return max(0, (min(a_end, b_end) - max(a_first, b_first)).days)


# -- a customer's billing period (the invoice cycle) --

_MONDAY = date(2000, 1, 3)
CYCLES = (DAILY, WEEKLY, SEMIMONTHLY, MONTHLY)


def cycle_anchor(period: str, bill_cycle_day: int) -> date:
    """A date from which the customer's billing periods are counted (any period start would do)."""
    if period == MONTHLY:
        return date(2000, 1, bill_cycle_day)  # January has 31 days: any day 1..31
    if period == SEMIMONTHLY:
        return date(2000, 1, min(bill_cycle_day, 15))
    if period == WEEKLY:
        return _MONDAY + timedelta(days=(bill_cycle_day - 1) % 7)
    if period == DAILY:
        return date(2000, 1, 1)
    raise ValueError(f"unknown billing period {period!r}; one of {CYCLES}")


@lru_cache(maxsize=4096)  # pure, and an invoice run asks the same few questions for every customer
def cycle_containing(period: str, bill_cycle_day: int, day: date) -> tuple[date, date]:
    """(first day, first day of the next period) of the billing period that contains ``day``."""
    a = cycle_anchor(period, bill_cycle_day)
    return bounds(a, period, index(a, period, day))


def cycle_start_on_or_after(period: str, bill_cycle_day: int, day: date) -> date:
    """``day`` if a billing period starts on it, else the first day of the next billing period."""
    first, after = cycle_containing(period, bill_cycle_day, day)
    return day if first == day else after
