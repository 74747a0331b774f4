"""Billing periods of a customer: the invoice cycle, on tripleplay.subscriptions.periods (where the
cycle's maths lives, so that plans aligned to it can use it too: subscriptions is a floor below).

The customer's billing period starts on its bill-cycle day:
- monthly: that day of every month (31 = the last day of shorter months, never drifting);
- semimonthly: that day (1..15) and fifteen days later;
- weekly: that ISO weekday (1 = Monday);
- daily: every day.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from tripleplay.subscriptions import periods

anchor = periods.cycle_anchor
period_containing = periods.cycle_containing


@lru_cache(maxsize=4096)
def next_period(period: str, bill_cycle_day: int, start: date) -> tuple[date, date]:
    """The period that starts on ``start``: it ends where the anchored period containing ``start``
    ends (after a change of bill-cycle day, the first period is shorter or longer; then regular)."""
    return start, period_containing(period, bill_cycle_day, start)[1]
