"""ppv.purchased (derived from confirmed purchases behind a watermark) and provisioning.failed (the
provisioning worker's hook), after real purchases and a real failing platform."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.ppv import services as ppv
from tripleplay.ppv.models import PpvPurchase
from tripleplay.ppv.tests.conftest import ppv_world  # noqa: F401 - the fixture
from tripleplay.webhooks.jobs import PPV_CURSOR, ppv_purchase_events
from tripleplay.webhooks.models import Cursor
from tripleplay.webhooks.tests.conftest import events_of


@pytest.fixture
def w(ppv_world):  # noqa: F811
    return ppv_world


def test_ppv_purchased_once_per_confirmed_purchase(w, endpoint):
    endpoint(["ppv.purchased"])
    w.event("fight", 1250, title="Big Fight")
    b = w.buyer(5000)
    ppv.purchase(w.platform, transaction_id="T1", subscriber=b.ref, event_id="fight")
    ppv.authorize(w.platform, transaction_id="T2", subscriber=b.ref, event_id="fight")  # still open
    ppv.authorize(w.platform, transaction_id="T3", subscriber=w.buyer(0).ref, event_id="fight")  # declined
    p1, p2, p3 = PpvPurchase.objects.order_by("id")
    assert ppv_purchase_events() == 1
    (ev,) = events_of("ppv.purchased")
    assert ev.payload == {"purchase_id": p1.pk, "platform": "ppvtv", "transaction_id": "T1",
                          "customer_id": b.customer.pk, "account_id": b.account.pk, "event_ref": "fight",
                          "title": "Big Fight", "amount_minor": 1250, "currency": "USD",
                          "confirmed_at": "2026-03-10T12:00:00Z"}
    assert ev.source_key == f"ppv:{p1.pk}"
    assert ppv_purchase_events() == 0  # read again (too recent to pass), written once
    assert Cursor.objects.get(name=PPV_CURSOR).position == 0
    clock.advance(timedelta(minutes=2))
    assert ppv_purchase_events() == 0
    # The watermark passes the settled rows and stops at the open authorization.
    assert Cursor.objects.get(name=PPV_CURSOR).position == p2.pk
    ppv.confirm(w.platform, transaction_id="T2")
    assert ppv_purchase_events() == 1
    assert [e.payload["transaction_id"] for e in events_of("ppv.purchased")] == ["T1", "T2"]
    clock.advance(timedelta(minutes=2))
    assert ppv_purchase_events() == 0
    assert Cursor.objects.get(name=PPV_CURSOR).position == p3.pk + 1


def test_provisioning_failed(db, actor, make_customer, endpoint):
    from tripleplay.customers.services import create_account
    from tripleplay.iptv.configuration import update_platform
    from tripleplay.iptv.models import ProvisioningCommand, Subscriber
    from tripleplay.iptv.tests.conftest import drain, make_platform, make_tv_catalog
    from tripleplay.simulators.testing import running_simulator

    endpoint(["provisioning.failed"])
    with running_simulator("ministra") as sim:
        cat = make_tv_catalog(actor, make_platform(actor, sim))
        update_platform(actor, cat.platform, secret="wrong-secret")
        account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
        drain()
    sub = Subscriber.objects.get(account=account)
    command = ProvisioningCommand.objects.get(subscriber=sub)
    (ev,) = events_of("provisioning.failed")
    assert ev.payload == {"platform": cat.platform.code, "subscriber": sub.external_id, "account_id": account.pk,
                          "customer_id": account.customer_id, "command_id": command.pk, "event": command.event,
                          "attempts": 1, "error": command.last_error[:500]}
