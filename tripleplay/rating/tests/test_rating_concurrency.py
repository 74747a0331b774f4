"""Two ratings at once cannot both take the last free minutes (conditional UPDATE on the usage row).
Needs PostgreSQL (parallel writers); on SQLite the writers are serialized anyway."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tripleplay.rating.models import AllowanceUsage, Xdr
from tripleplay.rating.services import ingest

from .conftest import call

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_calls_share_the_last_free_minutes_exactly(world, actor):
    [first] = ingest(actor, [call("warm", seconds=60)])  # creates the usage row: 540 s left
    assert first.cost_minor == 0
    n = 8
    barrier = threading.Barrier(n)
    errors = []

    def rate(i):
        try:
            barrier.wait(timeout=30)
            ingest(actor, [call(f"t{i}", seconds=120)])
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    usage = AllowanceUsage.objects.get()
    assert usage.used == 600
    rated = Xdr.objects.filter(external_id__startswith="t")
    assert sum(x.allowance_used for x in rated) == 540
    # 8 x 120 s = 960 s, 540 free, 420 s (7 minutes) charged at 0.10 over whole-minute increments
    assert sum(x.cost_minor for x in rated) == 70
