"""authorize's one-SELECT reading of a login's access (radius.selectors.access_of, D210) answers what the
ORM reading answers (access_of_orm, the five queries it replaced) in every case the decision tells
apart, and the NAS lookup finds only an enabled NAS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tripleplay import clock
from tripleplay.customers.models import Account, AccountProduct, Customer, VacationHold
from tripleplay.radius import decision, selectors, services
from tripleplay.radius.models import NasClient

T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(db, actor):
    from tripleplay.catalog.services import create_plan, create_product

    clock.freeze(T0)
    internet = create_product(actor, code="fiber", name="Fiber", kind="main", currency="USD", services=["data"])
    plan = create_plan(actor, internet, code="fiber-m", name="Fiber monthly", periodic_fee_minor=0)
    services.set_internet_service(actor, internet, download_kbps=50_000, upload_kbps=10_000, address_pool="pool-a",
                                  session_timeout_seconds=3600, idle_timeout_seconds=300)
    bare = create_product(actor, code="bare", name="No internet", kind="main", currency="USD", services=["data"])
    bare_plan = create_plan(actor, bare, code="bare-m", name="Bare monthly", periodic_fee_minor=0)
    return {"plan": plan, "bare_plan": bare_plan}


def _login(actor, world, n: int, *, funds: int = 500, plan=None):
    from tripleplay.customers.services import create_account, create_customer
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    customer = create_customer(actor, name=f"c{n}", currency="USD", balance_model="prepaid")
    if funds:
        record_payment(actor, customer, Money(funds, "USD"), idempotency_key=f"pay-{n}")
    account = create_account(actor, customer, main_plan=plan or world["plan"], login=f"login{n}")
    services.set_internet_password(actor, account, f"password-{n}")
    return account


def _both(username: str):
    one, orm = selectors.access_of(username), selectors.access_of_orm(username)
    assert one == orm
    nas, combined = selectors.authorize_lookup("192.0.2.77", username)  # authorize's one round trip (D241)
    assert (nas.name, combined) == ("lookup-nas", one)
    return decision.refusal(one.found if one else None), one


def test_every_case_reads_the_same_as_the_orm(world, actor):
    services.create_nas(actor, name="lookup-nas", address="192.0.2.77", secret="secret-123", vendor="mikrotik")
    ok = _login(actor, world, 1)
    code, access = _both("login1")
    assert code is None
    assert (access.account_id, access.customer_id, access.password) == (ok.pk, ok.customer_id, "password-1")
    assert access.service.download_kbps == 50_000 and access.service.address_pool == "pool-a"
    assert access.found.available_minor == 500

    assert _both("nobody") == ("unknown_user", None)
    assert _both("")[0] == "unknown_user"
    _login(actor, world, 2, funds=0)
    assert _both("login2")[0] == "no_funds"
    _login(actor, world, 3, plan=world["bare_plan"])
    assert _both("login3")[0] == "no_internet_service"

    a4 = _login(actor, world, 4)
    Account.objects.filter(pk=a4.pk).update(status="suspended")
    assert _both("login4")[0] == "suspended"
    a5 = _login(actor, world, 5)
    Customer.objects.filter(pk=a5.customer_id).update(status="blocked")
    assert _both("login5")[0] == "blocked"
    a6 = _login(actor, world, 6)
    today = clock.today()
    VacationHold.objects.create(customer_id=a6.customer_id, account=a6, start_date=today,
                                end_date=today + timedelta(days=7), status="active", created_at=clock.now())
    assert _both("login6")[0] == "on_hold"
    a7 = _login(actor, world, 7)
    VacationHold.objects.create(customer_id=a7.customer_id, account=a7, start_date=today + timedelta(days=3),
                                end_date=today + timedelta(days=7), status="scheduled", created_at=clock.now())
    assert _both("login7")[0] is None  # a hold not started yet changes nothing
    a8 = _login(actor, world, 8)
    AccountProduct.objects.filter(account=a8).update(end_date=today)  # ended: no current main product
    assert _both("login8")[0] == "no_internet_service"
    a9 = _login(actor, world, 9)
    AccountProduct.objects.filter(account=a9).update(start_date=today + timedelta(days=1))  # not started yet
    assert _both("login9")[0] == "no_internet_service"


def test_the_nas_lookup_finds_only_an_enabled_nas(world, actor):
    nas = services.create_nas(actor, name="bras", address="192.0.2.7", secret="secret-123", vendor="huawei")
    found = selectors.nas_by_address("192.0.2.7")
    assert (found.pk, found.name, found.vendor, found.address) == (nas.pk, "bras", "huawei", "192.0.2.7")
    assert selectors.nas_secret(found) == "secret-123"
    assert selectors.nas_by_address("192.0.2.8") is None
    assert selectors.authorize_lookup("192.0.2.8", "anyone") == (None, None)
    assert selectors.authorize_lookup("192.0.2.7", "nobody")[0].pk == nas.pk
    NasClient.objects.filter(pk=nas.pk).update(enabled=False)
    assert selectors.nas_by_address("192.0.2.7") is None
    assert selectors.authorize_lookup("192.0.2.7", "nobody") == (None, None)


def test_post_auth_records_the_login_by_its_name(world, actor):
    from tripleplay.radius.models import InternetLogin

    nas = services.create_nas(actor, name="bras", address="192.0.2.9", secret="secret-123", vendor="mikrotik")
    account = _login(actor, world, 10)
    assert services.record_login_of(nas, "login10") == 1
    assert services.record_login_of(nas, "nobody") == 0
    login = InternetLogin.objects.get(account=account)
    assert (login.last_nas_id, login.last_auth_at) == (nas.pk, clock.now())
