"""Browser tests: Playwright driving Debian's chromium (headless) against real processes: `tripleplay
serve` (gunicorn) on its own SQLite home, a simulated Ministra platform and `tripleplay worker`, so
provisioning reaches OK for real. They save screenshots of the main pages (docs/screenshots/ with
scripts/screenshots.sh; otherwise a temporary directory, printed).

Skipped with a reason when chromium or playwright is missing, unless TRIPLEPLAY_REQUIRE_BROWSER=1
(.ci/run sets it for its SQLite pass): then they fail. They use their own SQLite database whatever
DATABASE_URL says, so they run in the SQLite pass only (the PostgreSQL pass would repeat them
unchanged)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tripleplay.core.testing import home_env, migrate_and_seed, run_cli, start_serve, stop_serve
from tripleplay.simulators.testing import SimulatorProcess

CHROMIUM = os.environ.get("TRIPLEPLAY_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "TRIPLEPLAY_REQUIRE_BROWSER"
PASSWORD = "browser-test-pw"

pytestmark = pytest.mark.browser

SEED = r"""
import json
import django; django.setup()
from tripleplay.access.services import create_operator
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_customer
from tripleplay.iptv.configuration import create_platform
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.ledger.services import post_charge, record_payment
from tripleplay.money import Money

actor = Actor.system("browser-test")
p = create_platform(actor, code="ministra", name="Ministra", kind="ministra", base_url=SIM_URL, username="tripleplay",
                    secret="secret", timeout_seconds="5")
make_tv_catalog(actor, p)
for role in ("admin", "finance", "support"):
    create_operator(actor, username=role, password=PASSWORD, role=role)
c = create_customer(actor, name="Existing Customer", currency="USD", balance_model="prepaid", email="e@example.net")
record_payment(actor, c, Money(5000, "USD"), idempotency_key="seed-existing")
for service, minor in (("iptv", 1500), ("data", 3000)):  # some revenue for the dashboard's chart
    post_charge(actor, c, Money(minor, "USD"), description=f"{service} fee", idempotency_key=f"seed-{service}",
                service_type=service)
print("SEED " + json.dumps({"platform": p.pk}))
"""


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium; scripts/test.sh does it)"
    return None


def _required() -> bool:
    return os.environ.get(REQUIRE_BROWSER_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


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
    home = tmp_path_factory.mktemp("browser_home")
    env = home_env(home)
    sim = SimulatorProcess("ministra")
    server = worker = None
    log_path = home / "serve.log"
    try:
        sim.start()
        seed = migrate_and_seed(env, f"SIM_URL = {sim.url!r}\nPASSWORD = {PASSWORD!r}\n{SEED}")
        server, url = start_serve(env, log_path)
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "worker", "--threads", "2",
                                       "--poll-seconds", "0.2", "--retry-base-seconds", "0.2", "--retry-cap-seconds",
                                       "1", "--no-jobs"], env=env, stdout=log, stderr=subprocess.STDOUT)
        yield {"url": url, "sim": sim, "seed": seed, "log": log_path, "env": env}
    finally:
        stop_serve(worker)
        stop_serve(server)
        sim.stop()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    target = os.environ.get("TRIPLEPLAY_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {path}")
    return path


def _login(browser, site, role: str, viewport=(1280, 800)):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, base_url=site["url"])
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Dashboard')")
    return context, page


def _until(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _message(page) -> str:
    return page.inner_text("ul.messages")


def test_an_operator_signs_up_a_customer_and_manages_it(browser, site, shots):
    sim = site["sim"]
    context, page = _login(browser, site, "finance")

    # sign-up wizard: IPTV account with a login and two channel packages; provisioning shown live
    page.goto("/customers/new/")
    page.fill("#name", "Browser Customer")
    page.fill("#email", "browser@example.net")
    page.select_option("#tv_plan", label="TV — TV monthly ($15.00 / monthly)")
    page.fill("#tv_login", "browser-1")
    page.check("label:has-text('Sports Pack') input")
    page.check("label:has-text('Movies Pack') input")
    page.screenshot(path=str(shots / "signup.png"), full_page=True)
    page.click("button:has-text('Sign up and provision')")
    page.wait_for_selector("h1:has-text('provisioning')")
    page.wait_for_selector("text=Provisioning has finished.", timeout=30000)  # the page refreshes itself
    assert page.inner_text("#provisioning tr[data-platform=ministra] td.status").strip() == "ok"
    page.screenshot(path=str(shots / "provisioning.png"), full_page=True)
    external_id = page.inner_text("#provisioning tr[data-platform=ministra] td:nth-child(3)").strip()
    assert sorted(sim.subscribers()[external_id]["packages"]) == ["basic", "movies", "sports"]

    # remove a package: it leaves the platform
    page.click("a:has-text('Open the customer')")
    customer_url = page.url.split("?")[0]
    page.screenshot(path=str(shots / "customer-accounts.png"), full_page=True)
    page.click("button[aria-label='Remove Movies Pack']")
    assert "removed from account" in _message(page)
    _until(lambda: sorted(sim.subscribers()[external_id]["packages"]) == ["basic", "sports"], what="package removal")

    # post a payment, with its confirmation step
    page.goto(customer_url + "?tab=balance")
    page.fill("#pay-amount", "25.00")
    page.click("form:has(#pay-amount) button[type=submit]")
    assert page.inner_text("#confirm-amount") == "$25.00"
    page.click("button:has-text('Confirm payment')")
    assert "Payment of $25.00 recorded" in _message(page)
    assert page.inner_text("#balance").startswith("$25.00")
    page.screenshot(path=str(shots / "customer-balance.png"), full_page=True)

    # issue an invoice and download its PDF
    page.goto(customer_url + "?tab=invoices")
    page.click("button:has-text('Issue an invoice now')")
    assert "issued." in _message(page)
    with page.expect_download() as download:
        page.click("#invoices a:has-text('PDF')")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and download.value.suggested_filename.endswith(".pdf")
    page.screenshot(path=str(shots / "customer-invoices.png"), full_page=True)

    # suspend: the platform's status changes
    page.goto(customer_url + "?tab=status")
    page.select_option("#new-status", "suspended")
    page.fill("#status-reason", "browser test")
    page.click("button:has-text('Change status')")
    assert "Customer is now suspended." in _message(page)
    _until(lambda: sim.subscribers()[external_id]["enabled"] is False, what="the platform disabling the subscriber")

    def iptv_tab_shows_disabled():
        page.goto(customer_url + "?tab=iptv")
        return "disabled" in page.inner_text("section[data-platform=ministra] .applied")

    _until(iptv_tab_shows_disabled, what="the IPTV tab showing the platform's new status")
    assert page.inner_text("section[data-platform=ministra] .status").strip() == "ok"
    page.screenshot(path=str(shots / "customer-iptv.png"), full_page=True)
    page.goto(customer_url + "?tab=audit")
    assert "finance" in page.inner_text("#audit") and "customer.status_changed" in page.inner_text("#audit")
    context.close()


def test_a_support_user_is_refused_a_money_action(browser, site):
    context, page = _login(browser, site, "support")
    page.goto("/customers/?q=Existing")
    page.click("a:has-text('Existing Customer')")
    customer_url = page.url.split("?")[0]
    page.goto(customer_url + "?tab=balance")
    assert page.locator("#pay-amount").count() == 0  # no payment form for support
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    customer_id = customer_url.rstrip("/").rsplit("/", 1)[1]
    response = page.request.post(f"/customers/{customer_id}/money/payment",
                                 form={"amount": "5.00", "confirm": "1", "key": "support-try",
                                       "csrfmiddlewaretoken": token},
                                 headers={"Referer": site["url"] + "/"})
    assert response.status == 403
    assert "The support role may not do this" in response.text()
    page.goto(customer_url + "?tab=balance")
    assert page.inner_text("#balance").startswith("$5.00")  # unchanged
    context.close()


def test_screenshots_of_the_main_pages(browser, site, shots):
    context, page = _login(browser, site, "admin")
    page.goto("/")
    chart = page.locator("svg.chart").text_content()
    assert "data (USD)" in chart and "$30.00" in chart and "iptv (USD)" in chart and "$15.00" in chart
    for name, url in (("dashboard", "/"), ("customers", "/customers/"), ("catalog", "/catalog/"),
                      ("packages", "/catalog/packages/"), ("platforms", "/platforms/"), ("queue", "/platforms/queue/"),
                      ("reports", "/reports/"), ("audit", "/audit/")):
        page.goto(url)
        assert page.locator("main h1").count() == 1, name
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.goto(f"/platforms/{site['seed']['platform']}/")
    page.click("button:has-text('Import packages')")
    page.wait_for_selector("h1:has-text('preview')")
    page.screenshot(path=str(shots / "import-preview.png"), full_page=True)
    context.close()
    tablet, page = _login(browser, site, "support", viewport=(800, 1100))
    page.goto("/customers/?q=Browser")
    page.click("a:has-text('Browser Customer')")
    page.screenshot(path=str(shots / "customer-tablet.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800  # no sideways scrolling on a tablet
    tablet.close()


def test_admin_adds_a_plan_aligned_to_the_billing_period(browser, site, shots):
    """The catalog's plan form: where periods start and whether partial periods are prorated (D92)."""
    context, page = _login(browser, site, "admin")
    page.goto("/catalog/")
    row = page.locator("tr", has=page.locator("td", has_text="Internet")).first
    row.locator("summary:has-text('Add a plan')").click()
    form = row.locator("form").first
    form.locator("input[name=code]").fill("net-aligned")
    form.locator("input[name=name]").fill("Internet aligned")
    form.locator("input[name=periodic_fee]").fill("31.00")
    form.locator("select[name=alignment]").select_option(label="On the customer's bill-cycle day")
    form.locator("select[name=prorate_first_period]").select_option("no")
    page.screenshot(path=str(shots / "catalog-plan-form.png"), full_page=True)
    form.locator("button:has-text('Create plan')").click()
    page.wait_for_selector("text=Plan net-aligned created")
    plans = page.locator("tr", has=page.locator("td", has_text="Internet")).first.inner_text()
    line = next(ln for ln in plans.splitlines() if "net-aligned" in ln)
    assert "31.00" in line and "/monthly, aligned to the billing period" in line, line


SESSION_SEED = r"""
import django; django.setup()
from tripleplay.radius.models import NasClient
from tripleplay.radius.services import record_accounting
nas = NasClient.objects.get(name="bras-browser")
record_accounting(nas, {"Acct-Status-Type": ["Start"], "Acct-Session-Id": ["browser-s1"], "User-Name": ["surfer"],
                        "Framed-IP-Address": ["10.9.8.7"]})
"""


def test_an_admin_adds_a_nas_and_disconnects_a_session(browser, site, shots):
    context, page = _login(browser, site, "admin")
    page.click("nav a:has-text('Internet')")
    page.wait_for_selector("h1:has-text('Internet access')")
    page.fill("#nas-name", "bras-browser")
    page.fill("#nas-address", "192.0.2.50")
    page.select_option("#nas-vendor", "huawei")
    page.fill("#nas-secret", "browser-secret")
    page.click("button:has-text('Add NAS')")
    assert "NAS bras-browser added." in _message(page)
    row = page.locator("tr", has_text="bras-browser")
    assert "192.0.2.50" in row.inner_text() and "Huawei" in row.inner_text()
    assert "browser-secret" not in page.content()  # the secret is never shown

    run_cli("django", "shell", "-c", SESSION_SEED, env=site["env"], timeout=120)
    page.goto("/network/")
    session = page.locator("tr", has_text="browser-s1")
    assert "10.9.8.7" in session.inner_text() and "surfer" in session.inner_text()
    page.screenshot(path=str(shots / "network.png"), full_page=True)
    session.locator("button:has-text('Disconnect')").click()
    assert "Disconnect of surfer queued to bras-browser." in _message(page)
    queued = page.locator("tr", has_text="Operator/Disconnect")
    assert "pending" in queued.inner_text() and "bras-browser" in queued.inner_text()
    context.close()
