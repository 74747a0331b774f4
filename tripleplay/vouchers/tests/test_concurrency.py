"""Many redemptions of one voucher at once, each thread with its own connection: exactly one credit.

Committed transactions (``transaction=True``) so that the threads see the batch and the customers.
The full size needs PostgreSQL (row locks, real parallel writers); a small version runs anywhere
(SQLite IMMEDIATE transactions serialize the writers)."""

from __future__ import annotations

import pytest

from tripleplay.core.actors import Actor
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of
from tripleplay.ledger.tests.test_concurrency import run_concurrently
from tripleplay.money import Money
from tripleplay.vouchers.models import Voucher
from tripleplay.vouchers.services import VoucherRefused, redeem

pytestmark = pytest.mark.django_db(transaction=True)


def one_voucher_many_redemptions(make_customer, make_batch, n: int, customers: int):
    people = [make_customer() for _ in range(customers)]
    created = make_batch(value_minor=1500, count=1)
    code = created.codes[0].code

    def work(i):
        # Distinct clients: the per-client throttle is not what stops them.
        return redeem(Actor.system(f"redeemer-{i}"), code=code, customer=people[i % customers])

    results = run_concurrently(work, n)
    won = [r for kind, r in results if kind == "ok"]
    lost = [r for kind, r in results if kind == "error"]
    assert len(won) == 1, lost[:3]
    assert all(isinstance(e, VoucherRefused) and e.code == "voucher_used" for e in lost), \
        {type(e).__name__ + ":" + getattr(e, "code", str(e)) for e in lost}
    winner = won[0].entry.customer_id
    entries = LedgerEntry.objects.filter(source="voucher")
    assert [(e.customer_id, e.amount_minor) for e in entries] == [(winner, 1500)]
    for person in people:
        assert funds_of(person).balance == Money(1500 if person.pk == winner else 0, "USD")
    voucher = Voucher.objects.get(batch=created.batch)
    assert (voucher.customer_id, voucher.entry_id) == (winner, entries[0].pk)


@pytest.mark.postgres
def test_pg_200_parallel_redemptions_of_one_voucher_give_one_credit(make_customer, make_batch, settings):
    settings.TRIPLEPLAY_VOUCHER_MAX_FAILURES = 1000  # every customer tries many times here
    one_voucher_many_redemptions(make_customer, make_batch, 200, 20)


def test_8_parallel_redemptions_of_one_voucher_give_one_credit(make_customer, make_batch, settings):
    settings.TRIPLEPLAY_VOUCHER_MAX_FAILURES = 1000
    one_voucher_many_redemptions(make_customer, make_batch, 8, 4)
