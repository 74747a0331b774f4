"""The operator's online-payment page: send a checkout link (e-mailed), auto-pay switch, a refund
that reaches the simulated Stripe; roles; and the public page the customer returns to."""

from __future__ import annotations

import pytest
from django.core import mail

from tripleplay.payments.models import CheckoutSession, OnlinePayment, OnlineRefund, PaymentProfile
from tripleplay.payments.tests import fixtures
from tripleplay.payments.tests.fixtures import relay_all

payments_on, stripe_sim = fixtures.payments_on, fixtures.stripe_sim  # the payments tests' fixtures, here too


@pytest.fixture
def page_of(world):
    return f"/customers/{world.customer.pk}/payments/"


def test_the_page_for_every_role_and_actions_for_operations_only(world, login, payments_on, page_of):
    for role in ("admin", "finance", "support"):
        r = login(role).get(page_of)
        assert r.status_code == 200
        assert ("Send a payment link" in r.content.decode()) == (role != "support")
    r = login("support").post(f"/customers/{world.customer.pk}/payments/checkout", {"target": "top_up",
                                                                                   "amount": "10.00"})
    assert r.status_code == 403
    assert CheckoutSession.objects.count() == 0
    assert "Online payments" in login("support").get(f"/customers/{world.customer.pk}/").content.decode()


def test_send_a_top_up_link_pay_it_and_refund_from_the_page(world, login, payments_on, stripe_sim, page_of):
    client = login("finance")
    r = client.post(f"/customers/{world.customer.pk}/payments/checkout",
                    {"target": "top_up", "amount": "20.00", "save_method": "on"}, follow=True)
    session = CheckoutSession.objects.get()
    assert (session.purpose, session.amount_minor, session.save_method) == ("top_up", 2000, True)
    assert f"e-mailed to ada@example.net: {session.url}" in r.content.decode()
    (message,) = mail.outbox
    assert message.to == ["ada@example.net"] and session.url in message.body
    assert stripe_sim.pay(session.url).status_code == 303
    pi = stripe_sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    relay_all(stripe_sim, session.provider_session_id, pi)
    payment = OnlinePayment.objects.get()
    page = client.get(page_of).content.decode()
    assert pi in page and "visa ···· 4242" in page

    # Auto-pay on with the saved card, from the page.
    client.post(f"/customers/{world.customer.pk}/payments/autopay", {"enabled": "on"})
    assert PaymentProfile.objects.get(customer=world.customer).autopay is True

    r = client.post(f"/online-payments/{payment.pk}/refund", {"amount": "5.00", "reason": "goodwill", "key": "k1"},
                    follow=True)
    refund = OnlineRefund.objects.get()
    assert (refund.status, refund.amount_minor) == ("succeeded", 500)
    assert stripe_sim.state()["refunds"][refund.provider_refund_id]["amount"] == 500
    assert f"Refund of $5.00: succeeded ({refund.provider_refund_id})" in r.content.decode()
    # The same form submitted twice: one refund.
    client.post(f"/online-payments/{payment.pk}/refund", {"amount": "5.00", "reason": "goodwill", "key": "k1"})
    assert OnlineRefund.objects.count() == 1 and len(stripe_sim.state()["refunds"]) == 1


def test_the_return_page_is_public_and_shows_only_the_payment(world, client, payments_on, actor):
    from tripleplay.money import Money
    from tripleplay.payments.services import start_checkout

    session = start_checkout(actor, world.customer, amount=Money(1234, "USD"))
    r = client.get(f"/payments/return/?session_id={session.provider_session_id}")
    assert r.status_code == 200
    text = r.content.decode()
    assert "$12.34 is being confirmed" in text and world.customer.name not in text
    assert "Payment cancelled" in client.get("/payments/return/?cancelled=1").content.decode()
    assert "Unknown payment" in client.get("/payments/return/?session_id=cs_nope").content.decode()
