"""Many orders at once never overspend: N threads, each ordering an add-on for its own account of one
prepaid customer whose funds cover exactly ``affordable`` of them (200 threads on PostgreSQL, a
smaller run on any database). Then every order again with its own transaction id, at once: the same
answers, nothing charged twice."""

from __future__ import annotations

import pytest

from tripleplay.customers.models import AccountProduct
from tripleplay.customers.services import create_account
from tripleplay.iptv.models import Subscriber
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.ledger.services import record_payment
from tripleplay.ledger.tests.test_concurrency import run_concurrently, unexpected
from tripleplay.money import Money
from tripleplay.orders import services
from tripleplay.orders.models import TvOrder
from tripleplay.subscriptions.models import SubscriptionCharge


def parallel_orders(world, n_threads: int, affordable: int):
    c = world.make_customer()
    accounts = [create_account(world.actor, c, main_plan=world.tv_plan) for _ in range(n_threads)]
    refs = dict(Subscriber.objects.filter(account__in=accounts).values_list("account_id", "external_id"))
    record_payment(world.actor, c, Money(affordable * 500, "USD"), idempotency_key="exactly-n")

    def place(i: int):
        answer = services.place_order(world.platform, transaction_id=f"c-{i}", subscriber=refs[accounts[i].pk],
                                      action="add", product="sports")
        return answer.http_status, dict(answer)

    first = run_concurrently(place, n_threads)
    assert unexpected(first) == []
    answers = [r for _, r in first]
    done = [a for status, a in answers if a["result"] == "done"]
    declined = [a for status, a in answers if a["result"] == "declined"]
    assert len(done) == affordable and len(declined) == n_threads - affordable
    assert {a["code"] for a in declined} == {"insufficient_funds"} and {s for s, _ in answers} == {200}
    assert AccountProduct.objects.filter(account__customer=c, product__code="sports").count() == affordable
    assert SubscriptionCharge.objects.filter(customer=c).count() == affordable
    f = funds_of(c)
    assert f.balance.minor == 0 == sum_of_entries(c) and f.available.minor == 0
    assert TvOrder.objects.filter(customer=c).count() == n_threads

    again = run_concurrently(place, n_threads)
    assert unexpected(again) == []
    assert [r for _, r in again] == answers
    assert SubscriptionCharge.objects.filter(customer=c).count() == affordable
    assert funds_of(c).balance.minor == 0 and TvOrder.objects.filter(customer=c).count() == n_threads


@pytest.mark.django_db(transaction=True)
def test_parallel_orders_never_overspend_small(world):
    parallel_orders(world, n_threads=8, affordable=3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_parallel_orders_against_funds_for_exactly_n(world):
    parallel_orders(world, n_threads=200, affordable=37)
