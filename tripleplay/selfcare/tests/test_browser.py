"""The portal in a real browser: Playwright driving Debian's chromium against real processes (`tripleplay
serve`, `tripleplay worker`, a simulated Ministra) on their own SQLite home, as the operator UI's browser
tests do (tripleplay/web/tests/test_browser.py, whose skip rules these share).

A subscriber logs in, adds a channel package after seeing its charge and the platform simulator shows
it, switches to German and sees the pages in German with German money, and at phone width (375 px)
no portal page scrolls sideways. Another pays an invoice on the simulated Stripe's hosted page (a
separate process that POSTs its signed webhook to the served site, which marks the invoice paid and
the portal then shows it paid) and redeems a voucher. Screenshots as for the operator UI (TRIPLEPLAY_SCREENSHOTS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tripleplay.core.testing import free_port, home_env, migrate_and_seed, start_serve, stop_serve
from tripleplay.simulators.testing import SimulatorProcess, StripeSimulatorProcess
from tripleplay.web.tests.test_browser import CHROMIUM, REQUIRE_BROWSER_ENV, _missing, _required, _until

pytestmark = pytest.mark.browser
PASSWORD = "portal-browser-pw"

SEED = r"""
import json
import django; django.setup()
from django.db import transaction
from tripleplay.catalog.services import update_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.iptv.configuration import create_platform
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.subscriber_access.services import invite, set_password_with_token

actor = Actor.system("browser-test")
p = create_platform(actor, code="ministra", name="Ministra", kind="ministra", base_url=SIM_URL, username="tripleplay",
                    secret="secret", timeout_seconds="5")
cat = make_tv_catalog(actor, p)
for product in (cat.sports_plan.product, cat.movies_plan.product, cat.kids_plan.product):
    update_product(actor, product, self_service=True)
c = create_customer(actor, name="Grace Portal", currency="USD", balance_model="prepaid", email="grace@example.net")
record_payment(actor, c, Money(5000, "USD"), idempotency_key="seed-grace")
create_account(actor, c, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan], login="grace-tv")
with transaction.atomic():
    link = invite(actor, c).link
set_password_with_token(link.rsplit("/", 1)[1], PASSWORD)

# Henry: postpaid, one open invoice of $25.00, a portal login; a voucher of $15.00 to redeem
from datetime import timedelta
from tripleplay import clock
from tripleplay.invoicing.services import issue_out_of_turn
from tripleplay.ledger.services import post_charge
from tripleplay.vouchers.services import create_batch
h = create_customer(actor, name="Henry Payer", currency="USD", balance_model="postpaid", credit_limit_minor=100000,
                    email="henry@example.net")
post_charge(actor, h, Money(2500, "USD"), description="TV fee", idempotency_key="seed-henry-fee")
inv = issue_out_of_turn(actor, h)
with transaction.atomic():
    link = invite(actor, h).link
set_password_with_token(link.rsplit("/", 1)[1], PASSWORD)
batch = create_batch(actor, name="Shop card 15", value=Money(1500, "USD"), count=1,
                     expires_at=clock.now() + timedelta(days=30), idempotency_key="seed-batch")

# Ivy: prepaid $50.00, on a generic XML platform that can grant PPV events (protocol 1.2), with the PPV add-on
from tripleplay.catalog.services import create_plan, create_product
xml = create_platform(actor, code="xmltv", name="XML TV", kind="generic_xml", base_url=XML_SIM_URL,
                      username="tripleplay", secret="secret", timeout_seconds="5", options={"ppv_grants": True})
xcat = make_tv_catalog(actor, xml, suffix="-x")  # imports its packages and PPV events (Fight Night Live, $19.99)
ppv = create_product(actor, code="ppv-x", name="Pay-per-view", kind="addon", currency="USD", services=["ppv"])
ppv_plan = create_plan(actor, ppv, code="ppv-x-monthly", name="Pay-per-view", periodic_fee_minor=0)
ivy = create_customer(actor, name="Ivy Viewer", currency="USD", balance_model="prepaid", email="ivy@example.net")
record_payment(actor, ivy, Money(5000, "USD"), idempotency_key="seed-ivy")
create_account(actor, ivy, main_plan=xcat.tv_plan, addon_plans=[ppv_plan], login="ivy-tv")
with transaction.atomic():
    link = invite(actor, ivy).link
set_password_with_token(link.rsplit("/", 1)[1], PASSWORD)
print("SEED " + json.dumps({"customer": c.pk, "payer": h.pk, "invoice": inv.pk, "number": inv.number_text,
                            "voucher": batch.codes[0].printable}))
"""

PAGES = ("/my/", "/my/services/", "/my/invoices/", "/my/payments/", "/my/usage/", "/my/ppv/", "/my/settings/")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from django.db import connections

    problem = _missing()
    if problem:
        if _required():
            pytest.fail(f"{REQUIRE_BROWSER_ENV}=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    if connections["default"].vendor != "sqlite":
        pytest.skip("the browser tests use their own SQLite database: they run in the SQLite pass")
    home = tmp_path_factory.mktemp("portal_home")
    env = home_env(home)
    sim = SimulatorProcess("ministra")
    xml_sim = SimulatorProcess("generic_xml")
    stripe = StripeSimulatorProcess(secret_key="sk_test_portal", webhook_secret="whsec_portal")
    port = free_port()
    env.update(TRIPLEPLAY_STRIPE_SECRET_KEY="sk_test_portal", TRIPLEPLAY_STRIPE_WEBHOOK_SECRET="whsec_portal",
               TRIPLEPLAY_PUBLIC_URL=f"http://127.0.0.1:{port}")
    server = worker = None
    log_path = home / "serve.log"
    try:
        sim.start()
        xml_sim.start()
        stripe.start()
        env["TRIPLEPLAY_STRIPE_API_BASE"] = stripe.url
        urls = f"SIM_URL = {sim.url!r}\nXML_SIM_URL = {xml_sim.url!r}\n"
        seed = migrate_and_seed(env, f"{urls}PASSWORD = {PASSWORD!r}\n{SEED}")
        server, url = start_serve(env, log_path, port=port)
        stripe.set_webhook(url + "/api/v1/payments/stripe/webhook", secret="whsec_portal")
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "worker", "--threads", "2",
                                       "--poll-seconds", "0.2", "--retry-base-seconds", "0.2", "--retry-cap-seconds",
                                       "1", "--no-jobs"], env=env, stdout=log, stderr=subprocess.STDOUT)
        yield {"url": url, "sim": sim, "xml_sim": xml_sim, "stripe": stripe, "seed": seed, "log": log_path}
    finally:
        stop_serve(worker)
        stop_serve(server)
        stripe.stop()
        xml_sim.stop()
        sim.stop()


@pytest.fixture(scope="module")
def browser(site):
    import shutil

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("TRIPLEPLAY_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("portal_screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _login(browser, site, viewport=(1024, 768), locale="en-US", identity="grace@example.net"):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, base_url=site["url"],
                                  locale=locale)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/my/")
    assert "/my/login/" in page.url
    page.fill("#identity", identity)
    page.fill("#password", PASSWORD)
    page.click("form[action='/my/login/'] button[type=submit]")
    page.wait_for_selector("#balance")
    return context, page


def _external_id(sim, login: str = "grace-tv") -> str | None:
    for external_id, sub in sim.subscribers().items():
        if sub.get("login") == login or external_id == login:
            return external_id
    return None


def test_a_subscriber_adds_a_package_and_the_platform_shows_it(browser, site, shots):
    sim = site["sim"]
    _until(lambda: _external_id(sim), what="the account reaching the platform")
    external_id = _external_id(sim)
    _until(lambda: sorted(sim.subscribers()[external_id]["packages"]) == ["basic", "sports"], what="initial packages")
    context, page = _login(browser, site)
    assert page.inner_text("#balance") == "$50.00"
    page.screenshot(path=str(shots / "portal-overview.png"), full_page=True)
    page.click("nav a[href='/my/services/']")
    page.click("a[aria-label='Add Movies Pack']")
    assert page.inner_text("#charge-now") == "$5.00" and page.inner_text("#available") == "$50.00"
    page.screenshot(path=str(shots / "portal-add-confirm.png"), full_page=True)
    page.click("#confirm")
    assert "Movies Pack was added." in page.inner_text("ul.messages")
    _until(lambda: sorted(sim.subscribers()[external_id]["packages"]) == ["basic", "movies", "sports"],
           what="the platform showing the new package")
    page.goto("/my/")
    assert page.inner_text("#balance") == "$45.00"
    # and removes one
    page.goto("/my/services/")
    page.click("a[aria-label='Remove Sports Pack']")
    page.click("#confirm")
    assert "Sports Pack was removed." in page.inner_text("ul.messages")
    _until(lambda: sorted(sim.subscribers()[external_id]["packages"]) == ["basic", "movies"],
           what="the platform dropping the removed package")
    context.close()


def test_switching_language_shows_the_portal_in_german(browser, site, shots):
    context, page = _login(browser, site)
    assert page.inner_text("nav a[href='/my/services/']") == "Services"
    page.click("form.lang button[value=de]")
    page.wait_for_selector("html[lang=de]")
    assert page.inner_text("nav a[href='/my/services/']") == "Dienste"
    assert "Guthaben" in page.inner_text("main") and page.inner_text("#balance").endswith("\xa0$")
    page.screenshot(path=str(shots / "portal-overview-de.png"), full_page=True)
    page.goto("/my/services/")
    assert page.inner_text("h1") == "Dienste"
    page.click("form.lang button[value=en]")  # the customer's setting goes back to English
    page.wait_for_selector("html[lang=en]")
    context.close()
    # a browser asking for German gets German before any choice... but this customer chose English
    context, page = _login(browser, site, locale="de-DE")
    assert page.inner_text("nav a[href='/my/services/']") == "Services"
    context.close()
    anonymous = browser.new_context(base_url=site["url"], locale="de-DE")
    page = anonymous.new_page()
    page.goto("/my/login/")
    assert page.inner_text("h1") == "Anmelden"
    anonymous.close()


def test_phone_width_does_not_scroll_sideways(browser, site, shots):
    context, page = _login(browser, site, viewport=(375, 740))
    for url in PAGES:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (url, overflow)
    page.goto("/my/services/")
    page.screenshot(path=str(shots / "portal-services-phone.png"), full_page=True)
    page.goto("/my/login/")
    context.close()


def test_a_subscriber_pays_an_invoice_online_and_redeems_a_voucher(browser, site, shots):
    seed, stripe = site["seed"], site["stripe"]
    context, page = _login(browser, site, identity="henry@example.net")
    page.goto("/my/invoices/")
    row = page.locator(f"li[data-invoice='{seed['invoice']}']")
    assert "$25.00 open" in row.inner_text()
    row.locator("button:has-text('Pay online')").click()
    # the provider's hosted page (the simulated Stripe, another process), for the invoice's open amount
    page.wait_for_url(f"{stripe.url}/c/pay/cs_test_**")
    assert "Pay 25.00 USD" in page.inner_text("h1")
    session_id = page.url.rsplit("/", 1)[1]
    at_provider = stripe.state()["sessions"][session_id]
    assert (at_provider["amount_total"], at_provider["metadata"]["tripleplay_customer"]) == (2500, str(seed["payer"]))
    page.fill("input[name=cardNumber]", "4242 4242 4242 4242")
    page.click("button:has-text('Pay')")
    page.wait_for_url(f"{site['url']}/my/checkout/?session_id={session_id}")
    page.screenshot(path=str(shots / "portal-checkout-return.png"), full_page=True)

    # the simulator POSTs its signed webhook to the server; the return page shows it once recorded
    def confirmed():
        page.reload()
        return page.get_attribute("#checkout-status", "data-status") == "complete"

    _until(confirmed, what="the webhook confirming the payment")
    assert "Payment received." in page.inner_text("#checkout-status")
    delivered = {e["type"]: [d["status"] for d in e["deliveries"]] for e in stripe.events()}
    assert delivered["checkout.session.completed"] == [200]
    page.goto("/my/invoices/")
    row = page.locator(f"li[data-invoice='{seed['invoice']}']")
    assert "paid" in row.inner_text() and row.locator("button:has-text('Pay online')").count() == 0
    page.goto("/my/")
    assert page.inner_text("#balance") == "$0.00"

    # a voucher bought at a shop
    page.fill("#voucher-code", seed["voucher"])
    page.click("#redeem")
    assert "Your voucher was redeemed: $15.00 credited." in page.inner_text("ul.messages")
    assert page.inner_text("#balance") == "$15.00"
    page.fill("#voucher-code", seed["voucher"])
    page.click("#redeem")
    assert "This voucher has already been used." in page.inner_text("ul.messages")
    assert page.inner_text("#balance") == "$15.00"
    page.screenshot(path=str(shots / "portal-voucher.png"), full_page=True)
    context.close()


def test_a_subscriber_buys_a_ppv_event_and_the_platform_grants_it(browser, site, shots):
    xml_sim = site["xml_sim"]
    _until(lambda: _external_id(xml_sim, "ivy-tv"), what="Ivy's account reaching the XML platform")
    external_id = _external_id(xml_sim, "ivy-tv")
    context, page = _login(browser, site, identity="ivy@example.net")
    assert page.inner_text("#balance") == "$50.00"
    page.click("nav a[href='/my/ppv/']")
    page.screenshot(path=str(shots / "portal-ppv.png"), full_page=True)
    page.click("a[aria-label='Buy Fight Night Live']")
    assert page.inner_text("#price") == "$19.99" and page.inner_text("#available") == "$50.00"
    page.click("#confirm")
    assert "You bought Fight Night Live for $19.99." in page.inner_text("ul.messages")
    assert "Fight Night Live" in page.inner_text("#ppv")
    page.goto("/my/")
    assert page.inner_text("#balance") == "$30.01"
    _until(lambda: xml_sim.subscribers()[external_id].get("ppv_events") == ["fight-night"],
           what="the platform granting the event")
    grants = xml_sim.subscribers()[external_id]["ppv_grants"]
    assert len(grants) == 1 and grants[0]["event_id"] == "fight-night" and grants[0]["purchase_id"].startswith("portal:")
    context.close()
