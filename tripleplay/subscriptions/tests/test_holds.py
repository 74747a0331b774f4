"""What a vacation hold does to fees (subscriptions/holds.py, D152): pure, table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.subscriptions import holds, schedule

D = date


def terms(**kw) -> schedule.Terms:
    return schedule.Terms(**{"currency": "USD", "periodic_fee": 3100, "hold_fee": 620, **kw})


@pytest.mark.parametrize("billed,held,of_days,amount", [
    (31, 0, 31, 3100),
    (31, 31, 31, 620),  # a whole period on hold: the hold fee
    (31, 12, 31, 1900 + 240),
    (28, 9, 28, 2104 + 199),  # 2103.57 -> 2104, 199.29 -> 199: each part rounded once
    (4, 4, 31, 80),  # an aligned first period of 4 days, all held
])
def test_fee_with_holds(billed, held, of_days, amount):
    assert holds.fee_with_holds(terms(), billed, held, of_days) == amount


def test_a_zero_hold_fee_makes_held_days_free():
    assert holds.fee_with_holds(terms(hold_fee=0), 31, 31, 31) == 0
    assert holds.fee_with_holds(terms(hold_fee=0), 31, 10, 31) == 2100


def test_held_days_and_range():
    spans = ((D(2025, 1, 20), D(2025, 2, 10)), (D(2025, 2, 20), D(2025, 2, 22)))
    assert holds.held_days(spans, D(2025, 2, 1), D(2025, 3, 1)) == 9 + 2
    assert holds.held_range(spans, D(2025, 2, 1), D(2025, 3, 1)) == (D(2025, 2, 1), D(2025, 2, 22))
    assert holds.held_range(spans, D(2025, 3, 1), D(2025, 4, 1)) is None


def test_in_advance_hold_known_when_charged_lowers_the_charge():
    t = holds.with_holds(terms(), [(D(2025, 1, 20), D(2025, 2, 10))])
    items = schedule.owed(t, D(2025, 1, 1), None, D(2025, 2, 1))
    assert [(i.due, i.amount, i.held_days) for i in items] == [(D(2025, 1, 1), 2140, 12), (D(2025, 2, 1), 2303, 9)]


def test_hold_after_the_charge_is_settled_on_the_period_last_day():
    t = holds.with_holds(terms(), [(D(2025, 1, 20), D(2025, 2, 10))])
    charged = {(schedule.PERIODIC, 0): 3100}
    assert schedule.pending(t, D(2025, 1, 1), None, D(2025, 1, 30), charged) == []
    (credit,) = schedule.pending(t, D(2025, 1, 1), None, D(2025, 1, 31), charged)
    assert (credit.kind, credit.due, credit.amount, credit.period_start, credit.period_end) == (
        schedule.HOLD_CREDIT, D(2025, 1, 31), 960, D(2025, 1, 20), D(2025, 2, 1))
    assert credit.is_credit
    charged[(schedule.HOLD_CREDIT, 0)] = 960
    assert [i.kind for i in schedule.pending(t, D(2025, 1, 1), None, D(2025, 1, 31), charged)] == []


def test_a_subscription_ended_inside_a_settled_period_gets_only_what_is_left_back():
    t = holds.with_holds(terms(), [(D(2025, 1, 20), D(2025, 2, 10))])
    charged = {(schedule.PERIODIC, 0): 3100, (schedule.HOLD_CREDIT, 0): 960, (schedule.PERIODIC, 1): 2303}
    # Ended Feb 15: February costs 3100 x 5 / 28 = 553.57 -> 554 for Feb 10 - 14 and 199 for the 9 held days.
    items = schedule.pending(t, D(2025, 1, 1), D(2025, 2, 15), D(2025, 2, 15), charged)
    assert [(i.kind, i.index, i.amount) for i in items] == [(schedule.UNUSED_CREDIT, 1, 2303 - (554 + 199))]


def test_daily_fees_on_held_days_cost_the_hold_fee():
    t = holds.with_holds(terms(charge_mode=schedule.DAILY), [(D(2025, 1, 2), D(2025, 1, 3))])
    items = schedule.owed(t, D(2025, 1, 1), None, D(2025, 1, 3))
    assert [(i.due, i.amount, i.held_days) for i in items] == [
        (D(2025, 1, 1), 100, 0), (D(2025, 1, 2), 20, 1), (D(2025, 1, 3), 100, 0)]
