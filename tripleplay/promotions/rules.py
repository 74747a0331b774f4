"""What a promotion does to a subscription's fees: pure functions, no database (docs/charging.md#promotions).

A subscription (an AccountProduct) carries at most one promotion grant, seen by the fee schedule
(tripleplay.subscriptions.schedule) as a ``Promo``:
- ``price``: the periodic fee of ``periods`` periods, counted from the first period whose first day of
  service is on or after ``since`` (the grant's day; the subscription's start at sign-up), is the
  promotional price: a fixed fee, or the plan's fee less a percentage (rounded once). A partial first
  period of an aligned plan (sign-up to the bill-cycle day) is promotional too and is not counted:
  ``periods`` whole periods follow it, as the minimum term counts them. A cut period costs its days
  out of the promotional price.
- ``trial``: the first ``trial_days`` days cost nothing. The paid subscription starts the day after
  (``paid_span``): its periods, activation fee and minimum term are laid from that day by the plan's
  alignment. Without conversion the subscription ends on that day and nothing is ever owed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from tripleplay.money import Money, prorate

PRICE, TRIAL = "price", "trial"  # promotions.models.PromotionKind values


@dataclass(frozen=True)
class Promo:
    name: str
    kind: str
    since: date | None = None  # price: the first promotional period starts on or after this day
    periods: int = 0
    fixed_fee: int | None = None  # minor units
    percent_off: int | None = None  # 1..100
    trial_days: int = 0
    converts: bool = True


def trial_end(start: date, trial_days: int) -> date:
    """The first day after the trial (the paid subscription's first day, or its end)."""
    return start + timedelta(days=trial_days)


def paid_span(promo: Promo | None, start: date, end: date | None) -> tuple[date, date | None]:
    """[start, end) of the paid subscription: after a trial's free days; a trial without conversion
    ends where it ends (so nothing is owed)."""
    if promo is None or promo.kind != TRIAL:
        return start, end
    paid = trial_end(start, promo.trial_days)
    if not promo.converts:
        end = paid if end is None else min(end, paid)
    return paid, end


def promotional_fee(fee: int, currency: str, promo: Promo) -> int:
    """The whole period's promotional price: the fixed fee (never above the plan's), or the fee less
    ``percent_off`` percent, rounded once (tripleplay.money.prorate: half-up by default)."""
    if promo.fixed_fee is not None:
        return min(fee, promo.fixed_fee)
    return prorate(Money(fee, currency), 100 - (promo.percent_off or 0), 100).minor


def first_period(promo: Promo, first_day: Callable[[int], date]) -> int:
    """The index of the first promotional period: the first whose first day of service
    (``first_day(n)``) is on or after ``promo.since``."""
    n = 0
    if promo.since is not None:
        while first_day(n) < promo.since:
            n += 1
    return n


def covers(promo: Promo | None, n: int, first: int, partial: bool) -> bool:
    """Whether period n is promotional: ``periods`` periods from ``first``, one more when the first
    is an aligned plan's partial period 0."""
    if promo is None or promo.kind != PRICE:
        return False
    extra = 1 if partial and first == 0 else 0
    return first <= n < first + promo.periods + extra


def fee_of_period(fee: int, currency: str, promo: Promo | None, n: int, first: int, partial: bool) -> int:
    """Period n's whole fee (before proration): promotional or the plan's."""
    return promotional_fee(fee, currency, promo) if covers(promo, n, first, partial) else fee
