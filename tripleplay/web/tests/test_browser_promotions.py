"""Browser test of the promotions pages (Playwright, Debian's chromium) against real processes, with
the fixtures of test_browser.py: an operator creates a "first three months at half price" promotion
and a coupon code for it, opens an account for the seeded customer, and redeems the code on the
account's TV product; the grant shows on the customer page and the coupon's use on its list."""

from __future__ import annotations

import pytest

from tripleplay.web.tests.test_browser import _login, _message, browser, shots, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_operator_offers_a_promotion_and_a_coupon_redeems_it(browser, site, shots):  # noqa: F811
    context, page = _login(browser, site, "finance")
    page.click("header nav a:has-text('Promotions')")
    page.wait_for_selector("h1:has-text('Promotions')")
    page.fill("#pr-code", "half-3")
    page.fill("#pr-name", "First three months at half price")
    page.select_option("#pr-product", label="TV [tv]")
    page.select_option("#pr-kind", "price")
    page.fill("#pr-periods", "3")
    page.fill("#pr-percent", "50")
    page.screenshot(path=str(shots / "promotions.png"), full_page=True)
    page.click("button:has-text('Create the promotion')")
    assert "Promotion First three months at half price created." in _message(page)
    assert "50 % off for 3 periods" in page.inner_text("#promotions tbody tr")

    page.click("nav.tabs a:has-text('Coupon codes')")
    page.fill("#cp-code", "half-tv")
    page.select_option("#cp-promotion", label="First three months at half price")
    page.fill("#cp-limit", "100")
    page.click("button:has-text('Create the coupon')")
    assert "Coupon HALFTV created." in _message(page)

    page.goto("/customers/?q=Existing")
    page.click("a:has-text('Existing Customer')")
    page.select_option("#new-main", label="TV — TV monthly ($15.00)")
    page.click("button:has-text('Create account')")
    panel = page.locator("section[id^='account-']").first
    panel.locator("input[name='code']").fill("Half-TV")
    panel.locator("button:has-text('Redeem')").click()
    assert "Coupon accepted: First three months at half price on TV." in _message(page)
    assert "First three months at half price on TV" in page.locator(".promotions .grant").first.inner_text()
    page.screenshot(path=str(shots / "promotion-granted.png"), full_page=True)

    page.goto("/promotions/coupons/")
    assert page.inner_text("#coupons tbody tr td.used") == "1"
    context.close()
