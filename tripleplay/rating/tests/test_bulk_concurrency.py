"""Concurrent bulk imports on PostgreSQL: the same records sent by four importers at once are stored and
charged once (the losers roll their chunk back on the unique index and run it again, finding
duplicates), and per-record intake at the same time shares the free minutes exactly."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.models import AllowanceUsage, Xdr
from tripleplay.rating.services import ingest

from .conftest import call

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*targets):
    barrier = threading.Barrier(len(targets))
    errors = []

    def wrap(target):
        try:
            barrier.wait(timeout=30)
            target()
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_same_records_from_four_importers_are_charged_once(world, actor):
    records = [call(f"c{i}", seconds=61) for i in range(300)]  # 600 s free, then 0.20 each
    results = []
    run_together(*[lambda: results.append(rate_bulk(actor, records, source="sw", chunk_size=40))
                   for _ in range(4)])
    assert Xdr.objects.count() == 300
    assert sum(r.counts["rated"] for r in results) == 300
    assert sum(r.counts["duplicate"] for r in results) == 900
    # 300 calls of 120 s billed: the first 5 free (600 s), 295 x 0.20
    assert Funds.objects.get(customer=world.customer).balance_minor == -295 * 20
    assert LedgerEntry.objects.filter(source="usage").aggregate(t=Sum("amount_minor"))["t"] == -295 * 20
    assert AllowanceUsage.objects.get().used == 600


def test_bulk_and_per_record_intake_share_the_free_minutes(world, actor):
    bulk = [call(f"b{i}", seconds=60) for i in range(8)]
    single = [call(f"s{i}", seconds=60) for i in range(8)]
    run_together(lambda: rate_bulk(actor, bulk, source="sw", chunk_size=3),
                 lambda: ingest(actor, single, source="sw"))
    rated = Xdr.objects.filter(status="rated")
    assert rated.count() == 16
    assert sum(x.allowance_used for x in rated) == 600  # ten free minutes, whoever took them
    assert sum(x.cost_minor for x in rated) == 6 * 10  # six whole minutes at 0.10
    assert Funds.objects.get(customer=world.customer).balance_minor == -60
    assert AllowanceUsage.objects.get().used == 600
