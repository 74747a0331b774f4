"""PPV calls from many threads at once, each thread with its own database connection.

The tests run in committed transactions (``transaction=True``) so that the threads see what the
test created. PostgreSQL allows 100 connections, so at most ``MAX_THREADS`` threads run (a
ThreadPoolExecutor), released together by a Barrier, each taking calls from one shared list until
it is empty: 200 calls still contend for the same funds row. Every thread closes its connection.

The full-size scenarios need PostgreSQL (row locks, parallel writers); smaller versions of the same
scenarios run on any database (SQLite: IMMEDIATE transactions serialize the writers).
"""

from __future__ import annotations

import queue
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from tripleplay import clock
from tripleplay.ledger.models import Hold, LedgerEntry
from tripleplay.ppv import services
from tripleplay.ppv.models import PpvPurchase
from tripleplay.ppv.tests.conftest import T0, assert_ledger_invariants, funds

pytestmark = pytest.mark.django_db(transaction=True)

MAX_THREADS = 40


def run_contending(calls: list, threads: int) -> list[tuple[str, object]]:
    """Run every zero-argument callable in ``calls`` on ``threads`` threads released together.
    Returns, in the order of ``calls``, ("ok", result) or ("error", exception)."""
    n = min(threads, MAX_THREADS, len(calls))
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(calls)):
        todo.put(i)
    barrier = threading.Barrier(n)
    results: list[tuple[str, object] | None] = [None] * len(calls)

    def loop() -> None:
        try:
            barrier.wait(timeout=60)
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[i] = ("ok", calls[i]())
                except Exception as e:  # reported to the test
                    results[i] = ("error", e)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="ppv") as pool:
        for future in [pool.submit(loop) for _ in range(n)]:
            future.result(timeout=300)
    assert None not in results
    errors = [r for kind, r in results if kind == "error"]
    assert errors == [], errors[:3]
    return [r for _, r in results]


def body(answer) -> dict:
    return {**answer, "_http": answer.http_status}


def statuses() -> Counter:
    return Counter(PpvPurchase.objects.values_list("status", flat=True))


# -- the scenarios --------------------------------------------------------------------------------


def exact_funds(w, n: int, units: int, threads: int):
    """n authorizations (distinct transaction ids) of a 1.00 event against exactly ``units`` x 1.00."""
    w.event("fight", 100)
    b = w.buyer(100 * units)
    answers = run_contending([lambda i=i: services.authorize(w.platform, transaction_id=f"T{i}", subscriber=b.ref,
                                                             event_id="fight") for i in range(n)], threads)
    assert Counter((a["result"], a["code"]) for a in answers) == {("approved", "ok"): units,
                                                                  ("declined", "insufficient_funds"): n - units}
    # each approval saw the funds one unit lower; every decline saw nothing left
    assert sorted(a["available_minor"] for a in answers if a["result"] == "approved") == [
        100 * k for k in range(units)]
    assert {a["available_minor"] for a in answers if a["result"] == "declined"} == {0}
    assert funds(b.customer) == (100 * units, 100 * units, 0)
    assert Hold.objects.filter(customer=b.customer, status="active").count() == Hold.objects.count() == units
    assert PpvPurchase.objects.count() == n
    assert statuses() == {"authorized": units, "declined": n - units}
    assert sorted(a["authorization_id"] for a in answers) == sorted(PpvPurchase.objects.values_list("pk", flat=True))
    assert LedgerEntry.objects.count() == 1
    assert_ledger_invariants()


def interleaved(w, n_pre: int, n_new: int, units: int, threads: int, seed: int):
    """Confirms (full and partial) and cancels of open authorizations race new authorizations."""
    assert units > n_pre
    w.event("fight", 100)
    b = w.buyer(100 * units)
    for i in range(n_pre):
        assert services.authorize(w.platform, transaction_id=f"P{i}", subscriber=b.ref,
                                  event_id="fight")["result"] == "approved"
    rng = random.Random(seed)
    plans = {f"P{i}": rng.choice(["confirm", "partial", "cancel"]) for i in range(n_pre)}
    plans |= {f"N{i}": rng.choice(["confirm", "partial", "cancel", "keep"]) for i in range(n_new)}

    def settle(tid: str):
        plan = plans[tid]
        if plan == "confirm":
            return services.confirm(w.platform, transaction_id=tid)
        if plan == "partial":
            return services.confirm(w.platform, transaction_id=tid, amount_minor=40)
        if plan == "cancel":
            return services.cancel(w.platform, transaction_id=tid)
        return None

    def buy_then_settle(tid: str):
        a = services.authorize(w.platform, transaction_id=tid, subscriber=b.ref, event_id="fight")
        return a, settle(tid) if a["result"] == "approved" else None

    calls = [lambda t=t: (None, settle(t)) for t in plans if t.startswith("P")]
    calls += [lambda t=t: buy_then_settle(t) for t in plans if t.startswith("N")]
    tids = [t for t in plans if t.startswith("P")] + [t for t in plans if t.startswith("N")]
    order = list(range(len(calls)))
    rng.shuffle(order)
    outcomes = run_contending([calls[k] for k in order], threads)
    results = {tids[k]: outcome for k, outcome in zip(order, outcomes, strict=True)}

    expected_status = {"confirm": "confirmed", "partial": "confirmed", "cancel": "cancelled", "keep": "authorized"}
    purchases = {p.transaction_id: p for p in PpvPurchase.objects.all()}
    assert set(purchases) == set(plans)
    approved_new = 0
    for tid, (auth, settled) in results.items():
        p = purchases[tid]
        if auth is not None and auth["result"] == "declined":
            assert (auth["code"], p.status, p.hold_id) == ("insufficient_funds", "declined", None)
            continue
        approved_new += auth is not None
        assert p.status == expected_status[plans[tid]], tid
        if settled is not None:
            assert (settled.http_status, settled["code"]) == (200, "ok"), (tid, dict(settled))
        if plans[tid] in ("confirm", "partial"):
            assert p.charged_minor == settled["amount_minor"] == (100 if plans[tid] == "confirm" else 40)
    assert approved_new >= units - n_pre  # at least what was never held by the first ones
    confirmed = [p for p in purchases.values() if p.status == "confirmed"]
    still_open = [p for p in purchases.values() if p.status == "authorized"]
    balance, held, available = funds(b.customer)
    assert balance == 100 * units - sum(p.charged_minor for p in confirmed)
    assert held == 100 * len(still_open)
    assert available == balance - held >= 0
    assert LedgerEntry.objects.filter(kind="charge").count() == len(confirmed)
    assert Hold.objects.filter(status="active").count() == len(still_open)
    assert_ledger_invariants()


def same_transaction_retries(w, n: int, threads: int):
    """n threads authorize T1 with the same parameters, then n threads confirm it."""
    w.event("fight", 100)
    b = w.buyer(1000)
    answers = run_contending([lambda: services.authorize(w.platform, transaction_id="T1", subscriber=b.ref,
                                                         event_id="fight")] * n, threads)
    p = PpvPurchase.objects.get()
    assert {tuple(sorted(body(a).items())) for a in answers} == {tuple(sorted(body(answers[0]).items()))}
    assert (answers[0]["result"], answers[0]["authorization_id"], answers[0]["available_minor"]) == (
        "approved", p.pk, 900)
    assert Hold.objects.get().pk == p.hold_id
    assert funds(b.customer) == (1000, 100, 900)
    confirms = run_contending([lambda: services.confirm(w.platform, transaction_id="T1")] * n, threads)
    assert [body(c) for c in confirms] == [body(confirms[0])] * n
    assert (confirms[0]["result"], confirms[0]["amount_minor"], confirms[0]["available_minor"]) == (
        "confirmed", 100, 900)
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    assert funds(b.customer) == (900, 0, 900)
    assert_ledger_invariants()


def confirm_against_cancel(w, pairs: int, threads: int, seed: int):
    """For each authorization, a confirm and a cancel at once: exactly one wins."""
    w.event("fight", 100)
    b = w.buyer(100 * pairs)
    for i in range(pairs):
        services.authorize(w.platform, transaction_id=f"T{i}", subscriber=b.ref, event_id="fight")
    jobs = [(op, i) for i in range(pairs) for op in ("confirm", "cancel")]
    random.Random(seed).shuffle(jobs)
    calls = [lambda op=op, i=i: getattr(services, op)(w.platform, transaction_id=f"T{i}") for op, i in jobs]
    answers = run_contending(calls, threads)
    by_tid: dict[str, dict[str, object]] = {}
    for (op, i), a in zip(jobs, answers, strict=True):
        by_tid.setdefault(f"T{i}", {})[op] = a
    confirmed = 0
    for tid, ops in by_tid.items():
        p = PpvPurchase.objects.get(transaction_id=tid)
        winner = "confirm" if p.status == "confirmed" else "cancel"
        loser = "cancel" if winner == "confirm" else "confirm"
        assert p.status in ("confirmed", "cancelled")
        assert (ops[winner].http_status, ops[winner]["code"]) == (200, "ok")
        assert (ops[loser].http_status, ops[loser]["result"], ops[loser]["code"]) == (
            409, "error", "already_confirmed" if winner == "confirm" else "authorization_cancelled")
        confirmed += winner == "confirm"
    assert funds(b.customer) == (100 * pairs - 100 * confirmed, 0, 100 * pairs - 100 * confirmed)
    assert LedgerEntry.objects.filter(kind="charge").count() == confirmed
    assert Counter(Hold.objects.values_list("status", flat=True)) == {
        k: v for k, v in (("captured", confirmed), ("released", pairs - confirmed)) if v}
    assert_ledger_invariants()


def late_confirms_against_the_sweep(w, n: int, threads: int):
    """Past the expiry, confirms race the expiry job and cancels: no late confirm charges anything."""
    w.event("fight", 100)
    b = w.buyer(100 * n)
    for i in range(n):
        services.authorize(w.platform, transaction_id=f"T{i}", subscriber=b.ref, event_id="fight")
    clock.freeze(T0 + timedelta(minutes=16))
    jobs = [("confirm", i) for i in range(n)] + [("cancel", i) for i in range(0, n, 3)] + [("sweep", None)] * 4
    random.Random(7).shuffle(jobs)

    def call(op, i):
        if op == "sweep":
            return services.expire_authorizations()
        return getattr(services, op)(w.platform, transaction_id=f"T{i}")

    answers = run_contending([lambda op=op, i=i: call(op, i) for op, i in jobs], threads)
    swept = sum(a for (op, _), a in zip(jobs, answers, strict=True) if op == "sweep")
    final = dict(PpvPurchase.objects.values_list("transaction_id", "status"))
    assert set(final.values()) <= {"expired", "cancelled"}
    for (op, i), a in zip(jobs, answers, strict=True):
        if op == "confirm":
            code = {"expired": "authorization_expired", "cancelled": "authorization_cancelled"}[final[f"T{i}"]]
            assert (a.http_status, a["code"]) == (409, code)
        elif op == "cancel":
            assert a.http_status == (200 if final[f"T{i}"] == "cancelled" else 409)
    assert swept <= Counter(final.values())["expired"]
    assert funds(b.customer) == (100 * n, 0, 100 * n)
    assert LedgerEntry.objects.filter(kind="charge").count() == 0
    assert Hold.objects.filter(status="active").count() == 0
    assert_ledger_invariants()


# -- PostgreSQL: full size ------------------------------------------------------------------------


@pytest.mark.postgres
def test_pg_200_authorizations_against_funds_for_exactly_ten(ppv_world):
    exact_funds(ppv_world, 200, 10, MAX_THREADS)


@pytest.mark.postgres
def test_pg_confirms_and_cancels_interleaved_with_new_authorizations(ppv_world):
    interleaved(ppv_world, n_pre=20, n_new=180, units=30, threads=MAX_THREADS, seed=1)


@pytest.mark.postgres
def test_pg_50_retries_of_one_transaction_id(ppv_world):
    same_transaction_retries(ppv_world, 50, MAX_THREADS)


@pytest.mark.postgres
def test_pg_confirm_against_cancel_of_the_same_authorization(ppv_world):
    confirm_against_cancel(ppv_world, 25, MAX_THREADS, seed=2)


@pytest.mark.postgres
def test_pg_late_confirms_against_the_expiry_sweep(ppv_world):
    late_confirms_against_the_sweep(ppv_world, 30, MAX_THREADS)


# -- any database (SQLite included): smaller ------------------------------------------------------


def test_8_authorizations_against_funds_for_exactly_three(ppv_world):
    exact_funds(ppv_world, 8, 3, 8)


def test_confirms_and_cancels_interleaved_with_new_authorizations(ppv_world):
    interleaved(ppv_world, n_pre=2, n_new=10, units=5, threads=8, seed=3)


def test_8_retries_of_one_transaction_id(ppv_world):
    same_transaction_retries(ppv_world, 8, 8)


def test_confirm_against_cancel_of_the_same_authorization(ppv_world):
    confirm_against_cancel(ppv_world, 4, 8, seed=4)


def test_late_confirms_against_the_expiry_sweep(ppv_world):
    late_confirms_against_the_sweep(ppv_world, 4, 8)
