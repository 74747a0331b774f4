"""Vacation hold actions on the customer page (D151): support is refused (403, nothing written);
finance schedules, cancels and ends holds."""

from __future__ import annotations

from datetime import timedelta

from tripleplay import clock
from tripleplay.customers.models import VacationHold


def test_support_is_refused_and_finance_schedules_cancels_and_ends(world, login):
    a = world.account.pk
    today = clock.today()
    dates = {"start_date": (today + timedelta(days=3)).isoformat(), "end_date": (today + timedelta(days=9)).isoformat()}
    assert login("support").post(f"/accounts/{a}/holds", dates).status_code == 403
    assert not VacationHold.objects.exists()
    finance = login("finance")
    assert finance.post(f"/accounts/{a}/holds", {**dates, "reason": "trip"}).status_code == 302
    hold = VacationHold.objects.get()
    assert login("support").post(f"/accounts/{a}/holds/{hold.pk}/cancel").status_code == 403
    assert finance.post(f"/accounts/{a}/holds/{hold.pk}/cancel").status_code == 302
    hold.refresh_from_db()
    assert hold.status == "cancelled"
    finance.post(f"/accounts/{a}/holds", {"start_date": today.isoformat(), "end_date": dates["end_date"]})
    running = VacationHold.objects.get(status="active")
    assert login("support").post(f"/accounts/{a}/holds/{running.pk}/end").status_code == 403
    assert finance.post(f"/accounts/{a}/holds/{running.pk}/end").status_code == 302
    running.refresh_from_db()
    assert running.status == "cancelled"  # ended on its first day: no day held
    page = finance.get(f"/customers/{world.customer.pk}/").content.decode()
    assert f'id="holds-{a}"' in page and "trip" in page
