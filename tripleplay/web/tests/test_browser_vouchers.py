"""Browser test of the vouchers pages (Playwright, Debian's chromium) against real processes, with
the fixtures of test_browser.py (its own server, simulator and worker for this module): an operator
creates a batch, sees the codes once and downloads their CSV; one code is redeemed through the REST
API with the operator's session; the redemption and the customer's new balance show; the batch is
disabled and its other codes are refused."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from tripleplay import clock
from tripleplay.web.tests.test_browser import _login, _message, browser, shots, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_an_operator_creates_a_voucher_batch_and_sees_it_redeemed_and_disabled(browser, site, shots):  # noqa: F811
    context, page = _login(browser, site, "finance")
    page.click("header nav a:has-text('Vouchers')")
    page.wait_for_selector("h1:has-text('Vouchers')")
    page.fill("#vb-name", "Kiosk 10")
    page.fill("#vb-value", "10.00")
    page.fill("#vb-count", "4")
    page.fill("#vb-expires", (clock.today() + timedelta(days=60)).isoformat())
    page.screenshot(path=str(shots / "vouchers.png"), full_page=True)
    page.click("button:has-text('Create the batch and show its codes')")
    page.wait_for_selector("h1:has-text('Codes of batch Kiosk 10')")
    codes = [c.strip() for c in page.locator("#codes td.code").all_inner_texts()]
    assert len(codes) == 4 and all(re.fullmatch(r"(\d{4} ){4}\d{4}", c) for c in codes)
    page.screenshot(path=str(shots / "voucher-codes.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#csv")
    assert download.value.suggested_filename.startswith("vouchers-batch-")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["code"] for r in rows] == codes and {r["value"] for r in rows} == {"10.00"}

    # redeem one through the REST API with this operator's session (CSRF header), for the seeded customer
    page.goto("/customers/?q=Existing")
    page.click("a:has-text('Existing Customer')")
    customer_id = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[1]
    page.goto("/api/v1/me")  # sets the csrftoken cookie
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": token, "Referer": site["url"] + "/"}
    redeemed = page.request.post(f"/api/v1/customers/{customer_id}/voucher-redemptions", data={"code": codes[1]},
                                 headers=headers)
    assert redeemed.status == 201, redeemed.text()
    assert redeemed.json()["balance_after"]["amount"] == "15.00"  # 5.00 seeded + 10.00
    page.goto(f"/customers/{customer_id}/?tab=balance")
    assert page.inner_text("#balance").startswith("$15.00")

    page.goto("/vouchers/redemptions/")
    row = page.inner_text("#redemptions tbody tr")
    assert "Kiosk 10" in row and "Existing Customer" in row and "$10.00" in row and "finance" in row
    page.screenshot(path=str(shots / "voucher-redemptions.png"), full_page=True)

    page.goto("/vouchers/")
    page.click("#batches a:has-text('Kiosk 10')")
    assert page.inner_text("#redeemed-count") == "1"
    page.fill("#disable-reason", "box lost in transit")
    page.click("button:has-text('Disable the batch')")
    assert "is disabled" in _message(page)
    assert page.inner_text("#batch-status").startswith("disabled")
    page.screenshot(path=str(shots / "voucher-batch.png"), full_page=True)
    refused = page.request.post(f"/api/v1/customers/{customer_id}/voucher-redemptions", data={"code": codes[2]},
                                headers=headers)
    assert refused.status == 409 and refused.json()["error"]["code"] == "voucher_disabled"
    context.close()
