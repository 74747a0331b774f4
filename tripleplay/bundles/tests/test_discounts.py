"""The pure bundle rule (tripleplay.bundles.discounts), table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.bundles.discounts import Fee, Holding, Rule, Tier, discounts

D = date
THREE = frozenset({"iptv", "data", "voice"})
TRIPLE = Rule(1, "Triple play", (Tier(THREE, 3, percent_bp=2000), Tier(THREE, 2, percent_bp=1000)), THREE,
              frozenset(), "", D(2025, 1, 1), None)


def holding(n, service, start, end=None):
    return Holding(n, f"p{n}", frozenset({service}), start, end)


def fee(n, service, amount, start=None, end=None):
    return Fee(100 + n, n, f"p{n}", service, "USD", amount, start or D(2025, 6, 1), end or D(2025, 7, 1))


@pytest.mark.parametrize("holdings, fees, expected", [
    # all three, all month: 20 %
    ([holding(1, "iptv", D(2025, 1, 1)), holding(2, "data", D(2025, 1, 1)), holding(3, "voice", D(2025, 1, 1))],
     [fee(1, "iptv", 3000)], [(101, 600, 30)]),
    # voice from the 10th: 9 days two of three, 21 days all three: 3000 x (9 x 10 % + 21 x 20 %) / 30 = 510
    ([holding(1, "iptv", D(2025, 1, 1)), holding(2, "data", D(2025, 1, 1)), holding(3, "voice", D(2025, 6, 10))],
     [fee(1, "iptv", 3000)], [(101, 510, 30)]),
    # only one service: nothing
    ([holding(1, "iptv", D(2025, 1, 1))], [fee(1, "iptv", 3000)], []),
    # a fee of a service the rule does not discount
    ([holding(1, "iptv", D(2025, 1, 1)), holding(2, "messaging", D(2025, 1, 1)), holding(3, "data", D(2025, 1, 1))],
     [fee(2, "messaging", 1000)], []),
    # the fee's own product ended on the 16th: 15 of its 30 days count (all three held): 1000 x 20 % x 15 / 30
    ([holding(1, "iptv", D(2025, 1, 1), D(2025, 6, 16)), holding(4, "iptv", D(2025, 6, 16)),
      holding(2, "data", D(2025, 1, 1)), holding(3, "voice", D(2025, 1, 1))],
     [fee(1, "iptv", 1000)], [(101, 100, 30)]),
    # rounding once, half-up: 1001 x 10 % = 100.1 -> 100; 1005 x 10 % = 100.5 -> 101
    ([holding(1, "iptv", D(2025, 1, 1)), holding(2, "data", D(2025, 1, 1))],
     [fee(1, "iptv", 1001), fee(2, "data", 1005)], [(101, 100, 30), (102, 101, 30)]),
])
def test_discounts(holdings, fees, expected):
    got = discounts([TRIPLE], fees, holdings, "ROUND_HALF_UP")
    assert [(d.fee.entry_id, d.amount_minor, d.of_days) for d in got] == expected


def test_fixed_amount_prorated_and_capped_across_rules():
    both = frozenset({"iptv", "data"})
    fixed = Rule(1, "5.00 off", (Tier(both, 2, amount_minor=500),), both, frozenset(), "USD", D(2025, 1, 1), None)
    half = Rule(2, "90 % off", (Tier(both, 1, percent_bp=9000),), both, frozenset(), "", D(2025, 1, 1), None)
    holdings = [holding(1, "iptv", D(2025, 1, 1)), holding(2, "data", D(2025, 6, 16))]
    # data from the 16th: 15 of 30 days both: 500 x 15 / 30 = 250 off TV; then 90 % of 1000 all month
    # (900) is capped at what is left: 750.
    got = discounts([fixed, half], [fee(1, "iptv", 1000)], holdings, "ROUND_HALF_UP")
    assert [(d.rule.id, d.amount_minor, d.held_days) for d in got] == [(1, 250, 15), (2, 750, 30)]
    # a fixed amount in another currency does not apply to the fee
    other = Rule(3, "EUR", (Tier(both, 1, amount_minor=500),), both, frozenset(), "EUR", D(2025, 1, 1), None)
    assert discounts([other], [fee(1, "iptv", 1000)], holdings, "ROUND_HALF_UP") == []


def test_fees_chosen_by_product_code():
    rule = Rule(1, "TV product", (Tier(THREE, 2, percent_bp=5000),), frozenset(), frozenset({"p1"}), "",
                D(2025, 1, 1), None)
    holdings = [holding(1, "iptv", D(2025, 1, 1)), holding(2, "data", D(2025, 1, 1))]
    got = discounts([rule], [fee(1, "iptv", 1000), fee(2, "data", 1000)], holdings, "ROUND_HALF_UP")
    assert [(d.fee.entry_id, d.amount_minor) for d in got] == [(101, 500)]
