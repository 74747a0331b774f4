"""Stored methods (a card saved through Checkout in setup mode), auto-pay on the due date with retries
(a decline on the last day leaves the invoice to collections), and refunds that reach the simulated
Stripe and the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tripleplay import clock
from tripleplay.collections.models import CollectionAction
from tripleplay.core.errors import Conflict
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.money import Money
from tripleplay.payments import services
from tripleplay.payments.models import AutoPayAttempt, OnlinePayment, OnlineRefund, PaymentMethod
from tripleplay.payments.tests.fixtures import relay_all

ISSUED, DUE = date(2026, 3, 1), date(2026, 3, 15)


def at(day: date) -> date:
    clock.freeze(datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC))
    return day


def save_card(actor, customer, sim, card: str) -> PaymentMethod:
    session = services.start_setup(actor, customer)
    assert sim.state()["sessions"][session.provider_session_id]["mode"] == "setup"
    assert sim.pay(session.url, card=card).status_code == 303
    answers = relay_all(sim, session.provider_session_id)
    assert answers["checkout.session.completed"].status_code == 200, answers["checkout.session.completed"].content
    return PaymentMethod.objects.get(customer=customer)


@pytest.fixture
def autopay_customer(db, actor, make_customer, payments_on):
    from tripleplay.invoicing.services import issue_out_of_turn
    from tripleplay.ledger.services import post_charge

    def make(card: str):
        at(ISSUED)
        customer = make_customer("postpaid", credit_limit_minor=100_000, email="auto@example.net")
        method = save_card(actor, customer, payments_on, card)
        services.set_autopay(actor, customer, enabled=True)
        post_charge(actor, customer, Money(3990, "USD"), description="Fiber", idempotency_key=f"fiber-{customer.pk}")
        invoice = issue_out_of_turn(actor, customer)
        assert (invoice.total_minor, invoice.due_date) == (3990, DUE)
        return customer, method, invoice

    return make


def test_a_card_saved_through_checkout_is_a_token_only(actor, autopay_customer, stripe_sim):
    customer, method, _ = autopay_customer("4242424242424242")
    sim_pm = stripe_sim.state()["payment_methods"][method.provider_method_id]
    profile = services.PaymentProfile.objects.get(customer=customer)
    assert sim_pm["customer"] == profile.provider_customer_id
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("visa", "4242", 12, 2034)
    assert (profile.autopay, profile.default_method_id) == (True, method.pk)
    # Nothing but the provider's token and what it shows is stored: no card number anywhere.
    assert not [f.name for f in PaymentMethod._meta.fields if "number" in f.name or "cvc" in f.name]


def test_autopay_charges_on_the_due_date(actor, autopay_customer, stripe_sim):
    customer, method, invoice = autopay_customer("4242424242424242")
    assert services.run_autopay(actor, at(date(2026, 3, 14))).charged == 0  # not due yet
    report = services.run_autopay(actor, at(DUE))
    assert (report.charged, report.declined) == (1, 0)
    attempt = AutoPayAttempt.objects.get(invoice=invoice)
    assert (attempt.number, attempt.outcome, attempt.amount_minor, attempt.final) == (1, "succeeded", 3990, False)
    pi = stripe_sim.state()["payment_intents"][attempt.provider_payment_id]
    profile = services.PaymentProfile.objects.get(customer=customer)
    assert (pi["amount"], pi["currency"], pi["status"], pi["off_session"], pi["customer"], pi["payment_method"]) == (
        3990, "usd", "succeeded", True, profile.provider_customer_id, method.provider_method_id)
    payment = OnlinePayment.objects.get(customer=customer)
    assert (payment.source, payment.amount_minor, payment.entry.kind, payment.entry.amount_minor) == (
        "autopay", 3990, "payment", 3990)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.settled_minor) == ("paid", 3990)
    assert Funds.objects.get(customer=customer).balance_minor == 0
    # Run again, and the provider's event arrives: nothing more.
    assert services.run_autopay(actor, at(date(2026, 3, 16))).charged == 0
    answers = relay_all(stripe_sim, attempt.provider_payment_id)
    assert answers["payment_intent.succeeded"].json()["outcome"] == "acknowledged: payment already recorded"
    assert LedgerEntry.objects.filter(customer=customer, kind="payment").count() == 1


def test_a_declined_autopay_retries_then_feeds_collections(actor, autopay_customer, stripe_sim):
    from tripleplay.collections.services import run_collections

    customer, method, invoice = autopay_customer("4000000000000341")  # saves, then every charge is declined
    assert services.run_autopay(actor, at(DUE)).declined == 1
    assert services.run_autopay(actor, at(DUE)).declined == 0  # the retry waits for its day
    assert services.run_autopay(actor, at(date(2026, 3, 16))).declined == 1
    assert services.run_autopay(actor, at(date(2026, 3, 17))).declined == 0
    report = services.run_autopay(actor, at(date(2026, 3, 18)))
    assert (report.declined, report.final_failures) == (1, 1)
    assert services.run_autopay(actor, at(date(2026, 3, 25))).declined == 0  # no fourth attempt
    attempts = list(AutoPayAttempt.objects.filter(invoice=invoice).order_by("number")
                    .values_list("number", "outcome", "decline_code", "final"))
    assert attempts == [(1, "declined", "generic_decline", False), (2, "declined", "generic_decline", False),
                        (3, "declined", "generic_decline", True)]
    failed = [pi for pi in stripe_sim.state()["payment_intents"].values() if pi["customer"] ==
              services.PaymentProfile.objects.get(customer=customer).provider_customer_id and pi["off_session"]]
    assert sorted(pi["status"] for pi in failed) == ["requires_payment_method"] * 3
    assert OnlinePayment.objects.filter(customer=customer).count() == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.settled_minor) == ("unpaid", 0)
    # Collections takes the invoice from here: overdue, then its policy's steps (reminder on day 0 after
    # the grace, late fee on day 7: the default policy).
    run_collections(actor, at(date(2026, 3, 22)))
    invoice.refresh_from_db()
    assert invoice.status == "overdue"
    steps = list(CollectionAction.objects.filter(invoice=invoice).order_by("day").values_list("day", "action"))
    assert steps == [(0, "reminder"), (7, "late_fee")]


def test_autopay_needs_a_stored_method(actor, make_customer, payments_on):
    customer = make_customer("postpaid", credit_limit_minor=1000)
    with pytest.raises(Conflict):
        services.set_autopay(actor, customer, enabled=True)


def test_a_refund_reaches_the_provider_and_the_ledger(actor, make_customer, payments_on, stripe_sim):
    at(ISSUED)
    customer = make_customer("prepaid", email="refund@example.net")
    session = services.start_checkout(actor, customer, amount=Money(5000, "USD"))
    assert stripe_sim.pay(session.url).status_code == 303
    pi = stripe_sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    relay_all(stripe_sim, session.provider_session_id, pi)
    payment = OnlinePayment.objects.get(customer=customer)
    assert Funds.objects.get(customer=customer).balance_minor == 5000

    refund = services.refund_online_payment(actor, payment, Money(2000, "USD"), reason="goodwill", idempotency_key="r1")
    assert (refund.status, refund.amount_minor) == ("succeeded", 2000)
    sim_refund = stripe_sim.state()["refunds"][refund.provider_refund_id]
    assert (sim_refund["amount"], sim_refund["payment_intent"], sim_refund["status"]) == (2000, pi, "succeeded")
    charge = stripe_sim.state()["charges"][stripe_sim.state()["payment_intents"][pi]["latest_charge"]]
    assert (charge["amount_refunded"], charge["refunded"]) == (2000, False)
    assert (refund.entry.kind, refund.entry.amount_minor, refund.entry.balance_after_minor) == ("refund", -2000, 3000)
    payment.refresh_from_db()
    assert payment.refunded_minor == 2000

    # A retry with the same key: the same refund, nothing new at the provider or in the ledger.
    again = services.refund_online_payment(actor, payment, Money(2000, "USD"), reason="goodwill", idempotency_key="r1")
    assert again.pk == refund.pk
    assert len([r for r in stripe_sim.state()["refunds"].values() if r["payment_intent"] == pi]) == 1
    assert LedgerEntry.objects.filter(customer=customer, kind="refund").count() == 1
    # More than is left: refused before anything is asked.
    with pytest.raises(Conflict):
        services.refund_online_payment(actor, payment, Money(3001, "USD"), reason="too much", idempotency_key="r2")
    # The provider's charge.refunded event agrees.
    answers = relay_all(stripe_sim, charge["id"])
    assert answers["charge.refunded"].json()["outcome"] == "acknowledged: refunds match"
    assert OnlineRefund.objects.count() == 1


def test_a_refund_the_provider_refuses_is_reversed(actor, make_customer, payments_on, stripe_sim):
    """The charge was refunded at the provider behind tripleplay's back: the provider refuses the
    refund; the ledger refund is reversed by a credit, and the balance is what it was."""
    import httpx

    at(ISSUED)
    customer = make_customer("prepaid", email="reversed@example.net")
    session = services.start_checkout(actor, customer, amount=Money(1500, "USD"))
    assert stripe_sim.pay(session.url).status_code == 303
    pi = stripe_sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    relay_all(stripe_sim, session.provider_session_id, pi)
    payment = OnlinePayment.objects.get(customer=customer)
    outside = httpx.post(f"{stripe_sim.url}/v1/refunds", data={"payment_intent": pi},
                         headers={"Authorization": f"Bearer {stripe_sim.secret_key}"}, trust_env=False)
    assert outside.status_code == 200
    refund = services.refund_online_payment(actor, payment, Money(1500, "USD"), reason="asked", idempotency_key="x")
    assert refund.status == "failed" and "already been refunded" in refund.error
    assert (refund.reversal.kind, refund.reversal.amount_minor) == ("credit", 1500)
    assert Funds.objects.get(customer=customer).balance_minor == 1500
    payment.refresh_from_db()
    assert payment.refunded_minor == 0
