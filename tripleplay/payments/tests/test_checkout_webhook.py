"""Hosted checkout and the signed webhook against the simulated Stripe (a separate process): an
invoice paid, a top-up, and every refused event (forged, tampered, replayed, wrong amount, wrong
currency, wrong customer) writing nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.invoicing.models import Invoice
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.money import Money
from tripleplay.payments import services
from tripleplay.payments.models import CheckoutSession, OnlinePayment, PaymentMethod, WebhookEvent
from tripleplay.payments.tests.fixtures import (
    WEBHOOK_SECRET,
    event_payload,
    events_about,
    post_event,
    relay,
    relay_all,
)
from tripleplay.simulators.stripe_api import sign


@pytest.fixture
def owing(db, actor, make_customer, payments_on):
    """A postpaid customer with one open invoice of 25.00 (issued 2026-03-01, due 2026-03-15)."""
    from tripleplay.invoicing.services import issue_out_of_turn
    from tripleplay.ledger.services import post_charge

    clock.freeze(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    customer = make_customer("postpaid", credit_limit_minor=100_000, name="Grace Hopper", email="grace@example.net")
    post_charge(actor, customer, Money(2500, "USD"), description="TV fee", idempotency_key=f"fee-{customer.pk}")
    invoice = issue_out_of_turn(actor, customer)
    assert (invoice.total_minor, invoice.status, invoice.due_date) == (2500, "unpaid", date(2026, 3, 15))
    return customer, invoice


def written() -> dict:
    return {"entries": LedgerEntry.objects.count(), "payments": OnlinePayment.objects.count(),
            "events": WebhookEvent.objects.count(), "methods": PaymentMethod.objects.count(),
            "balances": list(Funds.objects.order_by("customer_id").values_list("balance_minor", flat=True)),
            "invoices": list(Invoice.objects.order_by("id").values_list("status", "settled_minor")),
            "audit": AuditEvent.objects.count()}


def test_an_invoice_paid_through_the_hosted_checkout(actor, owing, stripe_sim):
    customer, invoice = owing
    session = services.start_checkout(actor, customer, invoice=invoice)
    sim_session = stripe_sim.state()["sessions"][session.provider_session_id]
    assert (sim_session["amount_total"], sim_session["currency"], sim_session["mode"]) == (2500, "usd", "payment")
    assert sim_session["customer"] == session.provider_customer_id
    assert sim_session["metadata"] == {"tripleplay_customer": str(customer.pk), "tripleplay_purpose": "invoice",
                                       "tripleplay_invoice": invoice.number_text}
    assert session.url == f"{stripe_sim.url}/c/pay/{session.provider_session_id}"

    paid = stripe_sim.pay(session.url)
    assert paid.status_code == 303
    assert paid.headers["location"] == (f"http://127.0.0.1:9499/payments/return/?session_id="
                                        f"{session.provider_session_id}")
    pi = stripe_sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    answers = relay_all(stripe_sim, session.provider_session_id, pi)
    assert set(answers) == {"payment_intent.succeeded", "checkout.session.completed"}
    assert all(r.status_code == 200 for r in answers.values()), {k: r.content for k, r in answers.items()}

    payment = OnlinePayment.objects.get()
    assert (payment.customer_id, payment.provider_payment_id, payment.amount_minor, payment.currency,
            payment.source) == (customer.pk, pi, 2500, "USD", "checkout")
    entry = payment.entry
    assert (entry.kind, entry.amount_minor, entry.balance_after_minor, entry.idempotency_key, entry.reference) == (
        "payment", 2500, 0, f"stripe:{pi}", pi)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.settled_minor) == ("paid", 2500)
    assert CheckoutSession.objects.get(pk=session.pk).status == "complete"
    assert WebhookEvent.objects.count() == 2

    # Stripe delivers at least once: every redelivery is acknowledged and writes nothing.
    before = written()
    for e in events_about(stripe_sim, session.provider_session_id, pi):
        again = relay(stripe_sim, e["id"])
        assert (again.status_code, again.json()["outcome"]) == (200, "already processed")
    assert written() == before


def test_a_declined_card_pays_nothing(actor, owing, stripe_sim):
    customer, invoice = owing
    session = services.start_checkout(actor, customer, invoice=invoice)
    declined = stripe_sim.pay(session.url, card="4000000000000002")
    assert declined.status_code == 402 and "Your card was declined." in declined.text
    pi = stripe_sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    answers = relay_all(stripe_sim, session.provider_session_id, pi)
    assert list(answers) == ["payment_intent.payment_failed"]
    assert OnlinePayment.objects.count() == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.settled_minor) == ("unpaid", 0)


def _completed_event(actor, owing, stripe_sim) -> tuple[dict, CheckoutSession]:
    customer, invoice = owing
    session = services.start_checkout(actor, customer, invoice=invoice)
    assert stripe_sim.pay(session.url).status_code == 303
    (event,) = [e for e in events_about(stripe_sim, session.provider_session_id)
                if e["type"] == "checkout.session.completed"]
    return event_payload(stripe_sim, event["id"]), session


def test_forged_and_tampered_events_are_refused_and_write_nothing(actor, owing, stripe_sim):
    event, _ = _completed_event(actor, owing, stripe_sim)
    payload = json.dumps(event)
    before = written()
    now = int(time.time())
    refused = [
        post_event(payload, None),  # no signature
        post_event(payload, sign(payload, "whsec_not_the_endpoint_secret", now)),  # forged
        post_event(payload, "t=abc,v1=nothex"),  # garbage
    ]
    tampered = dict(event, data={"object": dict(event["data"]["object"], amount_total=1)})
    refused.append(post_event(json.dumps(tampered), sign(payload, WEBHOOK_SECRET, now)))  # body changed after signing
    for r in refused:
        assert r.status_code == 400, r.content
        assert r.json()["error"]["code"] == "webhook_signature_invalid"
    assert written() == before


def test_a_replayed_event_is_refused(actor, owing, stripe_sim, settings):
    event, _ = _completed_event(actor, owing, stripe_sim)
    payload = json.dumps(event)
    captured = sign(payload, WEBHOOK_SECRET, int(time.time()))  # a delivery an eavesdropper kept
    settings.TRIPLEPLAY_STRIPE_WEBHOOK_TOLERANCE_SECONDS = 1
    time.sleep(2.2)
    before = written()
    r = post_event(payload, captured)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_signature_invalid"
    assert "timestamp" in r.json()["error"]["message"].lower()
    assert written() == before


@pytest.mark.parametrize("change, field", [
    ({"amount_total": 100}, "amount"),
    ({"currency": "eur"}, "currency"),
    ({"customer": "cus_someone_else"}, "customer"),
    ({"metadata": {"tripleplay_customer": "999999", "tripleplay_purpose": "invoice"}}, "customer"),
])
def test_signed_events_that_do_not_match_the_checkout_are_refused(actor, owing, stripe_sim, change, field):
    """Genuinely signed, but not what tripleplay asked for: refused, nothing written."""
    event, session = _completed_event(actor, owing, stripe_sim)
    event["data"]["object"].update(change)
    payload = json.dumps(event)
    before = written()
    r = post_event(payload, sign(payload, WEBHOOK_SECRET, int(time.time())))
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "webhook_mismatch"
    assert r.json()["error"]["details"]["field"] == field
    assert written() == before
    assert CheckoutSession.objects.get(pk=session.pk).status == "open"


def test_a_top_up_saving_the_card(actor, make_customer, payments_on, stripe_sim):
    customer = make_customer("prepaid", name="Top Up", email="top@example.net")
    session = services.start_checkout(actor, customer, amount=Money(4000, "USD"), save_method=True)
    assert session.purpose == "top_up"
    assert stripe_sim.pay(session.url, card="5555555555554444").status_code == 303
    pi = stripe_sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    answers = relay_all(stripe_sim, session.provider_session_id, pi)
    assert answers["checkout.session.completed"].status_code == 200
    assert customer.funds.__class__.objects.get(customer=customer).balance_minor == 4000
    method = PaymentMethod.objects.get(customer=customer)
    sim_pm = stripe_sim.state()["payment_intents"][pi]["payment_method"]
    assert (method.provider_method_id, method.brand, method.last4) == (sim_pm, "mastercard", "4444")


def test_refused_checkouts(actor, owing, make_customer):
    from tripleplay.core.errors import Conflict, InvalidInput

    customer, invoice = owing
    other = make_customer("prepaid")
    with pytest.raises(InvalidInput):
        services.start_checkout(actor, other, invoice=invoice)
    with pytest.raises(InvalidInput):
        services.start_checkout(actor, customer, amount=Money(100, "EUR"))
    with pytest.raises(InvalidInput):
        services.start_checkout(actor, customer)
    from tripleplay.ledger.services import record_payment

    record_payment(actor, customer, Money(2500, "USD"), idempotency_key="cash")
    invoice.refresh_from_db()
    with pytest.raises(Conflict):
        services.start_checkout(actor, customer, invoice=invoice)
    assert CheckoutSession.objects.count() == 0


def test_without_an_endpoint_secret_every_event_is_refused(actor, owing, stripe_sim, settings):
    """An empty secret would let anyone sign (HMAC with an empty key): refused outright."""
    event, _ = _completed_event(actor, owing, stripe_sim)
    payload = json.dumps(event)
    settings.TRIPLEPLAY_STRIPE_WEBHOOK_SECRET = ""
    before = written()
    r = post_event(payload, sign(payload, "", int(time.time())))
    assert r.status_code == 400 and "no endpoint secret" in r.json()["error"]["message"]
    assert written() == before


def test_return_addresses_stay_on_this_site(settings):
    from tripleplay.core.errors import InvalidInput

    settings.TRIPLEPLAY_PUBLIC_URL = "https://billing.example.net"
    assert services.return_urls("/my/invoices/7/?paid=1") == (
        "https://billing.example.net/my/invoices/7/?paid=1&session_id={CHECKOUT_SESSION_ID}",
        "https://billing.example.net/my/invoices/7/?paid=1&cancelled=1")
    for bad in ("https://evil.example/", "//evil.example/", "evil", "/\\\\evil"):
        with pytest.raises(InvalidInput):
            services.return_urls(bad)
