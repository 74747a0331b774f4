"""PostgreSQL, real threads (one connection each): four invoice runs, forty payments and forty new
charges at the same moment. Exactly one invoice per customer, gapless numbers, and every payment
allocated to its invoice whatever the interleaving (the payment and the invoice of one customer are
serialized on the customer row); balances stay the sum of the entries."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db.models import Sum

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.invoicing.models import Invoice, InvoicedEntry
from tripleplay.invoicing.services import run_invoices
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.ledger.services import post_charge, record_payment
from tripleplay.ledger.tests.test_concurrency import run_concurrently
from tripleplay.money import Money

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = Actor.system("invoicing-concurrency")
N = 40


@pytest.mark.postgres
def test_runs_payments_and_charges_at_once(make_customer):
    clock.freeze(datetime(2026, 1, 5, 12, tzinfo=UTC))
    customers = [make_customer("postpaid", credit_limit_minor=100_000, tax_rate="10") for _ in range(N)]
    for i, c in enumerate(customers):
        post_charge(ACTOR, c, Money(1000, "USD"), description="Installation", idempotency_key=f"inst-{i}")
    clock.freeze(datetime(2026, 2, 1, 3, tzinfo=UTC))

    def work(i):
        if i < 4:
            return run_invoices(ACTOR, date(2026, 2, 1), batch_size=5).invoices
        j = i - 4
        if j < N:
            return record_payment(ACTOR, customers[j], Money(600, "USD"), idempotency_key=f"pay-{j}", method="card")
        return post_charge(ACTOR, customers[j - N], Money(50, "USD"), description="Late usage",
                           idempotency_key=f"late-{j - N}")

    results = run_concurrently(work, 4 + 2 * N)
    assert [r for r in results if r[0] == "error"] == []
    assert sum(r[1] for r in results[:4]) == N
    rows = list(Invoice.objects.order_by("number").values_list("number", "customer_id", "total_minor", "settled_minor",
                                                                "status"))
    assert [r[0] for r in rows] == list(range(1, N + 1))
    assert sorted(r[1] for r in rows) == sorted(c.pk for c in customers)
    assert {(r[2], r[3], r[4]) for r in rows} == {(1100, 600, "partially_paid")}
    # the late charges were written after the period's end: on no invoice yet
    assert not InvoicedEntry.objects.filter(entry__description="Late usage").exists()
    for f in Funds.objects.filter(customer__in=customers):
        total = LedgerEntry.objects.filter(customer_id=f.customer_id).aggregate(s=Sum("amount_minor"))["s"]
        assert f.balance_minor == total == -1000 - 100 + 600 - 50
