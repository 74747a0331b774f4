"""The subscriber pauses their own account in the portal (D151): within the rules, only their own."""

from __future__ import annotations

from datetime import timedelta

from tripleplay import clock
from tripleplay.customers.models import VacationHold


def test_a_subscriber_pauses_and_cancels_within_the_rules(portal):
    ada, bob = portal.ada, portal.bob
    today = clock.today()
    start, end = today + timedelta(days=3), today + timedelta(days=10)
    url = f"/my/accounts/{ada.account.pk}/holds"
    response = ada.client.post(url, {"start_date": start.isoformat(), "end_date": end.isoformat()}, follow=True)
    page = response.content.decode()
    assert f"Your service pauses on {start.isoformat()} and resumes on {end.isoformat()}." in page
    assert f"Paused from {start.isoformat()}, service resumes on {end.isoformat()}" in page
    hold = VacationHold.objects.get(account=ada.account)
    assert (hold.status, hold.channel, hold.actor_kind, hold.start_date, hold.end_date) == (
        "scheduled", "portal", "subscriber", start, end)

    # today: refused (a day of notice); overlapping: refused; nothing written
    page = ada.client.post(url, {"start_date": today.isoformat(), "end_date": end.isoformat()},
                           follow=True).content.decode()
    assert "A pause must be asked for at least a day ahead." in page
    page = ada.client.post(url, {"start_date": (end - timedelta(days=1)).isoformat(),
                                 "end_date": (end + timedelta(days=5)).isoformat()}, follow=True).content.decode()
    assert "This account is already paused on some of these days." in page
    assert VacationHold.objects.count() == 1

    # another customer's account or hold: 404
    assert bob.client.post(url, {"start_date": start.isoformat(), "end_date": end.isoformat()}).status_code == 404
    assert bob.client.post(f"{url}/{hold.pk}/cancel").status_code == 404
    assert ada.client.post(f"/my/accounts/{bob.account.pk}/holds/{hold.pk}/cancel").status_code == 404

    ada.client.post(f"{url}/{hold.pk}/cancel")
    hold.refresh_from_db()
    assert (hold.status, hold.ended_by) == ("cancelled", f"subscriber:customer #{ada.customer.pk}")
