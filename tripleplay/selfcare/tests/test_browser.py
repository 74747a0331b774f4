"""The portal in a real browser: Playwright driving Debian's chromium against real processes (`tripleplay
serve`, `tripleplay worker`, a simulated Ministra) on their own SQLite home, as the operator UI's browser
tests do (tripleplay/web/tests/test_browser.py, whose skip rules these share).

A subscriber logs in, adds a channel package after seeing its charge and the platform simulator shows
it, switches to German and sees the pages in German with German money, and at phone width (375 px)
no portal page scrolls sideways. Screenshots as for the operator UI (TRIPLEPLAY_SCREENSHOTS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tripleplay.core.testing import run_cli, start_serve
from tripleplay.simulators.testing import SimulatorProcess
from tripleplay.web.tests.test_browser import CHROMIUM, REQUIRE_BROWSER_ENV, _missing, _required, _stop, _until

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
print("SEED " + json.dumps({"customer": c.pk}))
"""

PAGES = ("/my/", "/my/services/", "/my/invoices/", "/my/payments/", "/my/usage/", "/my/settings/")


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
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRIPLEPLAY_SECRET_KEY")}
    env.update(TRIPLEPLAY_HOME=str(home), TRIPLEPLAY_DEMO="1", DJANGO_SETTINGS_MODULE="tripleplay.settings")
    sim = SimulatorProcess("ministra")
    server = worker = None
    log_path = home / "serve.log"
    try:
        sim.start()
        run_cli("migrate", "-v", "0", env=env, timeout=180)
        out = run_cli("django", "shell", "-c", f"SIM_URL = {sim.url!r}\nPASSWORD = {PASSWORD!r}\n{SEED}", env=env,
                      timeout=120)
        seed = json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])
        server, url = start_serve(env, log_path)
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "worker", "--threads", "2",
                                       "--poll-seconds", "0.2", "--retry-base-seconds", "0.2", "--retry-cap-seconds",
                                       "1", "--no-jobs"], env=env, stdout=log, stderr=subprocess.STDOUT)
        yield {"url": url, "sim": sim, "seed": seed, "log": log_path}
    finally:
        _stop(worker)
        _stop(server)
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


def _login(browser, site, viewport=(1024, 768), locale="en-US"):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, base_url=site["url"],
                                  locale=locale)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/my/")
    assert "/my/login/" in page.url
    page.fill("#identity", "grace@example.net")
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
