"""Self-service add-ons (the portal): the first day's fees are charged with the add-on, in its
transaction, covered by prepaid funds or not added at all. Many at once never overspend:
200 parallel additions on PostgreSQL against funds for exactly N (a smaller run on any database)."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.errors import InsufficientFunds
from tripleplay.customers.models import AccountProduct
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.ledger.services import record_payment
from tripleplay.ledger.tests.test_concurrency import run_concurrently, unexpected
from tripleplay.money import Money
from tripleplay.subscriptions.models import SubscriptionCharge
from tripleplay.subscriptions.services import add_addon_and_charge, quote_addon

ACTOR = Actor.system("self-service")


def test_quote_and_charge_of_an_in_advance_plan_with_an_activation_fee(db, actor, catalog, make_customer, make_account):
    from tripleplay.catalog.services import create_plan

    plan = create_plan(actor, catalog.movies, code="movies-act", name="Movies with activation", periodic_fee_minor=799,
                       activation_fee_minor=250)
    c = make_customer()
    record_payment(actor, c, Money(1048, "USD"), idempotency_key="q-pay")
    a = make_account(c)
    quote = quote_addon(c, plan)
    assert (quote.due_now.minor, quote.periodic_fee.minor, quote.must_cover, quote.available.minor, quote.covered) == (
        1049, 799, True, 1048, False)
    with pytest.raises(InsufficientFunds):  # the activation fee is taken, the period's fee is not: all or nothing
        add_addon_and_charge(actor, a, plan)
    assert funds_of(c).balance.minor == 1048 and not AccountProduct.objects.filter(account=a, plan=plan).exists()
    record_payment(actor, c, Money(1, "USD"), idempotency_key="q-pay-2")
    assert quote_addon(c, plan).covered
    add_addon_and_charge(actor, a, plan)
    assert funds_of(c).balance.minor == 0
    assignment = AccountProduct.objects.get(account=a, plan=plan)
    assert sorted(SubscriptionCharge.objects.filter(assignment=assignment).values_list("kind", "amount_minor")) == [
        ("activation", 250), ("periodic", 799)]


def test_arrears_and_postpaid_are_not_covered_up_front(db, actor, catalog, make_customer, make_account):
    from tripleplay.catalog.services import create_plan

    arrears = create_plan(actor, catalog.movies, code="movies-arr", name="Movies in arrears", periodic_fee_minor=799,
                          charge_mode="in_arrears")
    prepaid = make_customer()
    q = quote_addon(prepaid, arrears)
    assert (q.due_now.minor, q.must_cover, q.covered) == (0, False, True)
    add_addon_and_charge(actor, make_account(prepaid), arrears)  # nothing due today: no entry, no refusal
    assert LedgerEntry.objects.filter(customer=prepaid).count() == 0
    postpaid = make_customer(balance_model="postpaid", credit_limit_minor=0)
    q = quote_addon(postpaid, catalog.movies_plan)
    assert (q.due_now.minor, q.must_cover) == (799, False)
    add_addon_and_charge(actor, make_account(postpaid), catalog.movies_plan)  # owed on the invoice
    assert funds_of(postpaid).balance.minor == -799


def test_not_covered_leaves_no_addon_no_entry(db, actor, catalog, make_customer, make_account):
    c = make_customer()
    record_payment(actor, c, Money(798, "USD"), idempotency_key="short")
    a = make_account(c)
    assert not quote_addon(c, catalog.movies_plan).covered
    with pytest.raises(InsufficientFunds):
        add_addon_and_charge(actor, a, catalog.movies_plan)
    assert not AccountProduct.objects.filter(account=a, product=catalog.movies).exists()
    assert LedgerEntry.objects.filter(customer=c).count() == 1 and funds_of(c).balance.minor == 798


def parallel_additions(catalog, make_customer, make_account, n_threads: int, affordable: int):
    clock.freeze(clock.now().replace(year=2026, month=5, day=4))
    c = make_customer()
    accounts = [make_account(c) for _ in range(n_threads)]
    fee = catalog.movies_plan.periodic_fee_minor
    record_payment(ACTOR, c, Money(affordable * fee, "USD"), idempotency_key="exactly-n")

    results = run_concurrently(lambda i: add_addon_and_charge(ACTOR, accounts[i], catalog.movies_plan).pk, n_threads)
    assert unexpected(results, InsufficientFunds) == []
    added = [r for kind, r in results if kind == "ok"]
    assert len(added) == affordable
    assert AccountProduct.objects.filter(account__customer=c, product=catalog.movies).count() == affordable
    assert SubscriptionCharge.objects.filter(customer=c).count() == affordable
    f = funds_of(c)
    assert f.balance.minor == 0 == sum_of_entries(c) and f.available.minor == 0
    assert clock.today() == date(2026, 5, 4)


@pytest.mark.django_db(transaction=True)
def test_parallel_additions_never_overspend_small(catalog, make_customer, make_account):
    parallel_additions(catalog, make_customer, make_account, n_threads=8, affordable=3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_parallel_additions_against_funds_for_exactly_n(catalog, make_customer, make_account):
    parallel_additions(catalog, make_customer, make_account, n_threads=200, affordable=37)
