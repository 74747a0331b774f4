"""Shared wiring of the online-payment tests: the simulated Stripe as a real process, tripleplay
pointed at it, and helpers that play the customer's browser and relay the simulator's signed events to
the webhook endpoint (the browser test lets the simulator POST them itself)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tripleplay.simulators.testing import running_stripe

SECRET_KEY = "sk_test_payments_tests"
WEBHOOK_SECRET = "whsec_payments_tests"
WEBHOOK = "/api/v1/payments/stripe/webhook"


@pytest.fixture
def stripe_sim():
    """A fresh simulated Stripe per test: the tests' databases reuse ids (and the frozen clock, times),
    which a provider kept across tests would take for retries of earlier requests."""
    with running_stripe(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET) as sim:
        yield sim


@pytest.fixture
def payments_on(settings, stripe_sim):
    settings.TRIPLEPLAY_STRIPE_SECRET_KEY = SECRET_KEY
    settings.TRIPLEPLAY_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.TRIPLEPLAY_STRIPE_API_BASE = stripe_sim.url
    settings.TRIPLEPLAY_STRIPE_MAX_RETRIES = 0
    settings.TRIPLEPLAY_PUBLIC_URL = "http://127.0.0.1:9499"
    settings.TRIPLEPLAY_AUTOPAY_RETRY_DAYS = [0, 1, 3]
    return stripe_sim


def events_about(sim, *object_ids: str) -> list[dict]:
    return [e for e in sim.events() if e["object_id"] in object_ids]


def post_event(payload: str | bytes, signature: str | None):
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return Client().post(WEBHOOK, data=payload, content_type="application/json", headers=headers)


def relay(sim, event_id: str):
    """POST the simulator's event, signed now, to the webhook, as the simulator would."""
    d = sim.delivery(event_id)
    return post_event(d["payload"], d["stripe_signature"])


def relay_all(sim, *object_ids: str) -> dict[str, object]:
    """Every event about these objects, in order: {event type: response}."""
    return {e["type"]: relay(sim, e["id"]) for e in events_about(sim, *object_ids)}


def event_payload(sim, event_id: str) -> dict:
    return json.loads(sim.delivery(event_id)["payload"])
