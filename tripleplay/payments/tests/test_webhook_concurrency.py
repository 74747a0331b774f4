"""Many deliveries of one payment's events at once (Stripe delivers at least once, and its
checkout.session.completed and payment_intent.succeeded can arrive together): exactly one ledger
payment, one OnlinePayment, one row per event id. Committed transactions, a connection per thread."""

from __future__ import annotations

import pytest

from tripleplay.invoicing.models import Invoice
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.ledger.tests.test_concurrency import run_concurrently
from tripleplay.money import Money
from tripleplay.payments import services
from tripleplay.payments.models import OnlinePayment, WebhookEvent
from tripleplay.payments.tests.fixtures import events_about, post_event

pytestmark = pytest.mark.django_db(transaction=True)


def concurrent_deliveries(actor, make_customer, sim, n: int) -> None:
    from tripleplay.invoicing.services import issue_out_of_turn
    from tripleplay.ledger.services import post_charge

    customer = make_customer("postpaid", credit_limit_minor=100_000, email="race@example.net")
    post_charge(actor, customer, Money(1999, "USD"), description="fee", idempotency_key=f"race-{customer.pk}")
    invoice = issue_out_of_turn(actor, customer)
    session = services.start_checkout(actor, customer, invoice=invoice)
    assert sim.pay(session.url).status_code == 303
    pi = sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    events = events_about(sim, session.provider_session_id, pi)
    assert len(events) == 2

    signed = [sim.delivery(e["id"]) for e in events]  # signed now, sent by every thread
    results = run_concurrently(lambda i: post_event(signed[i % 2]["payload"], signed[i % 2]["stripe_signature"])
                               .status_code, n)
    assert [r for kind, r in results if kind == "error"] == []
    assert {r for _, r in results} == {200}
    assert OnlinePayment.objects.filter(customer=customer).count() == 1
    assert list(LedgerEntry.objects.filter(customer=customer, kind="payment").values_list("amount_minor", flat=True)) \
        == [1999]
    assert WebhookEvent.objects.count() == 2
    assert Funds.objects.get(customer=customer).balance_minor == 0
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


@pytest.mark.postgres
def test_pg_40_concurrent_deliveries_record_one_payment(actor, make_customer, payments_on):
    concurrent_deliveries(actor, make_customer, payments_on, 40)


def test_6_concurrent_deliveries_record_one_payment(actor, make_customer, payments_on):
    concurrent_deliveries(actor, make_customer, payments_on, 6)
