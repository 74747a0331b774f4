"""The reconciliation without FreeRADIUS (the NAS's list given by a stand-in session source): parallel
runs on PostgreSQL close and charge a lost session exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tripleplay.radius import reconcile, services, session_sources
from tripleplay.radius.models import NetworkSession, SessionStatus


def world(actor, catalog, plan, make_customer):
    """A NAS and a customer wendy with 1.00 paid in, on ``plan`` (internet_volume_plan, 0.01 per 100 KB),
    in a session of 300 KB: (nas, customer)."""
    from tripleplay.customers.services import create_account
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    services.set_internet_service(actor, catalog.internet, download_kbps=100_000, upload_kbps=20_000)
    nas = services.create_nas(actor, name="bras", address="192.0.2.1", secret="secret-123", vendor="huawei",
                              session_source="sim+http://192.0.2.1:1")
    customer = make_customer()
    record_payment(actor, customer, Money(100, "USD"), idempotency_key="seed")
    create_account(actor, customer, main_plan=plan, login="wendy")
    for status, octets in (("Start", 0), ("Interim-Update", 300_000)):  # 300 KB: 0.03
        services.record_accounting(nas, {"Acct-Status-Type": [status], "Acct-Session-Id": ["w-1"], "User-Name": ["wendy"],
                                         "Acct-Input-Octets": [str(octets)], "Acct-Session-Time": ["60"]})
    return nas, customer


def funds(customer):
    from tripleplay.ledger.models import Funds

    f = Funds.objects.get(customer=customer)
    return f.balance_minor, f.held_minor


def test_a_lost_session_is_closed_and_charged_once(actor, catalog, internet_volume_plan, make_customer, monkeypatch):
    nas, customer = world(actor, catalog, internet_volume_plan, make_customer)
    monkeypatch.setattr(session_sources, "read", lambda source, timeout: [])
    from tripleplay.sessions.models import ChargingSession
    from tripleplay.sessions.selectors import with_windows

    # 0.03 charged: posted, or held in the fast window (PostgreSQL, D280; on its window row, D296)
    s = with_windows([ChargingSession.objects.get()])[0]
    assert s.charged_minor == 3 and funds(customer)[0] - (s.charged_minor - s.posted_minor) == 97
    assert funds(customer)[1] > 0
    assert reconcile.reconcile_nas(actor, nas, grace=timedelta(0))["closed"] == 1
    assert reconcile.reconcile_nas(actor, nas, grace=timedelta(0))["closed"] == 0
    assert NetworkSession.objects.get().terminate_cause == "reconciled"
    assert funds(customer) == (97, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_reconciliations_on_postgresql_close_and_charge_once(actor, catalog, internet_volume_plan, make_customer,
                                                                       monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from tripleplay.ledger.models import LedgerEntry

    nas, customer = world(actor, catalog, internet_volume_plan, make_customer)
    monkeypatch.setattr(session_sources, "read", lambda source, timeout: [])

    def run(_):
        try:
            return reconcile.reconcile_nas(actor, nas, grace=timedelta(0))["closed"]
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(run, range(6))) == [0, 0, 0, 0, 0, 1]
    assert NetworkSession.objects.get().status == SessionStatus.STOPPED
    assert funds(customer) == (97, 0)
    assert -sum(LedgerEntry.objects.filter(customer=customer, kind="charge").values_list("amount_minor", flat=True)) == 3
