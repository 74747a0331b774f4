"""Shared test wiring for the whole project.

- Fixtures: ``actor``, ``make_customer``, ``catalog`` (a small product catalog), ``make_account``.
- The clock is reset after every test, so a frozen or moved time never leaks into the next one.
- PostgreSQL-only tests (``@pytest.mark.postgres``) are skipped with a reason on any other database,
  unless ``TRIPLEPLAY_REQUIRE_POSTGRES=1`` is set: then they fail, so that a CI job meant to run
  against PostgreSQL cannot go green by silently skipping them. (With the variable set and
  PostgreSQL configured but unreachable, pytest-django fails creating the test database.)
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest

POSTGRES_SKIP_REASON = "needs PostgreSQL: run with DATABASE_URL=postgres://user@host:port/name"
REQUIRE_POSTGRES_ENV = "TRIPLEPLAY_REQUIRE_POSTGRES"


def database_vendor() -> str:
    """The configured default database's vendor ('postgresql', 'sqlite', ...), without connecting."""
    from django.db import connections

    return connections["default"].vendor


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pytest_collection_modifyitems(config, items):
    if database_vendor() == "postgresql" or postgres_required():
        return  # run them (and, when required on another database, fail them in pytest_runtest_call)
    skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("postgres") and postgres_required():
        vendor = database_vendor()
        if vendor != "postgresql":
            from django.conf import settings

            pytest.fail(
                f"{REQUIRE_POSTGRES_ENV}=1 but the configured database is {vendor} "
                f"({settings.DATABASES['default']['ENGINE']}), not PostgreSQL: set DATABASE_URL=postgres://...",
                pytrace=False,
            )


@pytest.fixture(autouse=True)
def _reset_clock():
    from tripleplay import clock

    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def actor():
    from tripleplay.core.actors import Actor

    return Actor.system("test")


_names = itertools.count(1)


@pytest.fixture
def make_customer(db, actor):
    """``make_customer(balance_model="prepaid", currency="USD", credit_limit_minor=0, **fields)``."""
    from tripleplay.customers.services import create_customer

    def make(balance_model: str = "prepaid", currency: str = "USD", credit_limit_minor: int = 0, **fields):
        fields.setdefault("name", f"Customer {next(_names)}")
        return create_customer(actor, currency=currency, balance_model=balance_model,
                               credit_limit_minor=credit_limit_minor, **fields)

    return make


@dataclass
class Catalog:
    tv: object  # main product "tv-basic" (iptv)
    tv_plan: object  # tv-basic-monthly, 15.00 a month
    tv_plus_plan: object  # tv-basic-plus, 25.00 a month (a second plan of the same product)
    sports: object  # add-on "sports" (iptv)
    sports_plan: object
    movies: object  # add-on "movies" (iptv)
    movies_plan: object
    internet: object  # main product "fiber-100" (data)
    internet_plan: object


@pytest.fixture
def catalog(db, actor) -> Catalog:
    from tripleplay.catalog.services import create_plan, create_product

    tv = create_product(actor, code="tv-basic", name="TV Basic", kind="main", currency="USD", services=["iptv"])
    tv_plan = create_plan(actor, tv, code="tv-basic-monthly", name="TV Basic monthly", periodic_fee_minor=1500,
                          activation_fee_minor=1000)
    tv_plus = create_plan(actor, tv, code="tv-basic-plus", name="TV Basic plus", periodic_fee_minor=2500)
    sports = create_product(actor, code="sports", name="Sports", kind="addon", currency="USD", services=["iptv"])
    sports_plan = create_plan(actor, sports, code="sports-monthly", name="Sports monthly", periodic_fee_minor=999)
    movies = create_product(actor, code="movies", name="Movies", kind="addon", currency="USD", services=["iptv"])
    movies_plan = create_plan(actor, movies, code="movies-monthly", name="Movies monthly", periodic_fee_minor=799)
    internet = create_product(actor, code="fiber-100", name="Fiber 100", kind="main", currency="USD",
                              services=["data"])
    internet_plan = create_plan(actor, internet, code="fiber-100-monthly", name="Fiber 100 monthly",
                                periodic_fee_minor=3000,
                                allowances=[{"service_type": "data", "unit": "megabytes", "quantity": 100_000}])
    return Catalog(tv, tv_plan, tv_plus, sports, sports_plan, movies, movies_plan, internet, internet_plan)


@pytest.fixture
def make_account(db, actor, catalog):
    """``make_account(customer, main_plan=catalog.tv_plan, addon_plans=(), **identifiers)``."""
    from tripleplay.customers.services import create_account

    def make(customer, main_plan=None, addon_plans=(), **kwargs):
        return create_account(actor, customer, main_plan=main_plan or catalog.tv_plan, addon_plans=list(addon_plans),
                              **kwargs)

    return make
