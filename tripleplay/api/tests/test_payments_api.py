"""The payments API: start a checkout (invoice or top-up), save a card, auto-pay, online payments,
refunds, roles, bad input in the error shape; the webhook over HTTP."""

from __future__ import annotations

import json
import time

from tripleplay.api.tests.conftest import error_of, snapshot
from tripleplay.payments.models import CheckoutSession, OnlinePayment
from tripleplay.payments.tests import fixtures
from tripleplay.payments.tests.fixtures import WEBHOOK_SECRET, relay_all
from tripleplay.simulators.stripe_api import sign

payments_on, stripe_sim = fixtures.payments_on, fixtures.stripe_sim


def test_top_up_checkout_paid_then_refunded(finance, support, prepaid, payments_on, stripe_sim):
    r = finance.post(f"/customers/{prepaid.pk}/checkout", {"amount_minor": 3000, "save_method": True})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["purpose"], body["amount"], body["provider"]) == (
        "top_up", {"amount_minor": 3000, "amount": "30.00", "currency": "USD"}, "stripe")
    assert body["url"] == f"{stripe_sim.url}/c/pay/{body['provider_session_id']}"
    assert support.post(f"/customers/{prepaid.pk}/checkout", {"amount_minor": 3000}).status_code == 403

    assert stripe_sim.pay(body["url"]).status_code == 303
    pi = stripe_sim.state()["sessions"][body["provider_session_id"]]["payment_intent"]
    relay_all(stripe_sim, body["provider_session_id"], pi)
    (payment,) = support.get(f"/customers/{prepaid.pk}/online-payments").json()["items"]
    assert (payment["provider_payment_id"], payment["amount"]["amount_minor"], payment["source"]) == (pi, 3000,
                                                                                                    "checkout")
    (method,) = support.get(f"/customers/{prepaid.pk}/payment-methods").json()
    assert (method["brand"], method["last4"]) == ("visa", "4242")
    r = finance.put(f"/customers/{prepaid.pk}/autopay", {"enabled": True, "payment_method_id": method["id"]})
    assert r.status_code == 200 and r.json()["autopay"] is True and r.json()["default_method"]["id"] == method["id"]

    no_key = finance.post(f"/online-payments/{payment['id']}/refunds", {"amount_minor": 1000, "reason": "x"})
    assert no_key.status_code == 400 and error_of(no_key)["code"] == "idempotency_key_required"
    r = finance.post(f"/online-payments/{payment['id']}/refunds", {"amount_minor": 1000, "reason": "asked"}, key="r1")
    assert r.status_code == 201, r.content
    refund = r.json()
    assert (refund["status"], refund["amount"]["amount_minor"]) == ("succeeded", 1000)
    assert stripe_sim.state()["refunds"][refund["provider_refund_id"]]["amount"] == 1000
    again = finance.post(f"/online-payments/{payment['id']}/refunds", {"amount_minor": 1000, "reason": "asked"}, key="r1")
    assert again.status_code == 201 and again.json()["id"] == refund["id"]
    reused = finance.post(f"/online-payments/{payment['id']}/refunds", {"amount_minor": 999, "reason": "asked"},
                          key="r1")
    assert reused.status_code == 409 and error_of(reused)["code"] == "idempotency_key_reused"
    too_much = finance.post(f"/online-payments/{payment['id']}/refunds", {"amount_minor": 2001, "reason": "x"},
                            key="r2")
    assert too_much.status_code == 409 and error_of(too_much)["code"] == "refund_exceeds_payment"


def test_bad_requests_write_nothing(finance, customer, prepaid, payments_on):
    before = snapshot()
    for body, status in (({}, 422), ({"amount_minor": 1, "invoice_id": 1}, 422), ({"amount_minor": 12.5}, 422),
                         ({"amount_minor": "100"}, 422), ({"amount_minor": 0}, 422), ({"invoice_id": 999999}, 404),
                         ({"amount_minor": 100, "extra": 1}, 422)):
        r = finance.post(f"/customers/{prepaid.pk}/checkout", body)
        assert r.status_code == status, (body, r.content)
        error_of(r)
    assert finance.post("/customers/999999/checkout", {"amount_minor": 100}).status_code == 404
    r = finance.put(f"/customers/{customer.pk}/autopay", {"enabled": True})
    assert r.status_code == 409 and error_of(r)["code"] == "no_payment_method"
    assert snapshot() == before
    assert CheckoutSession.objects.count() == 0


def test_not_configured_is_a_clear_conflict(finance, prepaid, settings):
    settings.TRIPLEPLAY_STRIPE_SECRET_KEY = ""
    r = finance.post(f"/customers/{prepaid.pk}/checkout", {"amount_minor": 100})
    assert r.status_code == 409 and error_of(r)["code"] == "payments_not_configured"


def test_the_webhook_over_http(anon, finance, prepaid, payments_on, stripe_sim):
    body = finance.post(f"/customers/{prepaid.pk}/checkout", {"amount_minor": 2500}).json()
    stripe_sim.pay(body["url"])
    (event,) = [e for e in stripe_sim.events("checkout.session.completed")]
    payload = stripe_sim.delivery(event["id"])["payload"]
    forged = anon.post("/payments/stripe/webhook", raw=payload,
                       headers={"Stripe-Signature": sign(payload, "whsec_wrong", int(time.time()))})
    assert forged.status_code == 400 and error_of(forged)["code"] == "webhook_signature_invalid"
    wrong = json.loads(payload)
    wrong["data"]["object"]["amount_total"] = 2400
    wrong = json.dumps(wrong)
    r = anon.post("/payments/stripe/webhook", raw=wrong,
                  headers={"Stripe-Signature": sign(wrong, WEBHOOK_SECRET, int(time.time()))})
    assert r.status_code == 400 and error_of(r)["details"] == {"field": "amount", "expected": 2500, "got": 2400}
    assert OnlinePayment.objects.count() == 0
    ok = anon.post("/payments/stripe/webhook", raw=payload,
                   headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET, int(time.time()))})
    assert ok.status_code == 200 and ok.json()["outcome"].startswith("checkout completed; payment")
    assert OnlinePayment.objects.get().amount_minor == 2500


def test_the_openapi_document_declares_the_payments_errors(anon):
    doc = anon.get("/openapi.json").json()
    checkout = doc["paths"]["/api/v1/customers/{customer_id}/checkout"]["post"]["responses"]
    assert {"201", "403", "404", "409", "422", "502"} <= set(checkout)
    webhook = doc["paths"]["/api/v1/payments/stripe/webhook"]["post"]
    assert {"200", "400"} <= set(webhook["responses"]) and not webhook.get("security")
