"""Browser test of vacation holds on the customer page (Playwright, Debian's chromium) against real
processes, with the fixtures of test_browser.py (its own server, Ministra simulator and worker for
this module): an operator schedules a hold and cancels it; a hold from today disables the subscriber
on the platform at once, and "End today" enables it again (D151, D153)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tripleplay.core.testing import run_cli
from tripleplay.web.tests.test_browser import _login, _message, _until, browser, shots, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

ACCOUNT_SEED = r"""
import django; django.setup()
from tripleplay.catalog.models import SubscriptionPlan
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer
from tripleplay.customers.services import create_account
a = create_account(Actor.system("browser-test"), Customer.objects.get(name="Existing Customer"),
                   main_plan=SubscriptionPlan.objects.get(code="tv-monthly"), login="holiday-tv")
print("ACCOUNT", a.pk, a.customer_id)
"""


def test_an_operator_schedules_cancels_and_ends_a_vacation_hold(browser, site, shots):  # noqa: F811
    out = run_cli("django", "shell", "-c", ACCOUNT_SEED, env=site["env"], timeout=120)
    account, customer = map(int, next(line for line in out.splitlines() if line.startswith("ACCOUNT ")).split()[1:])
    sim, sid = site["sim"], f"tp-{account}"
    _until(lambda: sim.subscribers().get(sid, {}).get("enabled") is True, what="the account enabled on the platform")
    context, page = _login(browser, site, "finance")
    page.goto(f"/customers/{customer}/")
    panel = page.locator(f"#account-{account}")
    assert "No vacation hold." in panel.inner_text()

    today = date.today()  # the served site runs on the real clock
    panel.locator(f"#hold-start-{account}").fill((today + timedelta(days=5)).isoformat())
    panel.locator(f"#hold-end-{account}").fill((today + timedelta(days=12)).isoformat())
    panel.locator("input[name=reason]").last.fill("skiing")
    panel.locator("button:has-text('Schedule the hold')").click()
    assert "scheduled" in _message(page)
    panel = page.locator(f"#account-{account}")
    row = panel.locator(f"#holds-{account} tbody tr").first
    assert "skiing" in row.inner_text() and "scheduled" in row.inner_text()
    page.screenshot(path=str(shots / "vacation-hold.png"), full_page=True)
    row.locator("button:has-text('Cancel')").click()
    assert "cancelled" in _message(page)

    panel = page.locator(f"#account-{account}")
    panel.locator(f"#hold-start-{account}").fill(today.isoformat())
    panel.locator(f"#hold-end-{account}").fill((today + timedelta(days=7)).isoformat())
    panel.locator("button:has-text('Schedule the hold')").click()
    assert ": active." in _message(page)
    _until(lambda: sim.subscribers()[sid]["enabled"] is False, what="the subscriber disabled on the platform")
    page.locator(f"#holds-{account} button:has-text('End today')").click()
    assert "Vacation hold now ends on" in _message(page)
    _until(lambda: sim.subscribers()[sid]["enabled"] is True, what="the subscriber enabled again")
    context.close()
