"""What a subscription owes up to a date: pure functions, no database, no clock (docs/charging.md).

A subscription (an AccountProduct) runs from ``start`` (inclusive) to ``end`` (exclusive, None while
current) on a plan's ``Terms``. Its periods are laid on a grid (``grid``):
- anniversary: anchored on ``start``; period n is ``periods.bounds(start, period, n)``, the first
  period always whole;
- aligned to the customer's billing period: anchored on the first day of the customer's first billing
  period that starts on or after ``start`` (the bill-cycle day). Period 0 is the plan period of that
  grid that contains ``start``, cut by ``start``: from sign-up to the bill-cycle day, costing its
  days out of the whole plan period it cuts when ``prorate_first_period`` (the whole fee
  otherwise); then whole periods from the bill-cycle day. Signed up on the bill-cycle day itself,
  period 0 is whole.

``pending(terms, start, end, through, charged)`` lists the items due on or before ``through`` that
are not charged yet (``charged`` maps (kind, index) to the amount already charged), in due order:
- activation fee: once, due on ``start``;
- periodic fee, in advance: period n due on its first day (its first day of service); a period cut
  by ``start`` or ``end`` costs fee x billed days / days in the whole period, rounded once, where the
  billed days run from ``start`` (``prorate_first_period``, else the period's first day) to ``end``
  (``prorate_last_period``, else the period's end);
- periodic fee, in arrears: period n due on its last day of service (the day before its end, or
  before ``end`` for the period it cuts: D93);
- daily (progressive): day d due on d, fee x 1 / days in d's period, rounded once per day;
- unused credit: a periodic fee charged for more than the period now costs (the subscription ended
  inside or before it after it was charged): the difference, due on ``end``;
- early-cancellation fee: once, due on ``end`` when it falls before the minimum term's end (the
  term counts whole periods, from the bill-cycle day when a partial first period precedes them).
Every amount is a positive number of minor units; the item's kind says whether it is a charge or a
credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tripleplay.money import Money, prorate
from tripleplay.promotions import rules as promotion_rules
from tripleplay.subscriptions import holds, periods

IN_ADVANCE, IN_ARREARS, DAILY = "in_advance", "in_arrears", "daily"  # catalog.models.ChargeMode values
ANNIVERSARY, BILLING_PERIOD = "anniversary", "billing_period"  # catalog.models.Alignment values

ACTIVATION = "activation"
PERIODIC = "periodic"
DAILY_FEE = "daily"
UNUSED_CREDIT = "unused_credit"
EARLY_CANCELLATION = "early_cancellation"
HOLD_CREDIT, HOLD_CHARGE = "hold_credit", "hold_charge"  # vacation holds settled after the charge (holds.py)
KINDS = (ACTIVATION, PERIODIC, DAILY_FEE, UNUSED_CREDIT, EARLY_CANCELLATION, HOLD_CREDIT, HOLD_CHARGE)
CREDIT_KINDS = frozenset({UNUSED_CREDIT, HOLD_CREDIT})

# Same-day items in this order: activation before the first fee, a credit before the fee of the
# product that replaced it, the early-cancellation fee last.
_ORDER = {ACTIVATION: 0, UNUSED_CREDIT: 1, PERIODIC: 2, DAILY_FEE: 2, HOLD_CREDIT: 2, HOLD_CHARGE: 2,
          EARLY_CANCELLATION: 3}


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
    alignment: str = ANNIVERSARY
    prorate_first_period: bool = True
    # The customer's billing period and bill-cycle day: read only by a plan aligned to them.
    billing_period: str = periods.MONTHLY
    bill_cycle_day: int = 1
    # promos: the subscription's promotion grant (tripleplay.promotions.rules), None without one.
    promotion: promotion_rules.Promo | None = None
    # Vacation holds (holds.py, D152): the plan's fee for a held period, and the account's holds
    # [start, end) that count (set per account by holds.with_holds).
    hold_fee: int = 0
    holds: tuple[tuple[date, date], ...] = ()

    @classmethod
    def of(cls, plan, customer=None) -> Terms:
        """The plan's terms for ``customer`` (needed by a plan aligned to the billing period)."""
        cycle = {}
        if customer is not None:
            cycle = dict(billing_period=customer.billing_period, bill_cycle_day=customer.bill_cycle_day)
        elif plan.alignment == BILLING_PERIOD:
            raise ValueError(f"plan {plan.code!r} is aligned to the customer's billing period: pass the customer")
        return cls(currency=plan.product.currency, periodic_fee=plan.periodic_fee_minor,
                   activation_fee=plan.activation_fee_minor, period=plan.period, charge_mode=plan.charge_mode,
                   prorate_last_period=plan.prorate_last_period, minimum_term_periods=plan.minimum_term_periods,
                   early_cancellation_fee=plan.early_cancellation_fee_minor, alignment=plan.alignment,
                   prorate_first_period=plan.prorate_first_period, hold_fee=plan.hold_fee_minor, **cycle)

    @classmethod
    def of_grid(cls, period: str, alignment: str, prorate_first_period: bool, billing_period: str,
                bill_cycle_day: int) -> Terms:
        """Only what lays a subscription's periods (``grid``), for counting its included allowances
        (``allowance_period``): no amounts."""
        return cls(currency="", periodic_fee=0, period=period, alignment=alignment,
                   prorate_first_period=prorate_first_period, billing_period=billing_period,
                   bill_cycle_day=bill_cycle_day)


@dataclass(frozen=True)
class Grid:
    """Where a subscription's periods lie: period n is ``periods.bounds(anchor, period, offset + n,
    day)``, its service starting no earlier than the subscription (``partial``: period 0 begins
    before it). ``day``: the day of the month periods of months fall on (the bill-cycle day of a
    monthly cycle, which the anchor may show clamped: Feb 28 for the 31st), None for the anchor's."""

    anchor: date
    offset: int
    partial: bool
    day: int | None = None

    def bounds(self, period: str, n: int) -> tuple[date, date]:
        return periods.bounds(self.anchor, period, self.offset + n, self.day)


def grid(terms: Terms, start: date) -> Grid:
    if terms.alignment != BILLING_PERIOD:
        return Grid(start, 0, False)
    anchor = periods.cycle_start_on_or_after(terms.billing_period, terms.bill_cycle_day, start)
    day = terms.bill_cycle_day if terms.billing_period == periods.MONTHLY else None
    offset = periods.index(anchor, terms.period, start, day)  # -1 for a monthly plan on a monthly cycle
    return Grid(anchor, offset, periods.start(anchor, terms.period, offset, day) != start, day)


def whole_period(terms: Terms, start: date, n: int, g: Grid | None = None) -> tuple[date, date]:
    """(first day, first day of the next) of the whole plan period n: period 0 may begin before
    ``start`` (aligned, signed up after the bill-cycle day). Its days are the proration denominator."""
    return (g or grid(terms, start)).bounds(terms.period, n)


@dataclass(frozen=True)
class AllowancePeriod:
    """The plan period an included allowance is counted in (D222): ``index`` on the fee's grid,
    [``first``, ``end``) its days of service, ``granted``: the allowance's share of it."""

    index: int
    first: date
    end: date
    granted: int


def allowance_period(terms: Terms, start: date, day: date, quantity: int) -> AllowancePeriod:
    """The period of a subscription started on ``start`` that holds ``day``, on the same grid as its
    fee (``grid``: the anniversary, or the customer's bill-cycle day for an aligned plan), and the
    allowance of ``quantity`` base units it grants: the whole quantity, but for an aligned plan's
    partial first period (sign-up to the bill-cycle day) with ``prorate_first_period``, its days out of
    the whole period's, rounded down to a whole base unit (as its fee is prorated)."""
    g = grid(terms, start)
    n = periods.index(g.anchor, terms.period, day, g.day) - g.offset
    whole_first, end = g.bounds(terms.period, n)
    first = max(whole_first, start)
    granted = quantity
    if first != whole_first and terms.prorate_first_period:
        granted = quantity * periods.days(first, end) // periods.days(whole_first, end)
    return AllowancePeriod(n, first, end, granted)


def term_end(terms: Terms, start: date) -> date:
    """The minimum term's end: ``minimum_term_periods`` whole periods, counted after a partial first
    period (from the bill-cycle day)."""
    g = grid(terms, start)
    return g.bounds(terms.period, terms.minimum_term_periods + (1 if g.partial else 0))[0]


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
    promotion: str = ""  # promos: the promotion's name when it priced this fee
    held_days: int = 0  # days of it on a vacation hold, at the hold fee (holds.py)

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS


def part_of_fee(terms: Terms, used: int, of_days: int, fee: int | None = None) -> int:
    """fee x used / of_days, rounded once (tripleplay.money.prorate: half-up by default); ``fee``: the
    period's whole fee when a promotion sets it (``promoted_fee``), else the plan's."""
    fee = terms.periodic_fee if fee is None else fee
    if used == of_days:
        return fee
    return prorate(Money(fee, terms.currency), used, of_days).minor


# -- promos: the one place a promotion changes a periodic fee (tripleplay.promotions.rules) --------
def promoted_fee(terms: Terms, start: date, n: int, g: Grid) -> tuple[int, str]:
    """(whole fee of period n, the promotion's name or ""): the promotional price for the periods
    its grant covers, the plan's fee otherwise."""
    promo = terms.promotion
    if promo is None or promo.kind != promotion_rules.PRICE:
        return terms.periodic_fee, ""
    first = promotion_rules.first_period(promo, lambda m: max(g.bounds(terms.period, m)[0], start))
    if not promotion_rules.covers(promo, n, first, g.partial):
        return terms.periodic_fee, ""
    return promotion_rules.promotional_fee(terms.periodic_fee, terms.currency, promo), promo.name


def billed_days(terms: Terms, start: date, end: date | None, first: date, after: date) -> int:
    """Days of the whole period [first, after) that its fee is charged for: from ``start`` when the
    period begins before it and the plan prorates its first period, to ``end`` when the period ends
    after it and the plan prorates its last one; the period's own bounds otherwise."""
    lo = max(first, start) if terms.prorate_first_period else first
    hi = min(after, end) if end is not None and terms.prorate_last_period else after
    return max(0, periods.days(lo, hi))


def period_fee(terms: Terms, start: date, end: date | None, n: int) -> tuple[int, int, int]:
    """(amount, used days, days) of period n: the whole fee, or the billed days' part of it for a
    period cut by ``start`` or ``end`` (``billed_days``); 0 for a period with no day of service."""
    g = grid(terms, start)
    first, after = whole_period(terms, start, n, g)
    of_days = periods.days(first, after)
    used = periods.overlap(first, after, start, after if end is None else end)
    if used == 0:
        return 0, 0, of_days
    billed = billed_days(terms, start, end, first, after)
    fee = promoted_fee(terms, start, n, g)[0]  # promos
    # -- vacation holds (holds.py, D152): the hold fee replaces the fee for the held days first; the
    # promotional price (when one applies) is the fee of the days that are not held --
    held = holds.held_days(terms.holds, max(first, start), after if end is None else min(after, end))
    if held:
        return holds.fee_with_holds(terms, billed, held, of_days, fee), used, of_days
    # -- end of vacation holds --
    return part_of_fee(terms, billed, of_days, fee), used, of_days


def owed(terms: Terms, start: date, end: date | None, through: date) -> list[Item]:
    """Every charge due on or before ``through`` for a subscription [start, end), charged or not."""
    start, end = promotion_rules.paid_span(terms.promotion, start, end)  # promos: after a free trial
    if end is not None and end <= start:
        return []  # ended the day it started: never used, nothing owed
    items: list[Item] = []
    if terms.activation_fee and start <= through:
        first, after = whole_period(terms, start, 0)
        items.append(Item(ACTIVATION, 0, start, terms.activation_fee, start, after, 0, periods.days(first, after)))
    if terms.periodic_fee:
        if terms.charge_mode == DAILY:
            items += _daily(terms, start, end, through)
        else:
            items += _periodic(terms, start, end, through)
    if terms.early_cancellation_fee and terms.minimum_term_periods and end is not None and end <= through:
        ends = term_end(terms, start)
        if end < ends:
            items.append(Item(EARLY_CANCELLATION, 0, end, terms.early_cancellation_fee, end, ends,
                              periods.days(end, ends), periods.days(start, ends)))
    return items


def _periodic(terms: Terms, start: date, end: date | None, through: date) -> list[Item]:
    items = []
    g = grid(terms, start)
    n = 0
    while True:
        first, after = whole_period(terms, start, n, g)
        first = max(first, start)  # the first day of service (period 0 may begin before the start)
        if first > through or (end is not None and first >= end):
            return items
        amount, used, of_days = period_fee(terms, start, end, n)
        last = after if end is None else min(after, end)  # exclusive
        # In arrears: on the last day of service (D93), so that the fee is charged inside the billing
        # period it pays for and lands on that period's invoice, closed the next morning.
        due = first if terms.charge_mode == IN_ADVANCE else last - timedelta(days=1)
        if due <= through and amount:
            items.append(Item(PERIODIC, n, due, amount, first, last, used, of_days,
                              promoted_fee(terms, start, n, g)[1],
                              held_days=holds.held_days(terms.holds, first, last)))  # vacation holds (holds.py)
        n += 1


def _daily(terms: Terms, start: date, end: date | None, through: date) -> list[Item]:
    items = []
    last = through if end is None else min(through, end - timedelta(days=1))
    g = grid(terms, start)
    day = start
    while day <= last:
        first, after = g.bounds(terms.period, periods.index(g.anchor, terms.period, day, g.day) - g.offset)
        of_days = periods.days(first, after)
        fee, promotion = promoted_fee(terms, start, periods.index(g.anchor, terms.period, day, g.day) - g.offset, g)
        held = holds.held_days(terms.holds, day, day + timedelta(days=1))  # vacation holds (holds.py)
        amount = holds.fee_with_holds(terms, 1, 1, of_days, fee) if held else part_of_fee(terms, 1, of_days, fee)
        if amount:
            items.append(Item(DAILY_FEE, periods.days(start, day), day, amount, day, day + timedelta(days=1),
                              1, of_days, promotion, held_days=held))
        day += timedelta(days=1)
    return items


def credits(terms: Terms, start: date, end: date | None, through: date, charged: dict[tuple[str, int], int]
            ) -> list[Item]:
    """Unused credits: periodic fees charged for more than their period now costs, because the
    subscription ended (on or before ``through``) inside or before a period already charged."""
    start, end = promotion_rules.paid_span(terms.promotion, start, end)  # promos: after a free trial
    if end is None or end > through:
        return []
    items = []
    for (kind, n), amount_charged in sorted(charged.items()):
        if kind != PERIODIC:
            continue
        amount_charged = net_charged(charged, n)  # vacation holds settled since (holds.py)
        amount, used, of_days = period_fee(terms, start, end, n)
        if amount_charged > amount:
            first, after = whole_period(terms, start, n)
            back_from = max(first, start, end)
            items.append(Item(UNUSED_CREDIT, n, end, amount_charged - amount, back_from, after,
                              periods.days(back_from, after), of_days))
    return items


def pending(terms: Terms, start: date, end: date | None, through: date,
            charged: dict[tuple[str, int], int]) -> list[Item]:
    """Items due on or before ``through`` and not charged yet, in the order to charge them."""
    items = [i for i in owed(terms, start, end, through) if (i.kind, i.index) not in charged]
    items += [i for i in credits(terms, start, end, through, charged) if (i.kind, i.index) not in charged]
    items += hold_adjustments(terms, start, end, through, charged)  # vacation holds (holds.py)
    return sorted(items, key=lambda i: (i.due, same_day_order(i), i.index))


def same_day_order(item: Item) -> int:
    return _ORDER[item.kind]


# -- vacation holds (holds.py, D152): a hold made, shortened or cancelled after its period was charged --


def net_charged(charged: dict[tuple[str, int], int], n: int) -> int:
    """What period n's fee has cost so far: the charge, net of the hold settlements since."""
    return (charged.get((PERIODIC, n), 0) - charged.get((HOLD_CREDIT, n), 0)
            + charged.get((HOLD_CHARGE, n), 0))


def hold_adjustments(terms: Terms, start: date, end: date | None, through: date,
                     charged: dict[tuple[str, int], int]) -> list[Item]:
    """For each charged period whose last day of service is on or before ``through``: the difference
    between what it was charged and what it costs with the account's holds, once (a ``hold_credit``
    back, or a ``hold_charge``), due on that last day. A period cut by ``end`` is left to the unused
    credit, which counts the holds."""
    if not terms.holds and not any(k in (HOLD_CREDIT, HOLD_CHARGE) for k, _ in charged):
        return []
    start, end = promotion_rules.paid_span(terms.promotion, start, end)  # promos: after a free trial
    items = []
    for (kind, n), amount_charged in sorted(charged.items()):
        if kind != PERIODIC or (HOLD_CREDIT, n) in charged or (HOLD_CHARGE, n) in charged:
            continue
        first, after = whole_period(terms, start, n)
        if end is not None and end < after:
            continue
        due = after - timedelta(days=1)
        if due > through:
            continue
        amount, used, of_days = period_fee(terms, start, end, n)
        if amount == amount_charged:
            continue
        lo = max(first, start)
        held_first, held_after = holds.held_range(terms.holds, lo, after) or (lo, after)
        items.append(Item(HOLD_CREDIT if amount_charged > amount else HOLD_CHARGE, n, due, abs(amount_charged - amount),
                          held_first, held_after, holds.held_days(terms.holds, lo, after), of_days,
                          held_days=holds.held_days(terms.holds, lo, after)))
    return items
