"""A vacation hold on an internet account (D153): its sessions get a Disconnect-Request when the hold
starts (the outbox, in the hold's transaction), and none when it ends."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tripleplay import clock
from tripleplay.customers.vacation import run_holds, schedule_hold
from tripleplay.radius import services
from tripleplay.radius.models import NasCommand, NetworkSession


def test_a_hold_starting_disconnects_the_accounts_sessions(actor, make_customer, make_account, catalog):
    clock.freeze(datetime(2026, 5, 1, 10, tzinfo=UTC))
    account = make_account(make_customer("postpaid", credit_limit_minor=10_000), main_plan=catalog.internet_plan,
                           login="surfer")
    nas = services.create_nas(actor, name="bras", address="192.0.2.1", secret="secret-123", vendor="mikrotik")
    services.record_accounting(nas, {"Acct-Status-Type": ["Start"], "Acct-Session-Id": ["s1"], "User-Name": ["surfer"]})
    session = NetworkSession.objects.get()
    assert session.account_id == account.pk
    schedule_hold(actor, account, start_date=date(2026, 5, 3), end_date=date(2026, 5, 10))
    assert not NasCommand.objects.exists()  # scheduled: nothing yet
    run_holds(actor, date(2026, 5, 3))
    assert list(NasCommand.objects.values_list("session_id", "status")) == [(session.pk, "pending")]
    assert "on hold" in NasCommand.objects.get().reason
