"""Plans aligned to the customer's billing period, and the proration maths: pure functions, tables of
exact amounts (minor units), no database (docs/charging.md, D92-D94).

The customer is invoiced monthly on the 1st unless a case says otherwise."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripleplay.subscriptions import periods, schedule
from tripleplay.subscriptions.schedule import ANNIVERSARY, BILLING_PERIOD, Terms

D = date
ADV, ARR = "in_advance", "in_arrears"


def terms(fee=3000, alignment=BILLING_PERIOD, **kw) -> Terms:
    return Terms(currency="USD", periodic_fee=fee, alignment=alignment, **kw)


def fees(t: Terms, start: date, end: date | None, through: date) -> list[tuple]:
    """(kind, n, due, amount, service start, service end, days, of_days) of every item owed."""
    return [(i.kind, i.index, i.due, i.amount, i.period_start, i.period_end, i.days, i.of_days)
            for i in schedule.owed(t, start, end, through)]


P = "periodic"

# (id, terms, start, through, expected items). Nothing ends: the sign-up day decides period 0.
SIGN_UPS = [
    # Aligned, monthly on the 1st: period 0 runs to the 1st and costs its days out of the whole month
    # it cuts (January: 31 days), rounded half-up; then whole months from the 1st.
    ("aligned-29th", terms(), D(2025, 1, 29), D(2025, 2, 1), [
        (P, 0, D(2025, 1, 29), 290, D(2025, 1, 29), D(2025, 2, 1), 3, 31),  # 3000 x 3 / 31 = 290.32
        (P, 1, D(2025, 2, 1), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28)]),
    ("aligned-30th", terms(), D(2025, 1, 30), D(2025, 2, 1), [
        (P, 0, D(2025, 1, 30), 194, D(2025, 1, 30), D(2025, 2, 1), 2, 31),  # 193.55
        (P, 1, D(2025, 2, 1), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28)]),
    ("aligned-31st", terms(), D(2025, 1, 31), D(2025, 2, 1), [
        (P, 0, D(2025, 1, 31), 97, D(2025, 1, 31), D(2025, 2, 1), 1, 31),  # 96.77
        (P, 1, D(2025, 2, 1), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28)]),
    ("aligned-on-the-bill-cycle-day", terms(), D(2025, 2, 1), D(2025, 3, 1), [
        (P, 0, D(2025, 2, 1), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28),  # whole: nothing to prorate
        (P, 1, D(2025, 3, 1), 3000, D(2025, 3, 1), D(2025, 4, 1), 31, 31)]),
    ("aligned-feb-29-leap", terms(), D(2024, 2, 29), D(2024, 3, 1), [
        (P, 0, D(2024, 2, 29), 103, D(2024, 2, 29), D(2024, 3, 1), 1, 29),  # 103.45
        (P, 1, D(2024, 3, 1), 3000, D(2024, 3, 1), D(2024, 4, 1), 31, 31)]),
    ("aligned-feb-28-leap", terms(), D(2024, 2, 28), D(2024, 2, 28), [
        (P, 0, D(2024, 2, 28), 207, D(2024, 2, 28), D(2024, 3, 1), 2, 29)]),  # 206.90
    ("aligned-feb-28-non-leap", terms(), D(2025, 2, 28), D(2025, 3, 1), [
        (P, 0, D(2025, 2, 28), 107, D(2025, 2, 28), D(2025, 3, 1), 1, 28),  # 107.14
        (P, 1, D(2025, 3, 1), 3000, D(2025, 3, 1), D(2025, 4, 1), 31, 31)]),
    # Invoiced on the 31st (the last day of shorter months): the month cut is Jan 31 - Feb 28.
    ("aligned-cycle-day-31", terms(bill_cycle_day=31), D(2025, 2, 15), D(2025, 2, 28), [
        (P, 0, D(2025, 2, 15), 1393, D(2025, 2, 15), D(2025, 2, 28), 13, 28),  # 1392.86
        (P, 1, D(2025, 2, 28), 3000, D(2025, 2, 28), D(2025, 3, 31), 31, 31)]),
    ("aligned-cycle-day-15-on-the-31st", terms(bill_cycle_day=15), D(2025, 1, 31), D(2025, 2, 15), [
        (P, 0, D(2025, 1, 31), 1452, D(2025, 1, 31), D(2025, 2, 15), 15, 31),  # Jan 15 - Feb 15: 1451.61
        (P, 1, D(2025, 2, 15), 3000, D(2025, 2, 15), D(2025, 3, 15), 28, 28)]),
    # Without first-period proration the partial period costs the whole fee (the operator's choice).
    ("aligned-first-not-prorated", terms(prorate_first_period=False), D(2025, 1, 29), D(2025, 2, 1), [
        (P, 0, D(2025, 1, 29), 3000, D(2025, 1, 29), D(2025, 2, 1), 3, 31),
        (P, 1, D(2025, 2, 1), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28)]),
    # In arrears: the partial period is due on its last day (D93), then each month on its last day.
    ("aligned-arrears-29th", terms(charge_mode=ARR), D(2025, 1, 29), D(2025, 2, 28), [
        (P, 0, D(2025, 1, 31), 290, D(2025, 1, 29), D(2025, 2, 1), 3, 31),
        (P, 1, D(2025, 2, 28), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28)]),
    # A semimonthly customer (1st and 16th) on a monthly plan: the month is anchored on the 16th.
    ("aligned-semimonthly-cycle", terms(billing_period="semimonthly"), D(2025, 1, 10), D(2025, 1, 16), [
        (P, 0, D(2025, 1, 10), 581, D(2025, 1, 10), D(2025, 1, 16), 6, 31),  # Dec 16 - Jan 16; 580.65
        (P, 1, D(2025, 1, 16), 3000, D(2025, 1, 16), D(2025, 2, 16), 31, 31)]),
    # A weekly customer (Mondays) on a weekly plan from a Thursday: 4 of 7 days to Monday.
    ("aligned-weekly", terms(fee=700, period="weekly", billing_period="weekly"), D(2025, 1, 2), D(2025, 1, 6), [
        (P, 0, D(2025, 1, 2), 400, D(2025, 1, 2), D(2025, 1, 6), 4, 7),
        (P, 1, D(2025, 1, 6), 700, D(2025, 1, 6), D(2025, 1, 13), 7, 7)]),
    # Anniversary, the same sign-up days: whole months from the sign-up day, clamped, never drifting.
    ("anniversary-29th", terms(alignment=ANNIVERSARY), D(2025, 1, 29), D(2025, 3, 29), [
        (P, 0, D(2025, 1, 29), 3000, D(2025, 1, 29), D(2025, 2, 28), 30, 30),
        (P, 1, D(2025, 2, 28), 3000, D(2025, 2, 28), D(2025, 3, 29), 29, 29),
        (P, 2, D(2025, 3, 29), 3000, D(2025, 3, 29), D(2025, 4, 29), 31, 31)]),
    ("anniversary-30th", terms(alignment=ANNIVERSARY), D(2025, 1, 30), D(2025, 2, 28), [
        (P, 0, D(2025, 1, 30), 3000, D(2025, 1, 30), D(2025, 2, 28), 29, 29),
        (P, 1, D(2025, 2, 28), 3000, D(2025, 2, 28), D(2025, 3, 30), 30, 30)]),
    ("anniversary-31st", terms(alignment=ANNIVERSARY), D(2025, 1, 31), D(2025, 3, 31), [
        (P, 0, D(2025, 1, 31), 3000, D(2025, 1, 31), D(2025, 2, 28), 28, 28),
        (P, 1, D(2025, 2, 28), 3000, D(2025, 2, 28), D(2025, 3, 31), 31, 31),
        (P, 2, D(2025, 3, 31), 3000, D(2025, 3, 31), D(2025, 4, 30), 30, 30)]),
    ("anniversary-on-the-bill-cycle-day", terms(alignment=ANNIVERSARY), D(2025, 2, 1), D(2025, 2, 1), [
        (P, 0, D(2025, 2, 1), 3000, D(2025, 2, 1), D(2025, 3, 1), 28, 28)]),
    ("anniversary-feb-29-leap", terms(alignment=ANNIVERSARY), D(2024, 2, 29), D(2024, 3, 29), [
        (P, 0, D(2024, 2, 29), 3000, D(2024, 2, 29), D(2024, 3, 29), 29, 29),
        (P, 1, D(2024, 3, 29), 3000, D(2024, 3, 29), D(2024, 4, 29), 31, 31)]),
    ("anniversary-feb-28-non-leap", terms(alignment=ANNIVERSARY), D(2025, 2, 28), D(2025, 3, 28), [
        (P, 0, D(2025, 2, 28), 3000, D(2025, 2, 28), D(2025, 3, 28), 28, 28),
        (P, 1, D(2025, 3, 28), 3000, D(2025, 3, 28), D(2025, 4, 28), 31, 31)]),
    # The flag means nothing to an anniversary plan: its first period is always whole.
    ("anniversary-first-not-prorated", terms(alignment=ANNIVERSARY, prorate_first_period=False), D(2025, 1, 29),
     D(2025, 1, 29), [(P, 0, D(2025, 1, 29), 3000, D(2025, 1, 29), D(2025, 2, 28), 30, 30)]),
    # Quarterly and annual plans aligned to a monthly cycle: period 0 is the part, up to the 1st, of the
    # quarter (year) of the grid anchored on that 1st; its days out of that whole quarter (year).
    ("aligned-quarterly-advance", terms(fee=9000, period="quarterly"), D(2025, 1, 28), D(2025, 5, 1), [
        (P, 0, D(2025, 1, 28), 391, D(2025, 1, 28), D(2025, 2, 1), 4, 92),  # Nov 1 - Feb 1: 391.30
        (P, 1, D(2025, 2, 1), 9000, D(2025, 2, 1), D(2025, 5, 1), 89, 89),
        (P, 2, D(2025, 5, 1), 9000, D(2025, 5, 1), D(2025, 8, 1), 92, 92)]),
    ("aligned-quarterly-arrears", terms(fee=9000, period="quarterly", charge_mode=ARR), D(2025, 1, 28),
     D(2025, 4, 30), [
        (P, 0, D(2025, 1, 31), 391, D(2025, 1, 28), D(2025, 2, 1), 4, 92),
        (P, 1, D(2025, 4, 30), 9000, D(2025, 2, 1), D(2025, 5, 1), 89, 89)]),
    ("aligned-annual-advance-leap", terms(fee=36600, period="annual"), D(2024, 3, 15), D(2024, 4, 1), [
        (P, 0, D(2024, 3, 15), 1700, D(2024, 3, 15), D(2024, 4, 1), 17, 366),  # Apr 1 2023 - Apr 1 2024
        (P, 1, D(2024, 4, 1), 36600, D(2024, 4, 1), D(2025, 4, 1), 365, 365)]),
    ("aligned-annual-arrears", terms(fee=36500, period="annual", charge_mode=ARR), D(2025, 3, 15),
     D(2026, 3, 31), [
        (P, 0, D(2025, 3, 31), 1700, D(2025, 3, 15), D(2025, 4, 1), 17, 365),
        (P, 1, D(2026, 3, 31), 36500, D(2025, 4, 1), D(2026, 4, 1), 365, 365)]),
    # A daily plan has no partial day: aligned or not, whole days.
    ("aligned-daily-plan", terms(fee=100, period="daily"), D(2025, 1, 30), D(2025, 2, 1), [
        (P, 0, D(2025, 1, 30), 100, D(2025, 1, 30), D(2025, 1, 31), 1, 1),
        (P, 1, D(2025, 1, 31), 100, D(2025, 1, 31), D(2025, 2, 1), 1, 1),
        (P, 2, D(2025, 2, 1), 100, D(2025, 2, 1), D(2025, 2, 2), 1, 1)]),
]


@pytest.mark.parametrize("t, start, through, expected", [c[1:] for c in SIGN_UPS], ids=[c[0] for c in SIGN_UPS])
def test_sign_up_day_and_alignment(t, start, through, expected):
    assert fees(t, start, None, through) == expected


# (id, terms, start, end, charged (kind, n) -> amount, expected pending items)
ENDINGS = [
    # Cancelled Mar 11 after March was charged in advance: 10 of 31 days kept (967.74 -> 968), the rest
    # given back; the credit is charged - kept, so the two add up to the fee exactly.
    ("aligned-advance-cancelled", terms(), D(2025, 1, 28), D(2025, 3, 11),
     {(P, 0): 387, (P, 1): 3000, (P, 2): 3000}, [
         ("unused_credit", 2, D(2025, 3, 11), 2032, D(2025, 3, 11), D(2025, 4, 1), 21, 31)]),
    # In arrears: the cut period is charged for its used days on its last day.
    ("aligned-arrears-cancelled", terms(charge_mode=ARR), D(2025, 1, 28), D(2025, 3, 11),
     {(P, 0): 387, (P, 1): 3000}, [
         (P, 2, D(2025, 3, 10), 968, D(2025, 3, 1), D(2025, 3, 11), 10, 31)]),
    # Signed up and cancelled inside the same partial period: Jan 28 - Jan 30, 2 of 31 days.
    ("aligned-in-and-out-of-period-0", terms(charge_mode=ARR), D(2025, 1, 28), D(2025, 1, 30), {}, [
        (P, 0, D(2025, 1, 29), 194, D(2025, 1, 28), D(2025, 1, 30), 2, 31)]),
    ("aligned-in-and-out-credit", terms(), D(2025, 1, 28), D(2025, 1, 30), {(P, 0): 387}, [
        ("unused_credit", 0, D(2025, 1, 30), 193, D(2025, 1, 30), D(2025, 2, 1), 2, 31)]),
    # Quarterly in advance, cancelled in the first whole quarter (Feb 1 - May 1: 89 days, 30 used).
    ("aligned-quarterly-cancelled", terms(fee=9000, period="quarterly"), D(2025, 1, 28), D(2025, 3, 3),
     {(P, 0): 391, (P, 1): 9000}, [
         ("unused_credit", 1, D(2025, 3, 3), 5966, D(2025, 3, 3), D(2025, 5, 1), 59, 89)]),  # 9000 - 3033.71
    # Minimum term of 12 months counted from the bill-cycle day after the partial first month: it ends
    # Feb 1 2026. Ended Jan 15 2026 (December was charged): the fee; ended Feb 1 2026: no fee.
    ("aligned-minimum-term-broken", terms(minimum_term_periods=12, early_cancellation_fee=5000), D(2025, 1, 28),
     D(2026, 1, 15), {(P, n): (387 if n == 0 else 3000) for n in range(13)}, [
         ("unused_credit", 12, D(2026, 1, 15), 1645, D(2026, 1, 15), D(2026, 2, 1), 17, 31),  # 3000 - 1354.84
         ("early_cancellation", 0, D(2026, 1, 15), 5000, D(2026, 1, 15), D(2026, 2, 1), 17, 369)]),
    ("aligned-minimum-term-served", terms(minimum_term_periods=12, early_cancellation_fee=5000), D(2025, 1, 28),
     D(2026, 2, 1), {(P, n): (387 if n == 0 else 3000) for n in range(13)}, []),
    ("anniversary-minimum-term-broken", terms(alignment=ANNIVERSARY, minimum_term_periods=12,
                                              early_cancellation_fee=5000), D(2025, 1, 28), D(2026, 1, 27),
     {(P, n): 3000 for n in range(12)}, [
         ("unused_credit", 11, D(2026, 1, 27), 97, D(2026, 1, 27), D(2026, 1, 28), 1, 31),  # 3000 - 2903.23
         ("early_cancellation", 0, D(2026, 1, 27), 5000, D(2026, 1, 27), D(2026, 1, 28), 1, 365)]),
]


@pytest.mark.parametrize("t, start, end, charged, expected", [c[1:] for c in ENDINGS], ids=[c[0] for c in ENDINGS])
def test_cancellation_and_minimum_term(t, start, end, charged, expected):
    pending = schedule.pending(t, start, end, end, charged)
    assert [(i.kind, i.index, i.due, i.amount, i.period_start, i.period_end, i.days, i.of_days)
            for i in pending] == expected


def test_plan_change_both_ways_prorates_by_the_actual_month():
    """Monthly 30.00 <-> 60.00, both aligned on the 1st, changed on Mar 11 2025 (March: 31 days)."""
    cheap, dear = terms(fee=3000), terms(fee=6000)
    start, change = D(2025, 2, 1), D(2025, 3, 11)
    # Upgrade: 30.00's March gives back 21 days (3000 - 968), 60.00 charges Mar 11 - Apr 1 (4064.52 -> 4065).
    assert [(i.kind, i.amount) for i in schedule.pending(cheap, start, change, change, {(P, 0): 3000, (P, 1): 3000})] \
        == [("unused_credit", 2032)]
    assert [(i.kind, i.amount, i.period_start) for i in schedule.owed(dear, change, None, D(2025, 4, 1))] == [
        (P, 4065, change), (P, 6000, D(2025, 4, 1))]
    # Downgrade: 60.00's March gives back 6000 - 1935 = 4065; 30.00 charges 21 of 31 days, 2032.26 -> 2032.
    assert [(i.kind, i.amount) for i in schedule.pending(dear, start, change, change, {(P, 0): 6000, (P, 1): 6000})] \
        == [("unused_credit", 4065)]
    assert [(i.kind, i.amount) for i in schedule.owed(cheap, change, None, change)] == [(P, 2032)]


def test_grid():
    assert schedule.grid(terms(alignment=ANNIVERSARY), D(2025, 1, 29)) == schedule.Grid(D(2025, 1, 29), 0, False)
    assert schedule.grid(terms(), D(2025, 1, 29)) == schedule.Grid(D(2025, 2, 1), -1, True, 1)
    assert schedule.grid(terms(), D(2025, 2, 1)) == schedule.Grid(D(2025, 2, 1), 0, False, 1)
    assert schedule.grid(terms(period="daily"), D(2025, 1, 29)) == schedule.Grid(D(2025, 2, 1), -3, False, 1)
    # The last day of February is the 31st's cycle day; the grid's months still end on the 31st.
    g = schedule.grid(terms(period="quarterly", bill_cycle_day=31), D(2024, 2, 29))
    assert g == schedule.Grid(D(2024, 2, 29), 0, False, 31)
    assert [g.bounds("quarterly", n)[0] for n in range(4)] == [D(2024, 2, 29), D(2024, 5, 31), D(2024, 8, 31),
                                                               D(2024, 11, 30)]
    assert schedule.grid(terms(billing_period="weekly"), D(2025, 1, 29)) == schedule.Grid(D(2025, 2, 3), -1, True)


def test_aligned_plan_needs_the_customer():
    class Plan:
        code, alignment = "p", BILLING_PERIOD

    with pytest.raises(ValueError, match="pass the customer"):
        Terms.of(Plan())


# -- properties: the pieces of a period add up to its fee, and nothing is negative --

_PLAN_PERIODS = st.sampled_from(periods.PERIODS)
_CYCLES = st.sampled_from(periods.CYCLES)
_DAYS = st.dates(min_value=D(2023, 1, 1), max_value=D(2030, 12, 31))


@given(fee=st.integers(0, 10_000_000), period=_PLAN_PERIODS, cycle=_CYCLES, day=st.integers(1, 31),
       start=_DAYS, cut=st.integers(1, 400), first=st.booleans(), last=st.booleans())
def test_kept_and_credited_add_up_to_the_fee(fee, period, cycle, day, start, cut, first, last):
    """A period charged whole in advance, then cut by an end: what it still costs plus the credit is
    the fee, exactly, and neither is negative; and no piece is ever more than the fee."""
    day = min(day, 7) if cycle == "weekly" else min(day, 15) if cycle == "semimonthly" else day
    t = terms(fee=fee, period=period, billing_period=cycle, bill_cycle_day=day, prorate_first_period=first,
              prorate_last_period=last)
    end = start + timedelta(days=cut)
    n = 0
    whole, _, of_days = schedule.period_fee(t, start, None, n)
    kept, used, _ = schedule.period_fee(t, start, end, n)
    assert 0 <= kept <= whole <= fee
    credited = [i for i in schedule.credits(t, start, end, end, {(P, n): whole}) if i.index == n]
    given_back = credited[0].amount if credited else 0
    assert given_back >= 0 and kept + given_back == whole


@given(fee=st.integers(0, 10_000_000), period=_PLAN_PERIODS, start=_DAYS, split=st.integers(1, 400))
def test_a_period_split_by_a_plan_change_costs_no_more_than_rounding(fee, period, start, split):
    """A whole period [first, after) split at one day into two prorated pieces (a product change on
    the same terms): the pieces are never negative and differ from the fee by at most one minor unit
    (each piece is rounded once)."""
    t = terms(fee=fee, period=period, alignment=ANNIVERSARY)
    first, after = periods.bounds(start, period, 0)
    of_days = periods.days(first, after)
    cut = min(split, of_days)
    a = schedule.part_of_fee(t, cut, of_days)
    b = schedule.part_of_fee(t, of_days - cut, of_days) if cut < of_days else 0
    assert a >= 0 and b >= 0 and abs(a + b - fee) <= 1


@given(fee=st.integers(1000, 10_000_000), period=_PLAN_PERIODS, cycle=_CYCLES, day=st.integers(1, 31), start=_DAYS,
       months=st.integers(1, 30))  # from 10.00: one day of a year still rounds to a charge
def test_aligned_periods_tile_the_service(fee, period, cycle, day, start, months):
    """Aligned periods follow one another without a gap or an overlap from the sign-up day, only
    period 0 may be partial, and on a monthly cycle every later period of months starts on a
    billing-period start (the 31st's grid stays on month ends after February)."""
    day = min(day, 7) if cycle == "weekly" else min(day, 15) if cycle == "semimonthly" else day
    t = terms(fee=fee, period=period, billing_period=cycle, bill_cycle_day=day)
    through = start + timedelta(days=31 * months)
    items = schedule.owed(t, start, None, through)
    assert items[0].period_start == start
    for a, b in zip(items, items[1:], strict=False):
        assert a.period_end == b.period_start
        assert b.amount == fee and b.days == b.of_days
    if period in ("monthly", "quarterly", "semiannual", "annual") and cycle == "monthly":
        for i in items[1:]:
            assert periods.cycle_containing(cycle, day, i.period_start)[0] == i.period_start
    assert 0 <= items[0].amount <= fee
