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
