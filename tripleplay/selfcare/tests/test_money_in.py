"""Money in through the portal: "Pay online" and "Top up" start the simulated Stripe's hosted checkout
(a separate process) for the right customer and amount, the return page shows only what the signed
webhook recorded; a voucher credits exactly its value once; each refusal is a message in the
subscriber's language; N failures throttle the customer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of
from tripleplay.money import Money
from tripleplay.payments.models import CheckoutSession, OnlinePayment
from tripleplay.payments.tests.fixtures import relay_all
from tripleplay.selfcare.tests.conftest import PASSWORD, portal_client
from tripleplay.vouchers.models import FailedRedemption, Voucher


@pytest.fixture
def owing(portal, actor, make_customer, make_account):
    """Cy: a postpaid customer with a portal login and one open invoice of $25.00."""
    from tripleplay.invoicing.services import issue_out_of_turn
    from tripleplay.ledger.services import post_charge
    from tripleplay.subscriber_access.tests.helpers import active_login

    cy = make_customer("postpaid", credit_limit_minor=100_000, name="Cy", email="cy@example.net")
    make_account(cy, login="cy-tv")
    post_charge(actor, cy, Money(2500, "USD"), description="TV fee", idempotency_key="fee-cy")
    invoice = issue_out_of_turn(actor, cy)
    assert (invoice.total_minor, invoice.open_minor, invoice.status) == (2500, 2500, "unpaid")
    active_login(cy, PASSWORD)
    return cy, invoice, portal_client("cy@example.net")


def make_batch(actor, value_minor=1000, count=3, currency="USD", days=30, name="Top-up 10"):
    from tripleplay.vouchers.services import create_batch

    return create_batch(actor, name=name, value=Money(value_minor, currency), count=count,
                        expires_at=clock.now() + timedelta(days=days), idempotency_key=f"batch-{name}-{currency}")


# -- pay online ---------------------------------------------------------------------------------------


def test_without_a_provider_no_pay_or_top_up_button_is_shown(owing, settings):
    settings.TRIPLEPLAY_STRIPE_SECRET_KEY = ""
    _, invoice, client = owing
    assert "Pay online" not in client.get("/my/invoices/").content.decode()
    home = client.get("/my/").content.decode()
    assert 'id="top-up-form"' not in home and 'id="voucher-form"' in home
    # and the action itself refuses, writing nothing
    response = client.post(f"/my/invoices/{invoice.pk}/pay", {"next": "/my/invoices/"}, follow=True)
    assert "Online payments are not available." in response.content.decode()
    assert CheckoutSession.objects.count() == 0


def test_pay_online_sends_the_subscriber_to_the_hosted_page_and_the_webhook_marks_it_paid(owing, payments_on):
    sim = payments_on
    cy, invoice, client = owing
    page = client.get("/my/invoices/").content.decode()
    assert f'action="/my/invoices/{invoice.pk}/pay"' in page and "Pay online" in page

    response = client.post(f"/my/invoices/{invoice.pk}/pay", {"next": "/my/invoices/"})
    session = CheckoutSession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{sim.url}/c/pay/{session.provider_session_id}"
    assert (session.customer_id, session.invoice_id, session.amount_minor, session.currency, session.purpose,
            session.status) == (cy.pk, invoice.pk, 2500, "USD", "invoice", "open")
    at_sim = sim.state()["sessions"][session.provider_session_id]
    assert (at_sim["amount_total"], at_sim["currency"], at_sim["customer"]) == (2500, "usd", session.provider_customer_id)
    assert at_sim["metadata"]["tripleplay_customer"] == str(cy.pk)
    assert at_sim["metadata"]["tripleplay_invoice"] == invoice.number_text

    paid = sim.pay(session.url)
    back = f"http://127.0.0.1:9499/my/checkout/?session_id={session.provider_session_id}"
    assert paid.status_code == 303 and paid.headers["location"] == back
    # back in the portal before the webhook arrived: not confirmed, and nothing marked paid by the page
    waiting = client.get(back.removeprefix("http://127.0.0.1:9499")).content.decode()
    assert 'data-status="waiting"' in waiting and "$25.00" in waiting
    invoice.refresh_from_db()
    assert (invoice.status, invoice.settled_minor) == ("unpaid", 0) and OnlinePayment.objects.count() == 0

    pi = sim.state()["sessions"][session.provider_session_id]["payment_intent"]
    answers = relay_all(sim, session.provider_session_id, pi)
    assert all(r.status_code == 200 for r in answers.values())
    done = client.get(back.removeprefix("http://127.0.0.1:9499")).content.decode()
    assert 'data-status="complete"' in done
    invoice.refresh_from_db()
    assert (invoice.status, invoice.settled_minor) == ("paid", 2500)
    payment = OnlinePayment.objects.get()
    assert (payment.customer_id, payment.amount_minor, payment.entry.amount_minor) == (cy.pk, 2500, 2500)
    listed = client.get("/my/invoices/").content.decode()
    assert "Pay online" not in listed and ">paid<" in listed


def test_another_customers_checkout_is_not_shown(owing, portal, payments_on):
    _, invoice, client = owing
    client.post(f"/my/invoices/{invoice.pk}/pay")
    session = CheckoutSession.objects.get()
    assert portal.bob.client.get(f"/my/checkout/?session_id={session.provider_session_id}").status_code == 404
    assert portal.bob.client.get("/my/checkout/?session_id=cs_test_unknown").status_code == 404
    cancelled = client.get("/my/checkout/?cancelled=1").content.decode()
    assert 'data-status="cancelled"' in cancelled


def test_a_paid_invoice_cannot_be_paid_again(owing, payments_on, actor):
    from tripleplay.ledger.services import record_payment

    cy, invoice, client = owing
    record_payment(actor, cy, Money(2500, "USD"), idempotency_key="cash-cy")
    response = client.post(f"/my/invoices/{invoice.pk}/pay", {"next": "/my/invoices/"}, follow=True)
    assert "This invoice has nothing left to pay." in response.content.decode()
    assert CheckoutSession.objects.count() == 0 and payments_on.state()["sessions"] == {}


# -- top up -------------------------------------------------------------------------------------------


def test_top_up_starts_a_checkout_for_the_exact_amount(portal, payments_on):
    sim, ada = payments_on, portal.ada
    assert 'id="top-up-form"' in ada.client.get("/my/").content.decode()
    response = ada.client.post("/my/top-up", {"amount": " 12.34 ", "next": "/my/"})
    session = CheckoutSession.objects.get()
    assert response["Location"] == session.url == f"{sim.url}/c/pay/{session.provider_session_id}"
    assert (session.customer_id, session.purpose, session.amount_minor, session.invoice_id) == (
        ada.customer.pk, "top_up", 1234, None)
    assert sim.state()["sessions"][session.provider_session_id]["amount_total"] == 1234

    before = funds_of(ada.customer).balance.minor
    assert sim.pay(session.url).status_code == 303
    relay_all(sim, session.provider_session_id, sim.state()["sessions"][session.provider_session_id]["payment_intent"])
    assert funds_of(ada.customer).balance.minor == before + 1234


@pytest.mark.parametrize("typed", ["", "abc", "12.345", "0", "-5", "0.00", "1000.01", "1e3", "12,50", "1" * 40,
                                   "5\x00"])
def test_bad_top_up_amounts_are_refused_before_the_provider(portal, payments_on, typed):
    response = portal.ada.client.post("/my/top-up", {"amount": typed, "next": "/my/"}, follow=True)
    assert response.status_code == 200
    assert "Type an amount greater than zero and at most $1,000.00, such as 20.00." in response.content.decode()
    assert CheckoutSession.objects.count() == 0 and payments_on.state()["sessions"] == {}


def test_the_top_up_limit_is_exact_in_german(portal, payments_on, settings):
    settings.TRIPLEPLAY_PORTAL_TOP_UP_MAX = "1000"
    ada = portal.ada
    ada.client.post("/my/language", {"language": "de"})
    response = ada.client.post("/my/top-up", {"amount": "1000.00"})
    assert response.status_code == 302 and CheckoutSession.objects.get().amount_minor == 100_000
    refused = ada.client.post("/my/top-up", {"amount": "2000", "next": "/my/"}, follow=True).content.decode()
    assert "1.000,00" in refused and "Geben Sie einen Betrag" in refused


def test_a_short_addon_confirmation_offers_a_top_up_of_the_shortfall(portal, payments_on, actor):
    from tripleplay.ledger.services import post_charge

    bob, cat = portal.bob, portal.catalog
    post_charge(actor, bob.customer, Money(4500, "USD"), description="usage", idempotency_key="drain-bob")  # $5 left
    page = bob.client.get(f"/my/accounts/{bob.account.pk}/addons/{cat.movies_plan.pk}/").content.decode()
    assert 'id="top-up-form"' in page and 'value="2.99"' in page  # $7.99 due, $5.00 available


# -- vouchers -----------------------------------------------------------------------------------------


def test_a_voucher_credits_exactly_its_value_once(portal, actor):
    ada = portal.ada
    created = make_batch(actor, value_minor=1500)
    before = funds_of(ada.customer).balance.minor
    response = ada.client.post("/my/voucher", {"code": created.codes[0].printable, "next": "/my/"}, follow=True)
    assert "Your voucher was redeemed: $15.00 credited." in response.content.decode()
    assert funds_of(ada.customer).balance.minor == before + 1500
    voucher = Voucher.objects.get(redeemed_at__isnull=False)
    entry = LedgerEntry.objects.get(pk=voucher.entry_id)
    assert (voucher.customer_id, voucher.channel, entry.customer_id, entry.amount_minor, entry.kind,
            entry.idempotency_key) == (ada.customer.pk, "portal", ada.customer.pk, 1500, "payment",
                                       f"voucher:{voucher.pk}")
    again = ada.client.post("/my/voucher", {"code": created.codes[0].code, "next": "/my/"}, follow=True)
    assert "This voucher has already been used." in again.content.decode()
    assert funds_of(ada.customer).balance.minor == before + 1500
    assert LedgerEntry.objects.filter(customer=ada.customer, kind="payment").count() == 2  # the seed and the voucher


def test_each_refusal_shows_its_message(portal, actor):
    from tripleplay.vouchers.services import disable_batch

    bob = portal.bob
    disabled = make_batch(actor, name="stolen")
    disable_batch(actor, disabled.batch, reason="stolen box")
    euro = make_batch(actor, currency="EUR", name="euro")
    clock.freeze(clock.now() - timedelta(days=2))
    expired = make_batch(actor, days=1, name="old")
    clock.reset()
    used = make_batch(actor, name="used")
    from tripleplay.vouchers.services import redeem

    redeem(actor, code=used.codes[0].code, customer=portal.ada.customer)
    cases = [(disabled.codes[0].code, "This voucher is no longer valid."),
             (euro.codes[0].code, "This voucher is in another currency than your account."),
             (expired.codes[0].code, "This voucher has expired."),
             (used.codes[0].code, "This voucher has already been used."),
             ("12345", "A voucher code has 20 digits: check what you typed."),
             ("9" * 20, "No voucher has this code: check the digits.")]
    entries = LedgerEntry.objects.filter(customer=bob.customer).count()
    for code, message in cases:
        page = bob.client.post("/my/voucher", {"code": code, "next": "/my/"}, follow=True).content.decode()
        assert message in page, code
        FailedRedemption.objects.all().delete()  # each case on its own, not the throttle
    assert LedgerEntry.objects.filter(customer=bob.customer).count() == entries
    # in German
    bob.client.post("/my/language", {"language": "de"})
    page = bob.client.post("/my/voucher", {"code": used.codes[0].code, "next": "/my/"}, follow=True).content.decode()
    assert "Dieser Gutschein wurde bereits eingelöst." in page


def test_failures_throttle_the_customer_even_with_a_valid_code(portal, actor, settings):
    settings.TRIPLEPLAY_VOUCHER_MAX_FAILURES = 3
    bob = portal.bob
    good = make_batch(actor, value_minor=700).codes[0].code
    for _ in range(3):
        page = bob.client.post("/my/voucher", {"code": "1" * 20, "next": "/my/"}, follow=True).content.decode()
        assert "No voucher has this code" in page
    assert FailedRedemption.objects.filter(scope=f"customer:{bob.customer.pk}").count() == 3
    before = funds_of(bob.customer).balance.minor
    page = bob.client.post("/my/voucher", {"code": good, "next": "/my/"}, follow=True).content.decode()
    assert "Too many failed attempts: wait a few minutes and try again." in page
    assert funds_of(bob.customer).balance.minor == before and Voucher.objects.filter(redeemed_at__isnull=False).count() == 0
    # another customer is not throttled by Bob's failures
    ada = portal.ada
    assert "credited" in ada.client.post("/my/voucher", {"code": good, "next": "/my/"}, follow=True).content.decode()
    # after the window, Bob may try again
    clock.freeze(clock.now() + timedelta(seconds=settings.TRIPLEPLAY_VOUCHER_FAILURE_WINDOW_SECONDS + 1))
    try:
        fresh = make_batch(actor, value_minor=300, name="fresh").codes[0].code
        page = bob.client.post("/my/voucher", {"code": fresh, "next": "/my/"}, follow=True).content.decode()
        assert "$3.00 credited" in page
    finally:
        clock.reset()


def test_voucher_and_money_forms_need_csrf(portal, payments_on):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.cookies = portal.ada.client.cookies
    for url, data in (("/my/voucher", {"code": "1" * 20}), ("/my/top-up", {"amount": "5"}),
                      (f"/my/invoices/{portal.invoice.pk}/pay", {})):
        assert client.post(url, data).status_code == 403, url
    assert CheckoutSession.objects.count() == 0 and FailedRedemption.objects.count() == 0


def test_a_top_up_limit_with_more_decimals_than_the_currency_is_rounded_down(portal, payments_on, settings):
    settings.TRIPLEPLAY_PORTAL_TOP_UP_MAX = "10.559"  # USD has two decimals: the limit is $10.55
    ada = portal.ada
    refused = ada.client.post("/my/top-up", {"amount": "10.56", "next": "/my/"}, follow=True)
    assert refused.status_code == 200 and "at most $10.55" in refused.content.decode()
    assert CheckoutSession.objects.count() == 0
    accepted = ada.client.post("/my/top-up", {"amount": "10.55"})
    assert accepted.status_code == 302 and CheckoutSession.objects.get().amount_minor == 1055
