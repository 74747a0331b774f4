"""Charging sessions from many threads at once, each with its own connection (PostgreSQL: row
locks, real parallel writers). The customer's funds are the contention point: every grant is a
conditional UPDATE of the funds row (ledger.place_hold), so no interleaving of reports can reserve
or charge more than the funds hold."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.rating.models import Xdr
from tripleplay.sessions import services
from tripleplay.sessions.models import ChargingSession

from .conftest import SWITCH, invariants

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MAX_DB_CONNECTIONS = 40  # PostgreSQL's default allows 100
UK = "447700900123"  # 0.01 a second plus 0.05 to connect, 30 s then 6 s blocks


def run_concurrently(work, n: int) -> list:
    barrier = threading.Barrier(n)
    slots = threading.BoundedSemaphore(MAX_DB_CONNECTIONS)
    results: list = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            with slots:
                try:
                    results[i] = ("ok", work(i))
                except Exception as e:  # reported to the test
                    results[i] = ("error", e)
                finally:
                    connection.close()
        except threading.BrokenBarrierError as e:
            results[i] = ("error", e)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return results


def test_200_parallel_updates_never_spend_more_than_the_funds(subscriber, actor):
    from tripleplay.rating.models import RateTable
    from tripleplay.rating.services import set_rate

    # 0.01 a second, no fee, 1 s blocks: funds of 3.00 pay for exactly 300 seconds.
    set_rate(actor, RateTable.objects.get(service_type="voice"), prefix="1", price_per_unit_micros=600_000)
    account = subscriber(300)
    sessions = [f"c{k}" for k in range(20)]
    for sid in sessions:
        a = services.start(SWITCH, session_id=sid, service_type="voice", subscriber=account.phone_number,
                           destination="15559999", requested=5)
        assert a["result"] == "granted"

    def report(i: int):
        sid = sessions[i % len(sessions)]
        # A client that honours its grant: it reports usage up to what it was granted (read now: a
        # stale read is lower, never higher) and asks for 7 seconds more.
        granted = ChargingSession.objects.get(client=SWITCH, session_id=sid).granted
        return services.update(SWITCH, session_id=sid, used=granted, requested=7)

    results = run_concurrently(report, 200)
    assert [r for kind, r in results if kind == "error"] == []
    # "updated": a stale read of the grant reported nothing new
    assert {r["result"] for _, r in results} <= {"granted", "exhausted", "updated"}
    assert not LedgerEntry.objects.filter(idempotency_key__contains=":charge:").exists()  # never beyond a hold
    f = Funds.objects.get(customer_id=account.customer_id)
    assert f.balance_minor >= 0 and f.available_minor >= 0  # never overspent, whatever the interleaving
    invariants(account.customer_id)
    # Drain what is left, one session at a time, then stop every session at its grant.
    for sid in sessions:
        while True:
            granted = ChargingSession.objects.get(client=SWITCH, session_id=sid).granted
            if services.update(SWITCH, session_id=sid, used=granted, requested=7)["result"] == "exhausted":
                break
    for sid in sessions:
        services.stop(SWITCH, session_id=sid, used=ChargingSession.objects.get(session_id=sid).granted)
    f = Funds.objects.get(customer_id=account.customer_id)
    # Exactly the 300 seconds the funds paid for were granted, used and charged.
    assert (f.balance_minor, f.held_minor) == (0, 0)
    assert sum(ChargingSession.objects.values_list("used", flat=True)) == 300
    assert sum(ChargingSession.objects.values_list("charged_minor", flat=True)) == 300
    assert -sum(LedgerEntry.objects.filter(kind="charge").values_list("amount_minor", flat=True)) == 300
    assert sum(Xdr.objects.values_list("cost_minor", flat=True)) == 300
    assert not Hold.objects.filter(status="active").exists()
    invariants(account.customer_id)


def test_a_sequence_retried_in_parallel_is_charged_once(subscriber):
    account = subscriber(1000)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=UK)
    results = run_concurrently(lambda i: services.update(SWITCH, session_id="c1", used=31, sequence=1), 50)
    assert [r for kind, r in results if kind == "error"] == []
    answers = [r for _, r in results]
    assert all(a == answers[0] for a in answers) and answers[0]["charged_minor"] == 41
    assert list(LedgerEntry.objects.filter(kind="charge").values_list("amount_minor", flat=True)) == [-41]
    invariants(account.customer_id)
