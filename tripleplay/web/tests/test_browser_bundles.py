"""Browser test of the bundle rules page (Playwright, Debian's chromium) against real processes, with
the fixtures of test_browser.py: an admin creates the triple-play rule (two tiers) and ends it; a
support user sees the rule but no form."""

from __future__ import annotations

import pytest

from tripleplay.web.tests.test_browser import _login, _message, browser, shots, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_admin_creates_and_ends_a_bundle_rule(browser, site, shots):  # noqa: F811
    context, page = _login(browser, site, "admin")
    page.goto("/catalog/")
    page.click("nav.tabs a:has-text('Bundle rules')")
    page.wait_for_selector("text=No bundle rule yet.")
    page.fill("#br-name", "TV + internet + voice, 20 % off")
    page.fill("#br-from", "2026-01-01")
    for n, percent, at_least in ((1, "20", ""), (2, "10", "2")):
        tier = page.locator(f"#tier{n}")
        for service in ("iptv", "data", "voice"):
            tier.locator(f"input[value={service}]").check()
        tier.locator(f"input[name=tier{n}_percent]").fill(percent)
        tier.locator(f"input[name=tier{n}_at_least]").fill(at_least)
    page.screenshot(path=str(shots / "bundle-rules-form.png"), full_page=True)
    page.click("button:has-text('Create bundle rule')")
    page.wait_for_selector("text=Bundle rule TV + internet + voice, 20 % off created.")
    row = page.locator("#bundle-rules tbody tr").first.inner_text()
    assert "3 of data, iptv, voice: 20 % off" in row and "2 of data, iptv, voice: 10 % off" in row, row
    assert "from 2026-01-01" in row and "until" not in row, row
    # A bad tier is refused with the reason, and nothing is created.
    page.fill("#br-name", "Broken")
    page.locator("#tier1 input[value=iptv]").check()
    page.fill("input[name=tier1_percent]", "120")
    page.click("button:has-text('Create bundle rule')")
    assert "percentage" in _message(page)
    assert page.locator("#bundle-rules tbody tr").count() == 1
    row = page.locator("#bundle-rules tbody tr").first
    row.locator("summary:has-text('End')").click()
    row.locator("input[name=active_until]").fill("2027-01-01")
    row.locator("button:has-text('Save')").click()
    page.wait_for_selector("text=now ends on 2027-01-01")
    assert "until 2027-01-01 (exclusive)" in page.locator("#bundle-rules tbody tr").first.inner_text()
    page.screenshot(path=str(shots / "bundle-rules.png"), full_page=True)
    context.close()

    context, page = _login(browser, site, "support")
    page.goto("/catalog/bundles/")
    assert "TV + internet + voice, 20 % off" in page.locator("#bundle-rules").inner_text()
    assert page.locator("button:has-text('Create bundle rule')").count() == 0
    context.close()
