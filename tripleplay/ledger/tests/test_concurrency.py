"""Money writes from many threads at once, each thread with its own database connection.

The tests run in committed transactions (``transaction=True``) so that the threads see the
customer and funds the test created. The full-size scenarios need PostgreSQL (row locks, real
parallel writers); smaller versions of the same scenarios run on any database, SQLite included
(IMMEDIATE transactions serialize writers; busy writers wait up to the settings' timeout).

PostgreSQL allows 100 connections by default, so at most ``MAX_DB_CONNECTIONS`` threads hold a
connection at a time; all threads still start together and contend.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.core.errors import InsufficientFunds
from tripleplay.ledger import selectors
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.ledger.services import (
    HoldNotActive,
    capture_hold,
    place_hold,
    post_charge,
    record_payment,
    release_hold,
)
from tripleplay.money import Money

pytestmark = pytest.mark.django_db(transaction=True)

MAX_DB_CONNECTIONS = 40
ACTOR = Actor.system("concurrency")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def run_concurrently(work, n: int) -> list[tuple[str, object]]:
    """Run ``work(i)`` for i in 0..n-1 in n threads released together. Returns, in order of i,
    ("ok", result) or ("error", exception)."""
    barrier = threading.Barrier(n)
    slots = threading.BoundedSemaphore(MAX_DB_CONNECTIONS)
    results: list[tuple[str, object] | None] = [None] * n

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

    threads = [threading.Thread(target=target, args=(i,), name=f"worker-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    assert None not in results
    return results


def unexpected(results, *allowed: type[Exception]) -> list:
    return [r for kind, r in results if kind == "error" and not isinstance(r, allowed)]


def funds(customer) -> Funds:
    return Funds.objects.get(customer_id=customer.pk)


def assert_invariants(customer):
    f = funds(customer)
    assert f.balance_minor == selectors.sum_of_entries(customer)
    assert f.held_minor == selectors.sum_of_active_holds(customer)
    assert f.held_minor >= 0
    return f


# -- the scenarios --------------------------------------------------------------------------------


def charges_and_payments(customer, n: int):
    """(a) n threads each post an uncovered charge and a payment to one customer."""
    charges = [100 + i for i in range(n)]
    payments = [250 + 3 * i for i in range(n)]

    def work(i):
        c = post_charge(ACTOR, customer, usd(charges[i]), description="usage", idempotency_key=f"a-charge-{i}")
        p = record_payment(ACTOR, customer, usd(payments[i]), idempotency_key=f"a-pay-{i}")
        return c.pk, p.pk

    results = run_concurrently(work, n)
    assert unexpected(results) == []
    f = assert_invariants(customer)
    assert f.balance_minor == sum(payments) - sum(charges)
    entries = list(LedgerEntry.objects.filter(customer=customer).order_by("id"))
    assert len(entries) == 2 * n
    assert sorted(e.amount_minor for e in entries) == sorted([-c for c in charges] + payments)
    # balance_after forms one chain in id order: every entry saw exactly the previous one's balance
    previous = 0
    for e in entries:
        assert e.balance_after_minor == previous + e.amount_minor, f"entry {e.pk} breaks the chain"
        previous = e.balance_after_minor
    assert previous == f.balance_minor
    assert AuditEvent.objects.filter(action__in=["ledger.charge", "ledger.payment"]).count() == 2 * n


def holds_against_exact_funds(customer, n: int, funded_units: int):
    """(b) n threads each try to hold 1.00 against exactly ``funded_units`` x 1.00."""
    record_payment(ACTOR, customer, usd(100 * funded_units), idempotency_key="b-topup")

    def work(i):
        return place_hold(ACTOR, customer, usd(100), idempotency_key=f"b-hold-{i}").pk

    results = run_concurrently(work, n)
    assert unexpected(results, InsufficientFunds) == []
    outcomes = Counter(kind for kind, _ in results)
    assert outcomes == {"ok": funded_units, "error": n - funded_units}
    f = assert_invariants(customer)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (100 * funded_units, 100 * funded_units, 0)
    assert Hold.objects.filter(customer=customer, status="active").count() == funded_units
    assert sorted(r for kind, r in results if kind == "ok") == sorted(
        Hold.objects.filter(customer=customer).values_list("pk", flat=True))


def same_key_retries(customer, n: int):
    """(c) n threads retry the same payment (same idempotency key) at once."""

    def work(i):
        return record_payment(ACTOR, customer, usd(500), idempotency_key="c-same", reference="bank-42").pk

    results = run_concurrently(work, n)
    assert unexpected(results) == []
    pks = {r for _, r in results}
    assert len(pks) == 1
    assert list(LedgerEntry.objects.filter(customer=customer).values_list("pk", "amount_minor",
                                                                          "balance_after_minor")) == [
        (pks.pop(), 500, 500)]
    f = assert_invariants(customer)
    assert f.balance_minor == 500
    assert AuditEvent.objects.filter(action="ledger.payment").count() == 1


def interleaved_holds(customer, n_holds: int, n_new: int):
    """(d) captures, partial captures, releases, capture-vs-release races and new holds, all at once."""
    record_payment(ACTOR, customer, usd(100 * n_holds + 300 * n_new // 2), idempotency_key="d-topup")
    holds = [place_hold(ACTOR, customer, usd(100), idempotency_key=f"d-pre-{i}") for i in range(n_holds)]
    # what each hold gets: 0 capture, 1 release, 2 capture and release racing, 3 two partial captures of 40
    jobs = []
    for i, hold in enumerate(holds):
        plan = i % 4
        if plan == 0:
            jobs.append(("capture", hold, None))
        elif plan == 1:
            jobs.append(("release", hold, None))
        elif plan == 2:
            jobs += [("capture", hold, None), ("release", hold, None)]
        else:
            jobs += [("capture", hold, 40), ("capture", hold, 40)]
    jobs += [("place", None, i) for i in range(n_new)]

    def work(i):
        op, hold, arg = jobs[i]
        if op == "capture":
            entry = capture_hold(ACTOR, Hold.objects.get(pk=hold.pk), amount=usd(arg) if arg else None)
            return ("captured", hold.pk, entry.pk)
        if op == "release":
            return ("released", hold.pk, release_hold(ACTOR, Hold.objects.get(pk=hold.pk)).status)
        return ("placed", place_hold(ACTOR, customer, usd(300), idempotency_key=f"d-new-{arg}").pk, None)

    results = run_concurrently(work, len(jobs))
    assert unexpected(results, HoldNotActive, InsufficientFunds) == []
    by_hold = {h.pk: [] for h in holds}
    for (op, hold, _), (kind, result) in zip(jobs, results, strict=True):
        if hold is not None:
            by_hold[hold.pk].append((op, kind, result))
    for i, hold in enumerate(holds):
        hold.refresh_from_db()
        outcomes = by_hold[hold.pk]
        plan = i % 4
        if plan == 0:
            assert (hold.status, hold.captured_minor) == ("captured", 100)
            assert outcomes[0][1] == "ok"
        elif plan == 1:
            assert hold.status == "released"
        elif plan == 2:  # exactly one of the two won; the loser was told the hold is not active
            assert hold.status in ("captured", "released")
            kinds = sorted(kind for _, kind, _ in outcomes)
            assert kinds == ["error", "ok"]
            winner = next(op for op, kind, _ in outcomes if kind == "ok")
            assert hold.status == {"capture": "captured", "release": "released"}[winner]
            assert all(isinstance(r, HoldNotActive) for _, kind, r in outcomes if kind == "error")
        else:  # both partial captures of the same amount return the one entry
            assert (hold.status, hold.captured_minor) == ("captured", 40)
            assert [kind for _, kind, _ in outcomes] == ["ok", "ok"]
            assert outcomes[0][2][2] == outcomes[1][2][2] == hold.entry_id
        if hold.status == "captured":
            entry = LedgerEntry.objects.get(idempotency_key=f"hold:{hold.pk}:capture")
            assert (entry.pk, entry.amount_minor) == (hold.entry_id, -hold.captured_minor)
        else:
            assert hold.entry_id is None
    f = assert_invariants(customer)
    assert f.available_minor >= 0
    captured = sum(Hold.objects.filter(customer=customer, status="captured").values_list("captured_minor", flat=True))
    assert f.balance_minor == 100 * n_holds + 300 * n_new // 2 - captured
    assert LedgerEntry.objects.filter(customer=customer).count() == 1 + Hold.objects.filter(
        customer=customer, status="captured").count()
    placed = [r[1] for kind, r in results if kind == "ok" and r[0] == "placed"]
    assert len(placed) >= n_new // 2  # half of them were funded up front; releases may fund more
    assert set(placed) == set(Hold.objects.filter(customer=customer, idempotency_key__startswith="d-new-")
                              .values_list("pk", flat=True))


# -- PostgreSQL: full size ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_pg_50_threads_charges_and_payments_keep_one_consistent_chain(make_customer):
    charges_and_payments(make_customer("postpaid", credit_limit_minor=0), 50)


@pytest.mark.postgres
def test_pg_100_threads_holding_against_exactly_ten_units(make_customer):
    holds_against_exact_funds(make_customer(), 100, 10)


@pytest.mark.postgres
def test_pg_100_threads_retrying_one_idempotency_key(make_customer):
    same_key_retries(make_customer(), 100)


@pytest.mark.postgres
def test_pg_interleaved_captures_releases_and_new_holds(make_customer):
    interleaved_holds(make_customer(), 40, 30)


# -- any database (SQLite included): smaller --------------------------------------------------------


def test_8_threads_charges_and_payments_keep_one_consistent_chain(make_customer):
    charges_and_payments(make_customer("postpaid", credit_limit_minor=0), 8)


def test_8_threads_holding_against_exactly_five_units(make_customer):
    holds_against_exact_funds(make_customer(), 8, 5)


def test_8_threads_retrying_one_idempotency_key(make_customer):
    same_key_retries(make_customer(), 8)


def test_interleaved_captures_releases_and_new_holds(make_customer):
    interleaved_holds(make_customer(), 8, 4)
