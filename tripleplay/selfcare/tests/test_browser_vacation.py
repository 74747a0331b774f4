"""The subscriber pauses their account in the portal, in a real browser (Playwright, Debian's
chromium), with the fixtures of test_browser.py (its own served site for this module); at phone
width the services page with its pause form does not scroll sideways (D151)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tripleplay.selfcare.tests.test_browser import _login, browser, shots, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_subscriber_pauses_and_cancels_a_pause(browser, site, shots):  # noqa: F811
    context, page = _login(browser, site, viewport=(375, 740))
    page.goto("/my/services/")
    start, end = date.today() + timedelta(days=3), date.today() + timedelta(days=10)  # the real clock
    form = page.locator("form.hold-form").first
    form.locator("input[name=start_date]").fill(start.isoformat())
    form.locator("input[name=end_date]").fill(end.isoformat())
    form.locator("button[type=submit]").click()
    assert f"Your service pauses on {start.isoformat()} and resumes on {end.isoformat()}." in page.inner_text(
        "ul.messages")
    assert f"Paused from {start.isoformat()}, service resumes on {end.isoformat()}" in page.inner_text("ul.holds")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(shots / "portal-pause.png"), full_page=True)
    form = page.locator("form.hold-form").first
    form.locator("input[name=start_date]").fill(date.today().isoformat())
    form.locator("input[name=end_date]").fill(end.isoformat())
    form.locator("button[type=submit]").click()
    assert "A pause must be asked for at least a day ahead." in page.inner_text("ul.messages")
    page.click("ul.holds button:has-text('Cancel the pause')")
    assert "The pause was cancelled." in page.inner_text("ul.messages")
    assert "Paused from" not in page.inner_text("main")
    context.close()
