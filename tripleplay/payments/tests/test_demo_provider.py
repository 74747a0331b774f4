"""The demo's simulated Stripe: started on its port, its webhook aimed at the demo server, and the
server's environment pointed at it; an operator's own provider configuration is left alone."""

from __future__ import annotations

import httpx

from tripleplay import demo_payments
from tripleplay.core.testing import free_port

VARIABLES = ("TRIPLEPLAY_STRIPE_SECRET_KEY", "TRIPLEPLAY_STRIPE_WEBHOOK_SECRET", "TRIPLEPLAY_STRIPE_API_BASE",
             "TRIPLEPLAY_PUBLIC_URL")


def test_the_demo_starts_the_simulated_stripe(monkeypatch):
    import os

    from django.conf import settings

    for name in VARIABLES:  # restored after the test, whatever the demo sets
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(settings, name, getattr(settings, name))
    port = free_port()
    sim = demo_payments.start_stripe(port, 8123)
    try:
        assert sim.url == f"http://127.0.0.1:{port}"
        assert sim.state()["webhook"] == {"url": "http://127.0.0.1:8123/api/v1/payments/stripe/webhook",
                                          "secret_set": True}
        assert os.environ["TRIPLEPLAY_STRIPE_API_BASE"] == sim.url
        assert os.environ["TRIPLEPLAY_PUBLIC_URL"] == settings.TRIPLEPLAY_PUBLIC_URL == "http://127.0.0.1:8123"
        assert settings.TRIPLEPLAY_STRIPE_API_BASE == sim.url
        created = httpx.post(sim.url + "/v1/customers", data={"name": "x"}, trust_env=False,
                             headers={"Authorization": f"Bearer {os.environ['TRIPLEPLAY_STRIPE_SECRET_KEY']}"})
        assert created.status_code == 200 and created.json()["object"] == "customer"
        assert "simulated Stripe at " + sim.url in "\n".join(demo_payments.banner_lines(sim))
    finally:
        sim.stop()


def test_an_operators_own_provider_is_kept(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_STRIPE_SECRET_KEY", "sk_live_operator")
    assert demo_payments.start_stripe(free_port(), 8123) is None
