"""Charge runs racing each other (several workers, a job and a hand-run command at once): every fee is
charged once, and a prepaid customer out of funds is suspended once. Real threads, one connection
each, committed transactions; PostgreSQL row locks or SQLite's IMMEDIATE transactions serialize them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.ledger.services import record_payment
from tripleplay.ledger.tests.test_concurrency import run_concurrently
from tripleplay.money import Money
from tripleplay.subscriptions.models import SubscriptionCharge
from tripleplay.subscriptions.services import INSUFFICIENT_FUNDS, charge_all

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor.system("charge-race")


def test_concurrent_runs_charge_once(make_customer, catalog):
    clock.freeze(datetime(2025, 1, 1, 12, tzinfo=UTC))
    postpaid = make_customer("postpaid", credit_limit_minor=100_000)
    prepaid = make_customer("prepaid")
    record_payment(ACTOR, prepaid, Money(1000 + 1500 * 2, "USD"), idempotency_key="top-up")
    create_account(ACTOR, postpaid, main_plan=catalog.tv_plan, start_date=date(2025, 1, 1))
    create_account(ACTOR, prepaid, main_plan=catalog.tv_plan, start_date=date(2025, 1, 1))
    clock.freeze(datetime(2025, 3, 1, 12, tzinfo=UTC))

    results = run_concurrently(lambda i: charge_all(ACTOR, date(2025, 3, 1)), 8)

    assert all(kind == "ok" and not r.failures for kind, r in results), results
    assert sum(r.entries for _, r in results) == 4 + 3  # activation + 3 months; activation + 2 months
    assert sum(len(r.suspended) for _, r in results) == 1
    assert SubscriptionCharge.objects.filter(customer=postpaid).count() == 4
    assert SubscriptionCharge.objects.filter(customer=prepaid).count() == 3
    prepaid.refresh_from_db()
    assert (prepaid.status, prepaid.status_reason) == ("suspended", INSUFFICIENT_FUNDS)
    assert prepaid.status_changes.filter(to_status="suspended").count() == 1
    for c, balance in ((postpaid, -1000 - 3 * 1500), (prepaid, 0)):
        assert funds_of(c).balance.minor == sum_of_entries(c) == balance
    assert LedgerEntry.objects.filter(source="subscription").count() == 7


def test_payments_racing_charge_runs_leave_no_paid_up_customer_held(make_customer, catalog):
    """A run placing the funds' hold and a payment arriving at the same moment: either the payment
    sees the hold (the customer row it locks first was held by the run) and lifts it, or the run sees
    the payment under that lock and places none. Never a paid-up customer left suspended."""
    from tripleplay.customers.selectors import has_block

    clock.freeze(datetime(2025, 1, 1, 12, tzinfo=UTC))
    customers = [make_customer("prepaid") for _ in range(4)]
    for c in customers:  # 10.00 activation and 15.00 for January due, no funds
        create_account(ACTOR, c, main_plan=catalog.tv_plan, start_date=date(2025, 1, 1))

    def work(i: int):
        if i % 2 == 0:
            return charge_all(ACTOR, date(2025, 1, 1))
        c = customers[i // 2]
        return record_payment(ACTOR, c, Money(2500, "USD"), idempotency_key=f"pay-{c.pk}", method="card")

    results = run_concurrently(work, 8)

    assert all(kind == "ok" for kind, _ in results), results
    assert all(not r.failures for i, (_, r) in enumerate(results) if i % 2 == 0), results
    for c in customers:
        c.refresh_from_db()
        assert (c.status, has_block(c, "funds")) == ("active", False), c
