"""The simulated Stripe refuses what Stripe refuses, in Stripe's error shape, and signs events so that
stripe-python's own verification accepts them (the simulator itself imports nothing of billing)."""

from __future__ import annotations

import json

import httpx
import stripe

from tripleplay.simulators.stripe_api import decode_form
from tripleplay.simulators.testing import running_stripe


def test_bracket_notation_decodes_to_nested_objects_and_lists():
    body = (b"mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=usd"
            b"&line_items[1][quantity]=2&metadata[invoice]=INV-1")
    assert decode_form(body) == {"mode": "payment", "metadata": {"invoice": "INV-1"},
                                 "line_items": [{"quantity": "1", "price_data": {"currency": "usd"}},
                                                {"quantity": "2"}]}


def test_the_simulator_answers_like_stripe():
    with running_stripe(secret_key="sk_test_x", webhook_secret="whsec_x") as sim:
        auth = {"Authorization": "Bearer sk_test_x"}

        def post(path, data, headers=None):
            return httpx.post(sim.url + path, data=data, headers={**auth, **(headers or {})}, trust_env=False)

        assert httpx.post(sim.url + "/v1/customers", data={}, trust_env=False).status_code == 401
        bad_key = httpx.post(sim.url + "/v1/customers", data={}, headers={"Authorization": "Bearer sk_test_nope"},
                             trust_env=False)
        assert bad_key.status_code == 401 and bad_key.json()["error"]["type"] == "invalid_request_error"
        unknown = post("/v1/customers", {"colour": "red"}).json()["error"]
        assert (unknown["code"], unknown["param"]) == ("parameter_unknown", "colour")
        missing = post("/v1/checkout/sessions", {"success_url": "http://x/"}).json()["error"]
        assert (missing["code"], missing["param"]) == ("parameter_missing", "mode")
        cus = post("/v1/customers", {"name": "A"}, {"Idempotency-Key": "c1"})
        replay = post("/v1/customers", {"name": "A"}, {"Idempotency-Key": "c1"})
        assert replay.json()["id"] == cus.json()["id"] and replay.headers["Idempotent-Replayed"] == "true"
        reused = post("/v1/customers", {"name": "B"}, {"Idempotency-Key": "c1"})
        assert reused.status_code == 400 and reused.json()["error"]["type"] == "idempotency_error"
        small = post("/v1/payment_intents", {"amount": "10", "currency": "usd"})
        assert small.status_code == 400 and small.json()["error"]["code"] == "amount_too_small"
        off = post("/v1/payment_intents", {"amount": "100", "currency": "usd", "off_session": "true"})
        assert off.status_code == 400 and off.json()["error"]["param"] == "off_session"
        assert post("/v1/refunds", {"payment_intent": "pi_nope"}).json()["error"]["code"] == "resource_missing"
        assert httpx.get(sim.url + "/v1/checkout/sessions/cs_nope", headers=auth, trust_env=False).status_code == 404

        # A paid checkout emits events signed so that stripe-python verifies them.
        session = post("/v1/checkout/sessions", {
            "mode": "payment", "customer": cus.json()["id"], "success_url": "http://x/ok",
            "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "700",
            "line_items[0][price_data][product_data][name]": "Test"}).json()
        assert (session["object"], session["amount_total"], session["status"]) == ("checkout.session", 700, "open")
        assert sim.pay(session["url"]).status_code == 303
        (completed,) = sim.events("checkout.session.completed")
        delivery = sim.delivery(completed["id"])
        event = stripe.Webhook.construct_event(delivery["payload"], delivery["stripe_signature"], "whsec_x")
        assert (event.type, event.data.object.id, event.data.object.payment_status) == (
            "checkout.session.completed", session["id"], "paid")
        pi = json.loads(delivery["payload"])["data"]["object"]["payment_intent"]
        too_much = post("/v1/refunds", {"payment_intent": pi, "amount": "701"}).json()["error"]
        assert too_much["code"] == "amount_too_large"
        assert post("/v1/refunds", {"payment_intent": pi}).json()["amount"] == 700
        again = post("/v1/refunds", {"payment_intent": pi}).json()["error"]
        assert again["code"] == "charge_already_refunded"
