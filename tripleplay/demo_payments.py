"""The demo's payment provider: the simulated Stripe (tripleplay/simulators/stripe_api.py) as a
separate process on 127.0.0.1, its events POSTed to the demo server's webhook, and tripleplay
pointed at it (unless TRIPLEPLAY_STRIPE_SECRET_KEY is already set: then the operator's own provider
configuration is kept and no simulator is started)."""

from __future__ import annotations

import os

from django.conf import settings

from tripleplay.simulators.testing import StripeSimulatorProcess

SECRET_KEY, WEBHOOK_SECRET = "sk_test_tripleplay_demo", "whsec_tripleplay_demo"
WEBHOOK_PATH = "/api/v1/payments/stripe/webhook"


def start_stripe(port: int, serve_port: int, host: str = "127.0.0.1") -> StripeSimulatorProcess | None:
    if os.environ.get("TRIPLEPLAY_STRIPE_SECRET_KEY"):
        return None
    public = f"http://{host}:{serve_port}"
    sim = StripeSimulatorProcess(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET, port=port,
                                 webhook_url=public + WEBHOOK_PATH, webhook_backoff_seconds=1.0).start()
    # The worker is a child process that reads the environment; the server's workers are forked from
    # this process, with its settings already loaded.
    values = {"TRIPLEPLAY_STRIPE_SECRET_KEY": SECRET_KEY, "TRIPLEPLAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
              "TRIPLEPLAY_STRIPE_API_BASE": sim.url, "TRIPLEPLAY_PUBLIC_URL": public}
    os.environ.update(values)
    for name, value in values.items():
        setattr(settings, name, value)
    return sim


def banner_lines(sim: StripeSimulatorProcess | None) -> list[str]:
    if sim is None:
        return ["  Online payments: the configured provider (TRIPLEPLAY_STRIPE_SECRET_KEY was set)", ""]
    return ["  Online payments: simulated Stripe at " + sim.url + " (state: /_sim/state); test cards:",
            "    4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined, 4000 0000 0000 0341 saves then declines",
            "    A customer's page -> Online payments -> Send a payment link", ""]
