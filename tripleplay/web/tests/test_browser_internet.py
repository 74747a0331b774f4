"""Browser test of the customer page's internet and voice legs (Playwright, Debian's chromium) against
real processes, with the fixtures of test_browser.py: a customer with one account on a product that
gives internet (a NAS session charged by volume) and voice (a call in progress, one ended); the
operator sees the logins, the session with its usage and charge so far, disconnects it from the
customer page, and sees the calls and their usage."""

from __future__ import annotations

import json

import pytest

from tripleplay.core.testing import run_cli
from tripleplay.web.tests.test_browser import _login, _message, browser, shots, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SEED = r"""
import json
import django; django.setup()
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.radius import services as radius
from tripleplay.rating.services import create_rate_table, set_rate
from tripleplay.sessions import services as sessions

actor = Actor.system("browser-test")
product = create_product(actor, code="net-voice", name="Internet and voice", kind="main", currency="USD",
                         services=["data", "voice"])
plan = create_plan(actor, product, code="net-voice-monthly", name="Internet and voice monthly", periodic_fee_minor=0)
data = create_rate_table(actor, product, service_type="data", name="Volume")
set_rate(actor, data, prefix="", price_per_unit_micros=100_000, first_increment=100, next_increment=100)
voice = create_rate_table(actor, product, service_type="voice", name="Calls")
set_rate(actor, voice, prefix="", price_per_unit_micros=100_000, first_increment=60, next_increment=60)
radius.set_internet_service(actor, product, download_kbps=300_000, upload_kbps=50_000)
nas = radius.create_nas(actor, name="bras-customer", address="192.0.2.61", secret="customer-secret", vendor="mikrotik")
c = create_customer(actor, name="Net Voice Customer", currency="USD", balance_model="prepaid", email="nv@example.net")
record_payment(actor, c, Money(1000, "USD"), idempotency_key="seed-net-voice")
account = create_account(actor, c, main_plan=plan, login="nv.home", phone_number="15557770001")
radius.set_internet_password(actor, account, "nv-password")
radius.record_accounting(nas, {"Acct-Status-Type": ["Start"], "Acct-Session-Id": ["nv-s1"], "User-Name": ["nv.home"],
                               "Framed-IP-Address": ["10.20.30.40"]})
radius.record_accounting(nas, {"Acct-Status-Type": ["Interim-Update"], "Acct-Session-Id": ["nv-s1"],
                               "User-Name": ["nv.home"], "Acct-Input-Octets": ["100000"],
                               "Acct-Output-Octets": ["200000"], "Acct-Session-Time": ["90"]})
sessions.start("switch:browser", session_id="call-ended", service_type="voice", subscriber="15557770001",
               destination="15559990000")
sessions.stop("switch:browser", session_id="call-ended", used=30)
sessions.start("switch:browser", session_id="call-live", service_type="voice", subscriber="15557770001",
               destination="15559990001")
sessions.update("switch:browser", session_id="call-live", used=65)
print("SEED " + json.dumps({"customer": c.pk}))
"""


def test_the_customer_page_shows_the_internet_and_voice_legs_and_disconnects_a_session(browser, site, shots):  # noqa: F811
    out = run_cli("django", "shell", "-c", SEED, env=site["env"], timeout=120)
    customer = json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])["customer"]
    context, page = _login(browser, site, "admin")
    page.goto(f"/customers/{customer}/")
    page.click("nav.tabs a[href='?tab=internet']")
    page.wait_for_selector("h2:has-text('Active sessions')")
    login = page.inner_text("#internet-logins tr[data-login='nv.home']")
    assert "set" in login and "300000 / 50000 kbit/s" in login
    session = page.locator("#internet-sessions tr[data-session='nv-s1']")
    text = session.inner_text()
    # 300 KB at 0.01 a 100 KB block: $0.03 charged so far; down 200,000 bytes, up 100,000, 90 s
    assert "bras-customer" in text and "10.20.30.40" in text and "200000" in text and "100000" in text
    assert session.locator("td.charged").inner_text() == "$0.03"
    page.screenshot(path=str(shots / "customer-internet.png"), full_page=True)
    session.locator("button:has-text('Disconnect')").click()
    assert "Disconnect of nv.home queued to bras-customer." in _message(page)
    assert "tab=internet" in page.url  # back on the customer page
    queued = page.inner_text("#internet-commands tbody tr")
    assert "disconnect" in queued and "pending" in queued and "Operator/Disconnect" in queued

    page.click("nav.tabs a[href='?tab=voice']")
    page.wait_for_selector("h2:has-text('Active calls')")
    live = page.inner_text("#voice-active tr[data-call='call-live']")
    # 65 s so far in whole minutes at 0.10: $0.20
    assert "15557770001" in live and "15559990001" in live and "65" in live and "$0.20" in live
    # the ended call: 30 s, one minute, $0.10; both: 95 s, $0.30
    assert page.inner_text("#voice-usage") == "2 calls, 95 s, $0.30 charged."
    page.screenshot(path=str(shots / "customer-voice.png"), full_page=True)
    context.close()
