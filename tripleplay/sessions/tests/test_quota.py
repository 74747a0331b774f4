"""The charging maths, table-driven: cumulative cost, the free units first, the grant."""

import random

import pytest

from tripleplay.rating.pricing import DATA, VOICE, RateTerms
from tripleplay.sessions import quota

PER_MINUTE = quota.Tariff(VOICE, RateTerms(100_000, 0, 60, 60), 2, "ROUND_HALF_UP")  # 0.10 / min, 60/60
PER_SECOND = quota.Tariff(VOICE, RateTerms(600_000, 50_000, 30, 6), 2, "ROUND_HALF_UP")  # 0.01 / s + 0.05
PER_MB = quota.Tariff(DATA, RateTerms(10_000, 0, 100, 100), 2, "ROUND_HALF_UP")  # 0.01 / MB, 100 KB blocks


@pytest.mark.parametrize("tariff, reports, free_left, charges", [
    (PER_MINUTE, [61, 125], 0, [20, 10]),  # 120 s billed, then 180 s: 0.30 in all
    (PER_MINUTE, [61, 61, 125], 0, [20, 0, 10]),  # a repeated report charges nothing
    (PER_MINUTE, [61, 30, 125], 0, [20, 0, 10]),  # so does an older one
    (PER_MINUTE, [150], 120, [10]),  # 180 s billed, 120 free: one minute charged
    (PER_MINUTE, [61, 200], 120, [0, 20]),  # the free minutes go first, then 2 minutes at 0.10
    (PER_SECOND, [31, 70], 0, [41, 36]),  # 0.05 + 36 s, then 72 s in all: 0.77
    (PER_SECOND, [0], 0, [0]),  # nothing used, not even the connection fee
    (PER_MB, [1_234_567, 2_500_000], 0, [1, 2]),  # 1,300 KB = 0.013 -> 0.01; 2,500 KB = 0.025 -> 0.03 in all
])
def test_cumulative_charges(tariff, reports, free_left, charges):
    state = quota.Usage()
    got = []
    for used in reports:
        c = quota.charge(tariff, state, quota.base_units(tariff.service_type, used), free_left)
        free_left -= c.free_delta
        state = c.after
        got.append(c.amount_minor)
    assert got == charges
    # The sum of the reports' charges is one rating of the whole usage.
    assert state.charged_minor == tariff.cost(state.billed, state.free)


@pytest.mark.parametrize("tariff, used, want, free_left, available, units, reserve", [
    (PER_MINUTE, 0, 300, 0, 1000, 300, 50),  # a full quota: 5 minutes
    (PER_MINUTE, 0, 300, 0, 25, 120, 20),  # what 0.25 covers: 2 whole minutes
    (PER_MINUTE, 0, 300, 0, 9, 0, 0),  # not one minute
    (PER_MINUTE, 0, 300, 120, 0, 120, 0),  # the free minutes need no money
    (PER_MINUTE, 0, 300, 120, 10, 180, 10),  # free minutes, then one paid
    (PER_MINUTE, 61, 30, 0, 0, 59, 0),  # the rest of a minute already billed is free to use
    (PER_SECOND, 0, 60, 0, 1000, 60, 65),  # 0.05 + 60 s
    (PER_SECOND, 0, 60, 0, 40, 30, 35),  # 0.05 + the first 30 s block
    (PER_SECOND, 0, 60, 0, 34, 0, 0),
    (PER_MB, 0, 1000, 0, 1000, 1000, 1),  # 1 MB
])
def test_grant(tariff, used, want, free_left, available, units, reserve):
    state = quota.charge(tariff, quota.Usage(), used, 0).after
    g = quota.grant(tariff, state, want, free_left, available)
    assert (g.units, g.reserve_minor) == (units, reserve)


def test_a_fast_window_lists_each_increments_exact_charge_up_to_one_unit_short_of_the_grant():
    # A call 0.05 to connect, 30 s then 6 s blocks at 0.01/s, nothing used yet, 48 s granted.
    assert quota.window(PER_SECOND, quota.Usage(), 48) == [
        quota.Step(0, 0, 0), quota.Step(30, 30, 35), quota.Step(36, 36, 41), quota.Step(42, 42, 47),
        quota.Step(47, 48, 53)]  # the grant itself (48 s) is not the window's
    # Data after 150 KB used (200 KB billed): from the block billed to 600 KB, in bytes.
    after = quota.Usage(150, 200, 0, 0)
    steps = quota.window(PER_MB, after, 600)
    assert [(s.limit_wire, s.billed) for s in steps] == [(200_000, 200), (300_000, 300), (400_000, 400),
                                                         (500_000, 500), (599_999, 600)]
    # Every usage inside a step costs exactly what charge() says.
    for used_bytes in (150_001, 200_000, 200_001, 450_000, 599_999):
        step = next(s for s in steps if s.limit_wire >= used_bytes)
        assert step.charged_minor == quota.charge(PER_MB, after, quota.base_units(DATA, used_bytes), 0).after.charged_minor
    assert len(quota.window(PER_MB, quota.Usage(), 10**9, max_steps=256)) == 256


def _window_by_charge(tariff, state, granted, max_steps=quota.MAX_WINDOW_STEPS):
    """quota.window as it was written before D298: each step's state from charge() itself."""
    steps, billed, last = [], state.billed, -1
    below_grant = quota.wire_units(tariff.service_type, granted) - 1
    while len(steps) < max_steps:
        upto = min(max(billed, state.used), granted)
        if upto < state.used or upto <= last:
            break
        c = quota.charge(tariff, state, upto, 0)
        limit = min(quota.wire_units(tariff.service_type, upto), below_grant)
        if steps and limit <= steps[-1].limit_wire:
            break
        steps.append(quota.Step(limit, c.after.billed, c.after.charged_minor))
        if upto >= granted:
            break
        last, billed = upto, tariff.billed(upto + 1)
    return steps


def test_a_fast_windows_steps_are_charges_own_on_random_tariffs_and_states():
    # window() works each step's charge out without building a Charge (D298): the same steps as
    # charge() gives, on seeded random tariffs, charged states and grants.
    rng = random.Random(298)
    for _ in range(3000):
        service = rng.choice([DATA, VOICE])
        tariff = quota.Tariff(service, RateTerms(rng.choice([0, 1, 7, 10_000, 100_000, 1_234_567]),
                                                 rng.choice([0, 999, 50_000]), rng.choice([1, 30, 60, 100, 1000]),
                                                 rng.choice([1, 6, 60, 100])),
                              rng.choice([0, 2, 3]), rng.choice(["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"]))
        used = rng.choice([0, rng.randrange(0, 5000)])
        billed = tariff.billed(used) + rng.choice([0, 0, rng.randrange(0, 300)])
        free = rng.choice([0, 0, rng.randrange(0, billed + 1)])
        state = quota.Usage(used, billed, free, tariff.cost(billed, free) + rng.choice([0, 0, rng.randrange(0, 1000)]))
        granted, steps = used + rng.randrange(0, 100_000), rng.choice([1, 5, 256])
        assert quota.window(tariff, state, granted, steps) == _window_by_charge(tariff, state, granted, steps)
