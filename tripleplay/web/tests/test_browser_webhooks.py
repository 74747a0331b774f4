"""Browser test of the webhooks pages (Playwright, Debian's chromium; the site of test_browser.py): an
admin registers an endpoint and reads its secret once, a receiver process verifies the delivery with the
`standardwebhooks` package, the delivery and its attempts show, a replay sends the same message again,
the secret is rotated; a support user sees the pages without the forms."""

from __future__ import annotations

import pytest

from tripleplay.core.testing import free_port, run_cli
from tripleplay.web.tests.test_browser import _login, browser, shots, site  # noqa: F401 - fixtures
from tripleplay.webhooks.tests.conftest import Receiver

pytestmark = pytest.mark.browser

PAYMENT = """
import django; django.setup()
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
c = Customer.objects.get(name="Existing Customer")
record_payment(Actor.system("browser-test"), c, Money(4321, "USD"), idempotency_key="webhook-browser-pay")
"""


def test_an_admin_registers_an_endpoint_and_follows_its_deliveries(browser, site, shots, tmp_path):  # noqa: F811
    port = free_port()
    context, page = _login(browser, site, "admin")
    page.click("nav a:has-text('Webhooks')")
    page.wait_for_selector("h1:has-text('Webhooks')")
    page.fill("#wh-url", f"http://127.0.0.1:{port}/hook")
    page.fill("#wh-description", "CRM")
    page.uncheck("#wh-all")
    page.check("input[name=event_types][value='payment.recorded']")
    page.click("button:has-text('Add endpoint')")
    secret = page.inner_text("#secret").strip()
    assert secret.startswith("whsec_")
    page.screenshot(path=str(shots / "webhook-secret.png"), full_page=True)
    receiver = Receiver(tmp_path, secret, port=port)
    try:
        env = site["env"]
        run_cli("django", "shell", "-c", PAYMENT, env=env, timeout=120)
        run_cli("webhook-worker", "--until-idle", "--threads", "1", env=env, timeout=120)
        (req,) = receiver.requests()
        assert (req["verified"], req["status"], req["type"], req["data"]["amount_minor"]) == (
            True, 204, "payment.recorded", 4321)
        page.click("a:has-text('Go to the endpoint')")
        page.wait_for_selector("#deliveries")
        assert "payment.recorded" in page.inner_text("#deliveries") and "succeeded" in page.inner_text("#deliveries")
        page.screenshot(path=str(shots / "webhook-endpoint.png"), full_page=True)
        page.click("#deliveries a")
        page.wait_for_selector("#attempts")
        assert "204" in page.inner_text("#attempts") and '"amount_minor": 4321' in page.inner_text("#payload")
        assert req["id"] in page.inner_text("main")
        page.screenshot(path=str(shots / "webhook-delivery.png"), full_page=True)
        page.click("#replay")
        page.wait_for_selector("ul.messages")
        assert "will be sent again" in page.inner_text("ul.messages")
        run_cli("webhook-worker", "--until-idle", "--threads", "1", env=env, timeout=120)
        assert [q["id"] for q in receiver.requests()] == [req["id"], req["id"]]  # the same message again
        page.reload()
        assert page.locator("#attempts tbody tr").count() == 2
        page.click(f"a:has-text('127.0.0.1:{port}')")
        page.click("#rotate")
        rotated = page.inner_text("#secret").strip()
        assert rotated.startswith("whsec_") and rotated != secret
        assert "previous secret keeps signing" in page.inner_text("main")
    finally:
        receiver.stop()
        context.close()
    context, page = _login(browser, site, "support")
    page.goto("/webhooks/")
    assert "127.0.0.1" in page.inner_text("#endpoints") and page.locator("#wh-url").count() == 0
    page.click("#endpoints a")
    page.wait_for_selector("#deliveries")
    assert page.locator("#rotate").count() == 0
    page.click("#deliveries a")
    assert page.locator("#replay").count() == 0
    context.close()
