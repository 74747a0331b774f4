"""What a vacation hold does to a subscription's fees: pure functions, no database, no clock
(docs/charging.md#vacation-holds, D152).

For the held days of a plan period, the periodic fee is replaced by the plan's hold fee
(``SubscriptionPlan.hold_fee_minor``, may be zero), both prorated by days of the whole period and
each part rounded once (``tripleplay.money.prorate``):

    amount = prorate(fee, billed days - held days, days) + prorate(hold fee, held days, days)

A hold known when a period is charged lowers that period's charge (``schedule.period_fee`` calls
``fee_with_holds``). A hold made, shortened or cancelled after its period was charged (in advance)
is settled on the period's last day of service by the difference between what was charged and what
the period costs with its holds: a ``hold_credit`` (the usual case: a period already charged gets
the held days back) or a ``hold_charge`` (a hold cancelled or ended early after a lowered charge).
By then every held day of the period is known: a hold never starts in the past and is shortened to
today at the earliest. ``schedule.hold_adjustments`` lays those items.

Order with other price rules on one period: the hold replaces the fee for the held days first; a
promotional price applies to the rest (issue #13).
"""

from __future__ import annotations

import dataclasses
from datetime import date

from tripleplay.money import Money, prorate

Span = tuple[date, date]  # [start, end) of a hold


def with_holds(terms, spans) -> object:
    """``terms`` (schedule.Terms) with the account's holds [start, end) that count for fees."""
    spans = tuple(spans)
    return dataclasses.replace(terms, holds=spans) if spans else terms


def held_days(spans: tuple[Span, ...], lo: date, hi: date) -> int:
    """Days of [lo, hi) on hold."""
    return sum(max(0, (min(hi, e) - max(lo, s)).days) for s, e in spans)


def held_range(spans: tuple[Span, ...], lo: date, hi: date) -> Span | None:
    """(first held day, day after the last held day) of [lo, hi), None when no day is held."""
    cut = [(max(lo, s), min(hi, e)) for s, e in spans if max(lo, s) < min(hi, e)]
    return (min(c[0] for c in cut), max(c[1] for c in cut)) if cut else None


def fee_with_holds(terms, billed: int, held: int, of_days: int, fee: int | None = None) -> int:
    """What ``billed`` days of a period of ``of_days`` cost when ``held`` of them are on hold; ``fee``:
    the period's whole fee when a promotion sets it (schedule.promoted_fee), else the plan's."""
    paid = billed - held
    whole = terms.periodic_fee if fee is None else fee
    fee = whole if paid == of_days else prorate(Money(whole, terms.currency), paid, of_days).minor
    hold = terms.hold_fee if held == of_days else prorate(Money(terms.hold_fee, terms.currency), held, of_days).minor
    return fee + hold
