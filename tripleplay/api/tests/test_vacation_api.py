"""Vacation holds through the REST API (D151): schedule, list, cancel, end early, refusals."""

import pytest

from tripleplay.api.tests.conftest import error_of

pytestmark = pytest.mark.django_db  # the clock is frozen at 2026-03-10T12:00:00Z


@pytest.fixture
def account(finance, customer, api_catalog):
    r = finance.post("/accounts", {"customer_id": customer.pk, "login": "ada-tv",
                                   "main_plan_id": api_catalog["basic_plan"].pk, "start_date": "2026-03-01"})
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_schedule_list_cancel_and_end_a_hold(finance, support, account):
    r = finance.post(f"/accounts/{account}/holds", {"start_date": "2026-03-20", "end_date": "2026-04-05",
                                                    "reason": "skiing"})
    assert r.status_code == 201, r.content
    hold = r.json()
    assert {k: hold[k] for k in ("account_id", "start_date", "end_date", "status", "reason", "channel")} == {
        "account_id": account, "start_date": "2026-03-20", "end_date": "2026-04-05", "status": "scheduled",
        "reason": "skiing", "channel": "operator"}
    assert hold["actor"] == {"kind": "api_client", "name": "test-finance"}

    r = finance.post(f"/accounts/{account}/holds", {"start_date": "2026-04-01", "end_date": "2026-04-10"})
    assert (r.status_code, error_of(r)["code"]) == (409, "hold_overlaps")
    r = support.post(f"/accounts/{account}/holds", {"start_date": "2026-05-01", "end_date": "2026-05-10"})
    assert r.status_code == 403
    r = finance.post(f"/accounts/{account}/holds", {"start_date": "2026-03-09", "end_date": "2026-03-12"})
    assert (r.status_code, error_of(r)["code"]) == (422, "hold_start_too_early")

    r = finance.post(f"/accounts/{account}/holds/{hold['id']}/cancel", {"reason": "trip called off"})
    assert (r.status_code, r.json()["status"], r.json()["end_reason"]) == (200, "cancelled", "trip called off")
    r = finance.post(f"/accounts/{account}/holds", {"start_date": "2026-03-10", "end_date": "2026-03-31"})
    assert (r.status_code, r.json()["status"]) == (201, "active")  # starting today: at once
    active = r.json()["id"]
    r = finance.post(f"/accounts/{account}/holds/{active}/cancel", {})
    assert (r.status_code, error_of(r)["code"]) == (409, "hold_not_scheduled")
    r = finance.post(f"/accounts/{account}/holds/{active}/end", {"end_date": "2026-03-15"})
    assert (r.status_code, r.json()["status"], r.json()["end_date"]) == (200, "active", "2026-03-15")
    r = finance.post(f"/accounts/{account}/holds/{active}/end", {"end_date": "2026-03-09"})
    assert (r.status_code, error_of(r)["code"]) == (422, "invalid_hold_dates")
    r = finance.post(f"/accounts/{account}/holds/{active}/end", {})  # started today: no day held
    assert (r.status_code, r.json()["status"], r.json()["end_date"]) == (200, "cancelled", "2026-03-15")

    r = support.get(f"/accounts/{account}/holds")
    assert [(h["id"], h["status"]) for h in r.json()] == [(hold["id"], "cancelled"), (active, "cancelled")]
    r = finance.post(f"/accounts/{account + 1}/holds/{active}/end", {})
    assert r.status_code == 404
