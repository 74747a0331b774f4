"""What a subscription owes up to a date: pure functions, no database, no clock (docs/charging.md).

A subscription (an AccountProduct) runs from ``start`` (inclusive) to ``end`` (exclusive, None while
current) on a plan's ``Terms``. Its periods are anchored on ``start`` (anniversary billing): period n
is ``periods.bounds(start, period, n)``, so the first period is always whole.

``pending(terms, start, end, through, charged)`` lists the items due on or before ``through`` that
are not charged yet (``charged`` maps (kind, index) to the amount already charged), in due order:
- activation fee: once, due on ``start``;
- periodic fee, in advance: period n due on its first day, the whole fee; the period cut by ``end``
  costs only its used days (fee x used / days in period, rounded once) when ``prorate_last_period``;
- periodic fee, in arrears: period n due on its end (or on ``end`` for the period it cuts);
- daily (progressive): day d due on d, fee x 1 / days in d's period, rounded once per day;
- unused credit: a periodic fee charged for more than the period now costs (the subscription ended
  inside or before it after it was charged): the difference, due on ``end``;
- early-cancellation fee: once, due on ``end`` when it falls before the minimum term's end.
Every amount is a positive number of minor units; the item's kind says whether it is a charge or a
credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tripleplay.money import Money, prorate
from tripleplay.subscriptions import periods

IN_ADVANCE, IN_ARREARS, DAILY = "in_advance", "in_arrears", "daily"  # catalog.models.ChargeMode values

ACTIVATION = "activation"
PERIODIC = "periodic"
DAILY_FEE = "daily"
UNUSED_CREDIT = "unused_credit"
EARLY_CANCELLATION = "early_cancellation"
KINDS = (ACTIVATION, PERIODIC, DAILY_FEE, UNUSED_CREDIT, EARLY_CANCELLATION)
CREDIT_KINDS = frozenset({UNUSED_CREDIT})

# Same-day items in this order: activation before the first fee, a credit before the fee of the
# product that replaced it, the early-cancellation fee last.
_ORDER = {ACTIVATION: 0, UNUSED_CREDIT: 1, PERIODIC: 2, DAILY_FEE: 2, EARLY_CANCELLATION: 3}


@dataclass(frozen=True)
class Terms:
    """The part of a SubscriptionPlan that decides amounts and dates."""

    currency: str
    periodic_fee: int
    activation_fee: int = 0
    period: str = periods.MONTHLY
    charge_mode: str = IN_ADVANCE
    prorate_last_period: bool = True
    minimum_term_periods: int = 0
    early_cancellation_fee: int = 0

    @classmethod
    def of(cls, plan) -> Terms:
        return cls(currency=plan.product.currency, periodic_fee=plan.periodic_fee_minor,
                   activation_fee=plan.activation_fee_minor, period=plan.period, charge_mode=plan.charge_mode,
                   prorate_last_period=plan.prorate_last_period, minimum_term_periods=plan.minimum_term_periods,
                   early_cancellation_fee=plan.early_cancellation_fee_minor)


@dataclass(frozen=True)
class Item:
    kind: str
    index: int  # period number (day number for daily fees; 0 for one-off fees)
    due: date
    amount: int  # minor units, > 0; a credit when kind in CREDIT_KINDS
    period_start: date
    period_end: date  # exclusive
    days: int  # days this item pays for (or gives back)
    of_days: int  # days in the period

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS


def part_of_fee(terms: Terms, used: int, of_days: int) -> int:
    """fee x used / of_days, rounded once (tripleplay.money.prorate: half-up by default)."""
    if used == of_days:
        return terms.periodic_fee
    return prorate(Money(terms.periodic_fee, terms.currency), used, of_days).minor


def period_fee(terms: Terms, start: date, end: date | None, n: int) -> tuple[int, int, int]:
    """(amount, used days, days) of period n: the whole fee, or only the used days of a period cut
    by ``end`` when the plan prorates its last period (0 for a period that starts on or after end)."""
    first, after = periods.bounds(start, terms.period, n)
    of_days = periods.days(first, after)
    used = of_days if end is None else periods.overlap(first, after, start, end)
    if used == 0:
        return 0, 0, of_days
    if used < of_days and terms.prorate_last_period:
        return part_of_fee(terms, used, of_days), used, of_days
    return terms.periodic_fee, used, of_days


def owed(terms: Terms, start: date, end: date | None, through: date) -> list[Item]:
    """Every charge due on or before ``through`` for a subscription [start, end), charged or not."""
    if end is not None and end <= start:
        return []  # ended the day it started: never used, nothing owed
    items: list[Item] = []
    if terms.activation_fee and start <= through:
        first, after = periods.bounds(start, terms.period, 0)
        items.append(Item(ACTIVATION, 0, start, terms.activation_fee, first, after, 0, periods.days(first, after)))
    if terms.periodic_fee:
        if terms.charge_mode == DAILY:
            items += _daily(terms, start, end, through)
        else:
            items += _periodic(terms, start, end, through)
    if terms.early_cancellation_fee and terms.minimum_term_periods and end is not None and end <= through:
        term_end = periods.start(start, terms.period, terms.minimum_term_periods)
        if end < term_end:
            items.append(Item(EARLY_CANCELLATION, 0, end, terms.early_cancellation_fee, end, term_end,
                              periods.days(end, term_end), periods.days(start, term_end)))
    return items


def _periodic(terms: Terms, start: date, end: date | None, through: date) -> list[Item]:
    items = []
    n = 0
    while True:
        first, after = periods.bounds(start, terms.period, n)
        if first > through or (end is not None and first >= end):
            return items
        amount, used, of_days = period_fee(terms, start, end, n)
        if terms.charge_mode == IN_ADVANCE:
            due = first
        else:
            due = after if end is None else min(after, end)  # in arrears: once the period (or the service) ended
        if due <= through and amount:
            items.append(Item(PERIODIC, n, due, amount, first, after if end is None else min(after, end),
                              used, of_days))
        n += 1


def _daily(terms: Terms, start: date, end: date | None, through: date) -> list[Item]:
    items = []
    last = through if end is None else min(through, end - timedelta(days=1))
    day = start
    while day <= last:
        n = periods.index(start, terms.period, day)
        first, after = periods.bounds(start, terms.period, n)
        of_days = periods.days(first, after)
        amount = part_of_fee(terms, 1, of_days)
        if amount:
            items.append(Item(DAILY_FEE, periods.days(start, day), day, amount, day, day + timedelta(days=1),
                              1, of_days))
        day += timedelta(days=1)
    return items


def credits(terms: Terms, start: date, end: date | None, through: date, charged: dict[tuple[str, int], int]
            ) -> list[Item]:
    """Unused credits: periodic fees charged for more than their period now costs, because the
    subscription ended (on or before ``through``) inside or before a period already charged."""
    if end is None or end > through:
        return []
    items = []
    for (kind, n), amount_charged in sorted(charged.items()):
        if kind != PERIODIC:
            continue
        amount, used, of_days = period_fee(terms, start, end, n)
        if amount_charged > amount:
            first, after = periods.bounds(start, terms.period, n)
            back_from = max(first, end)
            items.append(Item(UNUSED_CREDIT, n, end, amount_charged - amount, back_from, after,
                              periods.days(back_from, after), of_days))
    return items


def pending(terms: Terms, start: date, end: date | None, through: date,
            charged: dict[tuple[str, int], int]) -> list[Item]:
    """Items due on or before ``through`` and not charged yet, in the order to charge them."""
    items = [i for i in owed(terms, start, end, through) if (i.kind, i.index) not in charged]
    items += [i for i in credits(terms, start, end, through, charged) if (i.kind, i.index) not in charged]
    return sorted(items, key=lambda i: (i.due, same_day_order(i), i.index))


def same_day_order(item: Item) -> int:
    return _ORDER[item.kind]
