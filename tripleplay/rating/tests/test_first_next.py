"""First/next interval prices (issue 13, item 3): the first interval at one price, every next
interval at another, plus the connection fee; table-driven on the pure rule, then the same calls
through both rating paths (per record and bulk) with exact costs."""

from __future__ import annotations

from datetime import time
from fractions import Fraction

import pytest
from django.db import transaction

from tripleplay.rating import pricing
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.models import Xdr
from tripleplay.rating.pricing import Charged, RateTerms, split_charged, terms_at, usage_cost_minor
from tripleplay.rating.services import ingest, set_peak_window, set_rate

from .conftest import call

# Voice: the first minute at 0.30 a minute, then every 6 s at 0.10 a minute, 0.02 to connect.
FIRST_NEXT = RateTerms(300_000, 20_000, 60, 6, 100_000)


def cost(seconds: int, terms: RateTerms = FIRST_NEXT, free: int = 0) -> int:
    billed = pricing.billable(seconds, terms.first_increment, terms.next_increment)
    return usage_cost_minor(billed, min(free, billed), terms, 60, 2, "ROUND_HALF_UP")


@pytest.mark.parametrize("seconds, billed, expected", [
    (0, 0, 0),  # nothing, not even the connection fee
    (1, 60, 32),  # 0.02 + 60 s x 0.30/min = 0.32
    (59, 60, 32),  # first - 1
    (60, 60, 32),  # first
    (61, 66, 33),  # first + 1: one next interval, 6 s x 0.10/min = 0.01
    (66, 66, 33),
    (67, 72, 34),
    (3600, 3600, 622),  # an hour: 0.02 + 0.30 + 3540 s x 0.10/min = 5.90
    (3601, 3606, 623),
])
def test_first_and_next_interval_prices(seconds, billed, expected):
    assert pricing.billable(seconds, 60, 6) == billed
    assert cost(seconds) == expected


@pytest.mark.parametrize("seconds, expected", [(0, 0), (1, 32), (59, 32), (60, 32), (61, 62), (3600, 1802)])
def test_a_single_price_rate_is_unchanged(seconds, expected):
    # next price None: every interval at 0.30 a minute (61 s at 60/60 -> 120 s billed: 0.60 + 0.02)
    terms = RateTerms(300_000, 20_000, 60, 60)
    assert cost(seconds, terms) == expected


@pytest.mark.parametrize("billed, free, first, expected", [
    (0, 0, 60, Charged(0, 0)),
    (60, 0, 60, Charged(60, 0)),
    (66, 0, 60, Charged(60, 6)),
    (66, 30, 60, Charged(30, 6)),  # free units use up the first interval first
    (66, 60, 60, Charged(0, 6)),
    (66, 63, 60, Charged(0, 3)),
    (66, 66, 60, Charged(0, 0)),
    (5, 0, 1, Charged(1, 4)),  # messages: the first one at the first price
    (5, 2, 1, Charged(0, 3)),
])
def test_split_charged(billed, free, first, expected):
    assert split_charged(billed, free, first) == expected


def test_allowances_cover_the_first_interval_first():
    assert cost(61, free=30) == 2 + 15 + 1  # fee + 30 s at 0.30 + 6 s at 0.10
    assert cost(61, free=90) == 2  # all free: the fee only
    p = pricing.price(61, FIRST_NEXT, 60, free_available=30)
    assert (p.billed, p.free, p.charged, p.cost_micros) == (66, 30, 36, Fraction(20_000 + 150_000 + 10_000))


@pytest.mark.parametrize("offpeak_price, offpeak_fee, offpeak_next, expected", [
    (None, None, None, FIRST_NEXT),  # no off-peak terms: the peak ones
    (None, None, 40_000, RateTerms(300_000, 20_000, 60, 6, 40_000)),
    (150_000, None, None, RateTerms(150_000, 20_000, 60, 6, 100_000)),  # a missing next price is the peak's
    (150_000, 0, 50_000, RateTerms(150_000, 0, 60, 6, 50_000)),
])
def test_offpeak_first_and_next_prices(offpeak_price, offpeak_fee, offpeak_next, expected):
    terms, offpeak = terms_at(FIRST_NEXT, offpeak_price, offpeak_fee, False, offpeak_next)
    assert terms == expected
    assert offpeak == ((offpeak_price, offpeak_fee, offpeak_next) != (None, None, None))
    assert terms_at(FIRST_NEXT, offpeak_price, offpeak_fee, True, offpeak_next) == (FIRST_NEXT, False)


def test_single_price_offpeak_keeps_one_price():
    single = RateTerms(200_000, 0, 30, 6)
    terms, _ = terms_at(single, 70_000, None, False)
    assert terms.next_price == 70_000  # as today: the off-peak price for every interval


# -- both rating paths --------------------------------------------------------------------------------

DURATIONS = [0, 1, 59, 60, 61, 3600]
PEAK_COSTS = [0, 32, 32, 32, 33, 622]
# Off-peak (Saturday): next intervals at 0.04 a minute; the first minute and the fee as peak.
OFFPEAK_COSTS = [0, 32, 32, 32, 32, 268]  # 61 s: 0.32 + 6 s x 0.04/min = 0.004 -> 0.324 -> 0.32; 1 h: 0.32 + 2.36


@pytest.fixture
def first_next(world, actor):
    set_rate(actor, world.voice_table, prefix="33", price_per_unit_micros=300_000, connection_fee_micros=20_000,
             first_increment=60, next_increment=6, next_price_per_unit_micros=100_000,
             offpeak_next_price_per_unit_micros=40_000)
    set_peak_window(actor, world.voice_table, start=time(8), end=time(20), weekdays="12345")
    return world


def _records():
    records = [call(f"p{s}", callee="33123456", seconds=s) for s in DURATIONS]
    records += [call(f"o{s}", callee="33123456", seconds=s, at="2026-03-14T12:00:00Z") for s in DURATIONS]
    return records


def _costs() -> dict[str, int]:
    return dict(Xdr.objects.values_list("external_id", "cost_minor"))


def _expected() -> dict[str, int]:
    return {**{f"p{s}": c for s, c in zip(DURATIONS, PEAK_COSTS, strict=True)},
            **{f"o{s}": c for s, c in zip(DURATIONS, OFFPEAK_COSTS, strict=True)}}


def test_per_record_path_charges_first_and_next_prices(first_next, actor):
    # no free minutes here: the voice plan's allowance is used up by a first long call on another prefix
    ingest(actor, [call("burn", seconds=600)], source="sw")
    ingest(actor, _records(), source="sw")
    costs = _costs()
    costs.pop("burn")
    assert costs == _expected()


def test_bulk_path_agrees_with_the_per_record_path(first_next, actor):
    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            ingest(actor, [call("burn", seconds=600)], source="sw")
            ingest(actor, _records(), source="sw")
            single = _costs()
            raise Rollback
    except Rollback:
        pass
    assert not Xdr.objects.exists()
    rate_bulk(actor, [call("burn", seconds=600)], source="sw")
    rate_bulk(actor, _records(), source="sw")
    bulk = _costs()
    assert bulk == single
    bulk.pop("burn")
    assert bulk == _expected()
