"""Peak and off-peak prices, end to end with exact costs, on the per-record and the bulk path alike.

The "44" rate: peak 0.20/min at 30/6 plus 0.05 a call; off-peak 0.07/min, no connection fee. The
peak window: Monday to Friday 08:00-20:00 in the rate table's time zone. The start time decides."""

from __future__ import annotations

from datetime import time

import pytest

from tripleplay.core.errors import InvalidInput
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.models import Xdr
from tripleplay.rating.services import ingest, set_peak_window, set_rate

from .conftest import call

UK = "4420123456"


@pytest.fixture
def peak_world(world, actor):
    [r] = ingest(actor, [call("free", seconds=600)])  # the ten free minutes are gone
    assert r.cost_minor == 0
    set_rate(actor, world.voice_table, prefix="44", price_per_unit_micros=200_000, connection_fee_micros=50_000,
             first_increment=30, next_increment=6, offpeak_price_per_unit_micros=70_000,
             offpeak_connection_fee_micros=0)
    set_peak_window(actor, world.voice_table, start=time(8), end=time(20), weekdays="54321",
                    time_zone="Europe/London")
    return world


# 2026-03-10 is a Tuesday, 2026-03-14 a Saturday; London is UTC+0 until 2026-03-29, UTC+1 after.
@pytest.mark.parametrize("at, seconds, cost, offpeak", [
    ("2026-03-10T12:00:00Z", 61, 27, False),  # peak: 66 s x 0.20 + 0.05 = 0.27
    ("2026-03-10T07:59:59Z", 61, 8, True),  # off-peak: 66 s x 0.07 = 0.077 -> 0.08
    ("2026-03-10T08:00:00Z", 61, 27, False),  # the window's start is peak
    ("2026-03-10T20:00:00Z", 61, 8, True),  # its end is off-peak
    ("2026-03-10T19:59:00Z", 3600, 1205, False),  # crosses 20:00: the start decides, all at peak
    ("2026-03-10T07:30:00Z", 3600, 420, True),  # crosses 08:00: all off-peak, 60 min x 0.07
    ("2026-03-14T12:00:00Z", 61, 8, True),  # Saturday
    ("2026-03-30T07:30:00Z", 61, 27, False),  # 08:30 in London (summer time): peak
    ("2026-03-30T19:30:00Z", 61, 8, True),  # 20:30 in London: off-peak
    ("2026-03-10T12:00:00Z", 0, 0, False),  # zero-length: nothing
])
@pytest.mark.parametrize("path", ["per-record", "bulk"])
def test_peak_and_offpeak_costs(peak_world, actor, at, seconds, cost, offpeak, path):
    record = call("p1", callee=UK, seconds=seconds, at=at)
    if path == "bulk":
        [r] = rate_bulk(actor, [record], collect=True).results
    else:
        [r] = ingest(actor, [record])
    assert (r.status, r.cost_minor) == ("rated", cost)
    xdr = Xdr.objects.get(external_id="p1")
    assert (xdr.offpeak, xdr.cost_minor) == (offpeak, cost)


def test_rates_without_offpeak_terms_cost_the_same_at_any_time(peak_world, actor):
    results = ingest(actor, [call("d1", seconds=61, at="2026-03-10T12:00:00Z"),
                             call("d2", seconds=61, at="2026-03-14T23:00:00Z")])
    assert [(r.cost_minor, Xdr.objects.get(pk=r.xdr_id).offpeak) for r in results] == [(20, False), (20, False)]


def test_removing_the_window_makes_every_time_peak(peak_world, actor):
    set_peak_window(actor, peak_world.voice_table, start=None, end=None)
    [r] = ingest(actor, [call("w1", callee=UK, seconds=61, at="2026-03-14T12:00:00Z")])
    assert r.cost_minor == 27


@pytest.mark.parametrize("kwargs", [
    {"start": time(20), "end": time(8)},
    {"start": time(8), "end": None},
    {"start": time(8), "end": time(20), "weekdays": "089"},
    {"start": time(8), "end": time(20), "weekdays": "11"},
    {"start": time(8), "end": time(20), "weekdays": ""},
    {"start": time(8), "end": time(20), "time_zone": "Mars/Olympus"},
])
def test_bad_windows_are_refused(peak_world, actor, kwargs):
    with pytest.raises(InvalidInput):
        set_peak_window(actor, peak_world.voice_table, **kwargs)
    peak_world.voice_table.refresh_from_db()
    assert (peak_world.voice_table.peak_start, peak_world.voice_table.time_zone) == (time(8), "Europe/London")


def test_bad_offpeak_price_refused(peak_world, actor):
    with pytest.raises(InvalidInput):
        set_rate(actor, peak_world.voice_table, prefix="44", price_per_unit_micros=1, offpeak_price_per_unit_micros=-1)
