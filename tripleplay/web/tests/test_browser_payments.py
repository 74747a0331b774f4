"""Browser test of online payments against real processes: `tripleplay serve` on its own SQLite home
and the simulated Stripe (tripleplay/simulators/stripe_api.py), which POSTs its signed events to the
served webhook itself. An operator sends a payment link for an invoice; the customer's browser pays on
the provider's hosted page (a declined card first, then a good one) and comes back; the webhook marks
the invoice paid (exact rows read back from the server's database). Skipped like test_browser.py."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tripleplay.core.testing import free_port, home_env, migrate_and_seed, run_cli, start_serve, stop_serve
from tripleplay.simulators.testing import StripeSimulatorProcess

CHROMIUM = os.environ.get("TRIPLEPLAY_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-pay-pw"
pytestmark = pytest.mark.browser

SEED = r"""
import json
import django; django.setup()
from tripleplay.access.services import create_operator
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_customer
from tripleplay.invoicing.services import issue_out_of_turn
from tripleplay.ledger.services import post_charge
from tripleplay.money import Money

actor = Actor.system("browser-test")
create_operator(actor, username="finance", password=PASSWORD, role="finance")
c = create_customer(actor, name="Paying Customer", currency="USD", balance_model="postpaid", credit_limit_minor=100000,
                    email="payer@example.net")
post_charge(actor, c, Money(2500, "USD"), description="TV fee", idempotency_key="seed-fee")
inv = issue_out_of_turn(actor, c)
print("SEED " + json.dumps({"customer": c.pk, "invoice": inv.pk, "number": inv.number_text}))
"""

READ = r"""
import json
import django; django.setup()
from tripleplay.invoicing.models import Invoice
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.payments.models import OnlinePayment, WebhookEvent
inv = Invoice.objects.get(pk=INVOICE)
print("ROWS " + json.dumps({
    "invoice": [inv.status, inv.settled_minor],
    "payments": list(OnlinePayment.objects.values_list("provider_payment_id", "amount_minor", "currency", "source")),
    "entries": list(LedgerEntry.objects.filter(kind="payment").values_list("amount_minor", "balance_after_minor",
                                                                          "idempotency_key")),
    "balance": Funds.objects.get(customer_id=inv.customer_id).balance_minor,
    "events": sorted(WebhookEvent.objects.values_list("type", flat=True)),
}))
"""


@pytest.fixture(scope="module")
def paysite(tmp_path_factory):
    from django.db import connections

    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is not installed"
    elif not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing = f"chromium is not installed at {CHROMIUM}"
    if missing:
        if os.environ.get("TRIPLEPLAY_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}:
            pytest.fail(f"TRIPLEPLAY_REQUIRE_BROWSER=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    if connections["default"].vendor != "sqlite":
        pytest.skip("the browser tests use their own SQLite database: they run in the SQLite pass")
    home = tmp_path_factory.mktemp("pay_home")
    sim = StripeSimulatorProcess(secret_key="sk_test_browser", webhook_secret="whsec_browser").start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = home_env(home, TRIPLEPLAY_STRIPE_SECRET_KEY="sk_test_browser", TRIPLEPLAY_STRIPE_WEBHOOK_SECRET="whsec_browser",
                   TRIPLEPLAY_STRIPE_API_BASE=sim.url, TRIPLEPLAY_PUBLIC_URL=url)
    server = None
    try:
        seed = migrate_and_seed(env, f"PASSWORD = {PASSWORD!r}\n{SEED}")
        server, url = start_serve(env, home / "serve.log", port=port)
        sim.set_webhook(url + "/api/v1/payments/stripe/webhook", secret="whsec_browser")
        yield {"url": url, "sim": sim, "seed": seed, "env": env}
    finally:
        stop_serve(server)
        sim.stop()


def _rows(paysite) -> dict:
    out = run_cli("django", "shell", "-c", f"INVOICE = {paysite['seed']['invoice']}\n{READ}", env=paysite["env"],
                  timeout=120)
    return json.loads(next(line for line in out.splitlines() if line.startswith("ROWS "))[5:])


def test_an_invoice_paid_through_the_hosted_checkout(paysite, tmp_path):
    from playwright.sync_api import sync_playwright

    seed, sim = paysite["seed"], paysite["sim"]
    shots = Path(os.environ.get("TRIPLEPLAY_SCREENSHOTS") or tmp_path)  # scripts/screenshots.sh sets it
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=paysite["url"])
            page = context.new_page()
            page.set_default_timeout(15000)
            page.goto("/login/")
            page.fill("#id_username", "finance")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("h1:has-text('Dashboard')")

            # The operator sends a payment link for the open invoice.
            page.goto(f"/customers/{seed['customer']}/")
            page.click("#online-payments-link")
            page.wait_for_selector("h1:has-text('online payments')")
            page.select_option("#checkout-target", label=f"Invoice {seed['number']}: $25.00 open")
            page.click("#send-checkout button[type=submit]")
            assert "Checkout link e-mailed to payer@example.net" in page.inner_text("ul.messages")
            link = page.get_attribute("#checkouts a.checkout-link", "href")
            assert link.startswith(sim.url + "/c/pay/cs_test_")
            page.screenshot(path=str(shots / "payments-link.png"), full_page=True)

            # The customer, in another browser session, pays on the provider's hosted page.
            customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            customer.goto(link)
            assert "Pay 25.00 USD" in customer.inner_text("h1")
            customer.fill("input[name=cardNumber]", "4000 0000 0000 0002")
            customer.click("button:has-text('Pay')")
            assert "Your card was declined." in customer.inner_text("p.error")
            customer.fill("input[name=cardNumber]", "4242 4242 4242 4242")
            customer.click("button:has-text('Pay')")
            customer.wait_for_url(f"{paysite['url']}/payments/return/**")
            assert "Thank you" in customer.inner_text("h1")

            # The webhook (POSTed by the simulator to the server) marks the invoice paid.
            deadline = time.monotonic() + 30
            while (rows := _rows(paysite))["invoice"] != ["paid", 2500]:
                assert time.monotonic() < deadline, rows
                time.sleep(0.5)
            session_id = link.rsplit("/", 1)[1]
            pi = sim.state()["sessions"][session_id]["payment_intent"]
            assert rows["payments"] == [[pi, 2500, "USD", "checkout"]]
            assert rows["entries"] == [[2500, 0, f"stripe:{pi}"]]
            assert rows["balance"] == 0
            assert "checkout.session.completed" in rows["events"]
            delivered = {e["type"]: [d["status"] for d in e["deliveries"]] for e in sim.events()}
            assert delivered["checkout.session.completed"] == [200]

            customer.reload()
            assert "is confirmed" in customer.inner_text("#checkout-return")
            page.reload()
            assert pi in page.inner_text("#online-payments")
            assert "complete" in page.inner_text("#checkouts")
            page.screenshot(path=str(shots / "payments-paid.png"), full_page=True)
        finally:
            browser.close()
