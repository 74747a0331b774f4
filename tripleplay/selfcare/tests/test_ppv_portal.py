"""Buying a pay-per-view event in the portal (docs/selfcare.md, "Pay-per-view"): the event list offers
only the events of platforms that can be told about the purchase, the confirmation shows the price and
the available funds, buying charges exactly the price once (a repeated submit replays) and writes the
grant for the platform in the same transaction; refusals charge nothing and grant nothing; the grant
reaches a simulated generic XML platform (a real process), whose state then shows the event."""

from __future__ import annotations

import re

import pytest

from tripleplay.iptv.models import GrantStatus, PpvGrant, Subscriber
from tripleplay.ledger.models import EntryKind, Funds, LedgerEntry
from tripleplay.ppv.models import PpvPurchase, PurchaseStatus
from tripleplay.selfcare.tests.conftest import with_ppv


def _key(page: str) -> str:
    return re.search(r'name="purchase_key" value="([0-9a-f]+)"', page).group(1)


def _buy(client, account, event, key):
    return client.post(f"/my/accounts/{account.pk}/ppv/{event.pk}/buy", {"purchase_key": key})


def test_the_list_offers_only_events_a_platform_can_be_told_about(portal):
    shop = with_ppv(portal)
    page = portal.ada.client.get("/my/ppv/").content.decode()
    assert "Fight Night Live" in page and "$19.99" in page
    assert "Stalker Cup Final" not in page
    assert "Events on Stalker TV are sold on your TV only" in page
    assert portal.ada.client.get(f"/my/accounts/{portal.ada.account.pk}/ppv/{shop.tv_only_event.pk}/").status_code == 404
    assert _buy(portal.ada.client, portal.ada.account, shop.tv_only_event, "a" * 32).status_code == 404
    assert not PpvPurchase.objects.exists()


def test_buying_charges_the_exact_price_once_and_queues_the_grant(portal):
    shop = with_ppv(portal)
    ada = portal.ada
    page = ada.client.get(f"/my/accounts/{ada.account.pk}/ppv/{shop.event.pk}/").content.decode()
    assert 'id="price">$19.99<' in page and 'id="available">$50.00<' in page
    key = _key(page)
    response = _buy(ada.client, ada.account, shop.event, key)
    assert response.status_code == 302 and response["Location"] == "/my/usage/"
    assert _buy(ada.client, ada.account, shop.event, key).status_code == 302  # the same form sent twice
    f = Funds.objects.get(customer=ada.customer)
    assert (f.balance_minor, f.held_minor) == (5000 - 1999, 0)
    (p,) = PpvPurchase.objects.all()
    assert (p.transaction_id, p.status, p.charged_minor, p.account_id) == (f"portal:{key}", PurchaseStatus.CONFIRMED,
                                                                           1999, ada.account.pk)
    charges = LedgerEntry.objects.filter(customer=ada.customer, kind=EntryKind.CHARGE, source="ppv")
    assert [c.amount_minor for c in charges] == [-1999]  # a charge lowers the balance
    (grant,) = PpvGrant.objects.all()
    sub = Subscriber.objects.get(account=ada.account, platform=shop.platform)
    assert (grant.subscriber_id, grant.event_id, grant.status, grant.purchase_ref) == (
        sub.pk, shop.event.pk, GrantStatus.PENDING, f"portal:{key}")
    usage = ada.client.get("/my/usage/").content.decode()
    assert "Fight Night Live" in usage and "$19.99" in usage


def test_short_funds_are_refused_and_nothing_is_charged_or_granted(portal, actor):
    from tripleplay.ledger.services import post_charge
    from tripleplay.money import Money

    shop = with_ppv(portal)
    ada = portal.ada
    post_charge(actor, ada.customer, Money(4000, "USD"), description="fees", idempotency_key="drain-ada")
    page = ada.client.get(f"/my/accounts/{ada.account.pk}/ppv/{shop.event.pk}/").content.decode()
    assert 'id="not-covered"' in page and 'id="confirm"' not in page
    response = _buy(ada.client, ada.account, shop.event, "b" * 32)  # sent anyway
    assert response.status_code == 302
    assert Funds.objects.get(customer=ada.customer).balance_minor == 1000
    (p,) = PpvPurchase.objects.all()
    assert (p.status, p.decline_code) == (PurchaseStatus.DECLINED, "insufficient_funds")
    assert not PpvGrant.objects.exists()
    assert "do not cover" in ada.client.get("/my/ppv/").content.decode()


def test_a_bad_purchase_key_writes_nothing(portal):
    shop = with_ppv(portal)
    for key in ("", "short", "x" * 65, "ab cd efgh", "é" * 10):
        _buy(portal.ada.client, portal.ada.account, shop.event, key)
    assert not PpvPurchase.objects.exists() and not PpvGrant.objects.exists()


@pytest.fixture
def xml_sim():
    from tripleplay.simulators.testing import running_simulator

    with running_simulator("generic_xml") as sim:
        yield sim


def test_the_grant_reaches_the_platform(portal, xml_sim):
    from tripleplay.iptv.grants import deliver_grants
    from tripleplay.iptv.tests.conftest import drain

    shop = with_ppv(portal, base_url=xml_sim.url, username=xml_sim.username, secret=xml_sim.password)
    ada = portal.ada
    key = _key(ada.client.get(f"/my/accounts/{ada.account.pk}/ppv/{shop.event.pk}/").content.decode())
    _buy(ada.client, ada.account, shop.event, key)
    drain()  # the subscriber is created on the platform
    assert deliver_grants() == 1
    sub = Subscriber.objects.get(account=ada.account, platform=shop.platform)
    state = xml_sim.subscribers()[sub.external_id]
    assert state["ppv_events"] == ["fight-night"]
    assert state["ppv_grants"] == [{"event_id": "fight-night", "purchase_id": f"portal:{key}"}]
    assert PpvGrant.objects.get().status == GrantStatus.DONE
    assert deliver_grants() == 0


def test_a_grant_before_the_subscriber_exists_waits_and_an_unknown_event_fails(portal, xml_sim):
    from tripleplay import clock
    from tripleplay.iptv.grants import deliver_grants
    from tripleplay.iptv.models import PpvEvent
    from tripleplay.iptv.tests.conftest import drain

    shop = with_ppv(portal, base_url=xml_sim.url, username=xml_sim.username, secret=xml_sim.password)
    ada = portal.ada
    _buy(ada.client, ada.account, shop.event, "c" * 32)
    assert deliver_grants() == 0  # the platform has not acknowledged the subscriber yet: the grant waits
    assert (PpvGrant.objects.get().status, PpvGrant.objects.get().attempts) == (GrantStatus.PENDING, 0)
    drain()
    assert deliver_grants() == 1
    assert PpvGrant.objects.get().status == GrantStatus.DONE
    # an event the platform does not offer: stopped for an operator (the dead letter), not retried
    now = clock.now()
    ghost = PpvEvent.objects.create(platform=shop.platform, external_id="ghost", title="Ghost", price_minor=100,
                                    currency="USD", first_seen_at=now, updated_at=now)
    _buy(ada.client, ada.account, ghost, "d" * 32)
    deliver_grants()
    failed = PpvGrant.objects.get(event=ghost)
    assert failed.status == GrantStatus.FAILED and "UNKNOWN_PPV_EVENT" in failed.last_error


def test_a_grant_to_a_platform_of_protocol_1_1_fails_at_once_and_goes_through_after_its_upgrade(portal):
    """The adapter reads the platform's pong/@protocolVersion and never sends grantPpvEvent (1.2) to a
    1.1 platform (docs/platforms/generic_xml.md section 6, D170): the grant is FAILED for an operator,
    with the reason; after the platform's upgrade the operator's retry delivers it."""
    from lxml import etree

    from tripleplay.core.actors import Actor
    from tripleplay.iptv.grants import deliver_grants, retry_grant
    from tripleplay.iptv.tests.conftest import drain
    from tripleplay.simulators.testing import running_simulator

    with running_simulator("generic_xml", extra_args=("--protocol-version", "1.1")) as sim:
        shop = with_ppv(portal, base_url=sim.url, username=sim.username, secret=sim.password)
        ada = portal.ada
        _buy(ada.client, ada.account, shop.event, "e" * 32)
        drain()
        assert deliver_grants() == 1
        grant = PpvGrant.objects.get()
        assert (grant.status, grant.attempts) == (GrantStatus.FAILED, 1)
        assert grant.last_error == ("PermanentError: grantPpvEvent is not supported by protocol 1.1 (the platform's "
                                    "pong/@protocolVersion); it needs 1.2")
        sub = Subscriber.objects.get(account=ada.account, platform=shop.platform)
        assert "ppv_events" not in sim.subscribers()[sub.external_id]
        sent = [etree.QName(etree.fromstring(e["request"].encode())[0]).localname for e in grant.exchanges]
        assert sent == ["ping"]  # the platform's revision was read; no grant was sent

        sim.set_protocol_version("1.2")
        retry_grant(Actor.system("test"), grant)
        assert deliver_grants() == 1  # the cached 1.1 is asked again before anything is refused
        assert PpvGrant.objects.get().status == GrantStatus.DONE
        assert sim.subscribers()[sub.external_id]["ppv_events"] == ["fight-night"]
