"""Web test wiring: operators of each role, a simulated Ministra platform (a real process), a TV
catalog imported from it and one prepaid customer with an IPTV account (TV + sports) provisioned."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from tripleplay.simulators.base import DEFAULT_PACKAGES, DEFAULT_PPV_EVENTS
from tripleplay.simulators.testing import running_simulator

ROLES = ("admin", "finance", "support")
PASSWORD = "web-test-password"


@pytest.fixture(scope="session")
def ministra():
    with running_simulator("ministra") as sim:
        yield sim


@dataclass
class World:
    platform: object
    cat: object
    customer: object
    account: object
    subscriber: object
    users: dict


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Three operators per test: PBKDF2's deliberate slowness would dominate the web tests' time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, actor, ministra) -> World:
    from tripleplay.access.services import create_operator
    from tripleplay.customers.services import create_account, create_customer
    from tripleplay.iptv.models import Subscriber
    from tripleplay.iptv.tests.conftest import drain, make_platform, make_tv_catalog
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    ministra.reset()
    ministra.set_faults()
    ministra.set_packages(DEFAULT_PACKAGES)
    ministra.set_ppv_events(DEFAULT_PPV_EVENTS)
    platform = make_platform(actor, ministra)
    cat = make_tv_catalog(actor, platform)
    customer = create_customer(actor, name="Ada Lovelace", currency="USD", balance_model="prepaid",
                               email="ada@example.net")
    record_payment(actor, customer, Money(5000, "USD"), idempotency_key="seed-ada")
    account = create_account(actor, customer, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan], login="ada")
    drain()
    users = {role: create_operator(actor, username=f"web-{role}", password=PASSWORD, role=role) for role in ROLES}
    return World(platform, cat, customer, account, Subscriber.objects.get(account=account), users)


@pytest.fixture
def login(world):
    """``login(role)`` -> a Django test Client logged in as that role's operator."""

    def make(role: str, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(world.users[role])
        return client

    return make
