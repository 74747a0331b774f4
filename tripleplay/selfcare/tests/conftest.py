"""Portal test wiring: two prepaid customers (Ada, Bob), each with an IPTV account and an active
portal login; Sports and Movies are self-service add-ons; Ada has Sports and an issued invoice."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from tripleplay.payments.tests.fixtures import payments_on, stripe_sim  # noqa: F401  (the simulated Stripe)

PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Household:
    customer: object
    account: object
    login: object
    client: Client


@dataclass
class Portal:
    catalog: object
    ada: Household
    bob: Household
    invoice: object


def portal_client(identity: str, password: str = PASSWORD, **kwargs) -> Client:
    client = Client(**kwargs)
    response = client.post("/my/login/", {"identity": identity, "password": password})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def portal(db, actor, catalog, make_customer, make_account) -> Portal:
    from tripleplay.catalog.services import update_product
    from tripleplay.invoicing.services import issue_out_of_turn
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money
    from tripleplay.subscriber_access.tests.helpers import active_login

    update_product(actor, catalog.sports, self_service=True)
    update_product(actor, catalog.movies, self_service=True)
    people = {}
    for name in ("ada", "bob"):
        c = make_customer(name=name.title(), email=f"{name}@example.net")
        record_payment(actor, c, Money(5000, "USD"), idempotency_key=f"seed-{name}")
        account = make_account(c, login=f"{name}-tv", addon_plans=[catalog.sports_plan] if name == "ada" else [])
        login = active_login(c, PASSWORD)
        people[name] = Household(c, account, login, portal_client(f"{name}@example.net"))
    invoice = issue_out_of_turn(actor, people["ada"].customer)
    return Portal(catalog, people["ada"], people["bob"], invoice)


@dataclass
class PpvShop:
    platform: object  # generic_xml with ppv_grants: the portal sells its events
    tv_only: object  # ministra: cannot be told about a purchase, its events are not sold in the portal
    event: object  # "fight-night" on ``platform``, $19.99
    tv_only_event: object  # on ``tv_only``


def with_ppv(portal: Portal, *, base_url: str = "http://127.0.0.1:9", username: str = "tripleplay",
             secret: str = "secret") -> PpvShop:
    """PPV in the portal: TV Basic grants package "basic" on a generic XML platform that can grant events;
    a "ppv" add-on (the PPV entitlement) grants a package on a Ministra platform that cannot; Ada and Bob
    get the add-on, so both are subscribers on both platforms. Idempotent within a test."""
    from tripleplay import clock
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.core.actors import Actor
    from tripleplay.customers.services import add_addon
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage, Platform, PpvEvent
    from tripleplay.iptv.packages import link_package

    existing = Platform.objects.filter(code="xmltv").first()
    if existing is not None:
        return PpvShop(existing, Platform.objects.get(code="stalker"), PpvEvent.objects.get(external_id="fight-night"),
                       PpvEvent.objects.get(external_id="stalker-cup"))
    actor = Actor.system("ppv-shop")
    now = clock.now()
    xml = create_platform(actor, code="xmltv", name="XML TV", kind="generic_xml", base_url=base_url,
                          username=username, secret=secret, timeout_seconds="2", options={"ppv_grants": True})
    stalker = create_platform(actor, code="stalker", name="Stalker TV", kind="ministra", base_url="http://127.0.0.1:9",
                              username="u", secret="s", timeout_seconds="1")

    def package(platform, ext):
        return ChannelPackage.objects.create(platform=platform, external_id=ext, name=ext.title(), first_seen_at=now,
                                             updated_at=now)

    def event(platform, ext, title, price):
        return PpvEvent.objects.create(platform=platform, external_id=ext, title=title, price_minor=price,
                                       currency="USD", content_owner="Ringside Media", first_seen_at=now, updated_at=now)

    link_package(actor, package(xml, "basic"), portal.catalog.tv)
    ppv = create_product(actor, code="ppv", name="Pay-per-view", kind="addon", currency="USD", services=["ppv", "iptv"])
    ppv_plan = create_plan(actor, ppv, code="ppv-monthly", name="Pay-per-view", periodic_fee_minor=0)
    link_package(actor, package(stalker, "ppv-lounge"), ppv)
    for household in (portal.ada, portal.bob):
        add_addon(actor, household.account, ppv_plan)
    return PpvShop(xml, stalker, event(xml, "fight-night", "Fight Night Live", 1999),
                   event(stalker, "stalker-cup", "Stalker Cup Final", 999))
