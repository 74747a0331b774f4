"""Browser test of the notifications pages (Playwright, Debian's chromium; the site of test_browser.py):
an admin edits and previews a template, a suspension writes the customer's notices, the worker sends the
e-mail and dead-letters the SMS (no SMS provider configured on this site), the operator retries it from
the outbox; the customer's page sets a threshold and a language; a support user sees no forms."""

from __future__ import annotations

import pytest

from tripleplay.core.testing import run_cli
from tripleplay.web.tests.test_browser import _login, _until, browser, shots, site  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

SUSPEND = """
import django; django.setup()
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer
from tripleplay.customers.services import change_customer_status, update_customer
a = Actor.system("browser-test")
c = Customer.objects.get(name="Existing Customer")
update_customer(a, c, phone="+4915112345678")
change_customer_status(a, c, "suspended", reason="asked to pause")
print("CUSTOMER", c.pk)
"""

STATUSES = """
import django; django.setup()
from tripleplay.notifications.models import Notification
print("STATUSES", sorted((n.channel, n.status, bool(n.last_error)) for n in Notification.objects.all()))
"""


def _statuses(env) -> str:
    out = run_cli("django", "shell", "-c", STATUSES, env=env, timeout=120)
    return next(line for line in out.splitlines() if line.startswith("STATUSES "))[9:]


def test_templates_outbox_retry_and_customer_settings(browser, site, shots):  # noqa: F811
    env = site["env"]
    context, page = _login(browser, site, "admin")
    page.click("nav a:has-text('Notifications')")
    page.wait_for_selector("h1:has-text('Notifications')")
    assert page.locator("#templates tbody tr").count() == 38
    page.screenshot(path=str(shots / "notifications.png"), full_page=True)

    page.goto("/notifications/")
    rows = page.locator("#templates tbody tr").filter(has_text="Low balance")
    rows.filter(has=page.locator("td:text-is('sms')")).filter(has=page.locator("td:text-is('en')")).locator("a").click()
    page.wait_for_selector("#tpl-body")
    page.fill("#tpl-body", "Low balance: {{ available }} (warning at {{ threshold }}).")
    page.click("#preview")
    page.wait_for_selector("#preview-body")
    assert page.inner_text("#preview-body") == "Low balance: €4.50 (warning at €5.00)."
    page.fill("#tpl-body", "{% load static %}")
    page.click("#save")
    assert "not allowed" in page.inner_text("ul.messages")
    page.fill("#tpl-body", "Low balance: {{ available }}.")
    page.click("#save")
    page.wait_for_selector("ul.messages")
    assert "saved" in page.inner_text("ul.messages") and page.input_value("#tpl-body") == "Low balance: {{ available }}."
    page.screenshot(path=str(shots / "notification-template.png"), full_page=True)

    out = run_cli("django", "shell", "-c", SUSPEND, env=env, timeout=120)
    customer = int(next(line for line in out.splitlines() if line.startswith("CUSTOMER "))[9:])
    # The site's worker delivers: the e-mail goes to the file backend, the SMS fails (no provider here).
    # (A retry clears the last error, which the worker's next failure sets again.)
    done = "[('email', 'sent', False), ('sms', 'failed', True)]"
    _until(lambda: _statuses(env) == done, timeout=60, what="the deliveries")
    page.goto("/notifications/?status=failed")
    page.wait_for_selector("#outbox")
    assert "no SMS provider configured" in page.inner_text("#outbox")
    page.click("#outbox tbody a >> nth=0")
    page.wait_for_selector("#retry")
    assert page.inner_text("#body") == "Your service has been suspended (asked to pause)."
    page.screenshot(path=str(shots / "notification-failed.png"), full_page=True)
    page.click("#retry")
    page.wait_for_selector("ul.messages")
    assert "will be sent again" in page.inner_text("ul.messages")
    _until(lambda: _statuses(env) == done, timeout=60,
           what="the retried SMS to fail again")
    page.reload()
    assert page.inner_text("#last-error") == "no SMS provider configured (TRIPLEPLAY_TWILIO_ACCOUNT_SID)"

    page.goto(f"/customers/{customer}/")
    page.click("#notifications-link")
    page.wait_for_selector("#customer-notifications")
    assert page.locator("#customer-notifications tbody tr").count() == 2
    page.select_option("#pref-lang", "de")
    page.fill("#pref-thr", "60.00")
    page.click("#save-prefs")
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#pref-threshold") == "$60.00" and page.inner_text("#pref-language") == "de"
    page.screenshot(path=str(shots / "customer-notifications.png"), full_page=True)
    context.close()

    context, page = _login(browser, site, "support")
    page.goto(f"/customers/{customer}/notifications/")
    assert page.locator("#save-prefs").count() == 0
    page.goto("/notifications/?status=failed")
    page.click("#outbox tbody a >> nth=0")
    page.wait_for_selector("#body")
    assert page.locator("#retry").count() == 0
    context.close()
