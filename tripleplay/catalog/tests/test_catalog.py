from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.catalog import selectors
from tripleplay.catalog.models import PlanAllowance, Product, ProductService, SubscriptionPlan
from tripleplay.catalog.services import (
    create_plan,
    create_product,
    delete_product,
    rename_plan,
    retire_plan,
    retire_product,
    update_product,
)
from tripleplay.core.errors import Conflict, InvalidInput, NotFound
from tripleplay.customers.services import create_account, remove_addon

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(T0)


def counts() -> dict:
    return {
        "products": Product.objects.count(),
        "services": ProductService.objects.count(),
        "plans": SubscriptionPlan.objects.count(),
        "allowances": PlanAllowance.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def new_product(actor, **overrides):
    kwargs = dict(code="voice-home", name="Voice Home", kind="main", currency="USD", services=["voice", "messaging"])
    return create_product(actor, **(kwargs | overrides))


def test_create_product(actor):
    p = new_product(actor, services=["voice", "messaging", "voice"], description="Landline")
    p.refresh_from_db()
    assert (p.code, p.name, p.kind, p.currency, p.status, p.created_at, p.description) == (
        "voice-home", "Voice Home", "main", "USD", "active", T0, "Landline")
    assert p.service_types == ["messaging", "voice"]
    event = AuditEvent.objects.get(action="product.created", object_id=str(p.pk))
    assert event.data == {"code": "voice-home", "kind": "main", "services": ["messaging", "voice"]}


@pytest.mark.parametrize(
    "overrides, error",
    [
        (dict(code="Voice"), InvalidInput),  # uppercase
        (dict(code="voice home"), InvalidInput),
        (dict(code="-voice"), InvalidInput),
        (dict(code=""), InvalidInput),
        (dict(code="x" * 65), InvalidInput),
        (dict(name="  "), InvalidInput),
        (dict(kind="bundle"), InvalidInput),
        (dict(currency="ABC"), InvalidInput),
        (dict(services=[]), InvalidInput),
        (dict(services="voice"), InvalidInput),
        (dict(services=["voice", "fax"]), InvalidInput),
        (dict(description="x" * 2001), InvalidInput),
        (dict(code="tv-basic"), Conflict),  # exists
    ],
)
def test_create_product_refusals_write_nothing(actor, catalog, overrides, error):
    before = counts()
    with pytest.raises(error):
        new_product(actor, **overrides)
    assert counts() == before


def test_create_plan_with_allowances(actor):
    product = new_product(actor)
    plan = create_plan(
        actor, product, code="voice-home-m", name="Voice monthly", periodic_fee_minor=1999, activation_fee_minor=500,
        period="weekly", charge_mode="in_arrears", prorate_first_period=False, prorate_last_period=True,
        minimum_term_periods=12, early_cancellation_fee_minor=5000,
        allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 300},
                    {"service_type": "messaging", "unit": "messages", "quantity": 100}],
    )
    plan.refresh_from_db()
    assert (plan.periodic_fee_minor, plan.activation_fee_minor, plan.period, plan.charge_mode) == (
        1999, 500, "weekly", "in_arrears")
    assert (plan.prorate_first_period, plan.prorate_last_period, plan.minimum_term_periods,
            plan.early_cancellation_fee_minor, plan.status, plan.currency) == (False, True, 12, 5000, "active", "USD")
    assert sorted(plan.allowances.values_list("service_type", "unit", "quantity")) == [
        ("messaging", "messages", 100), ("voice", "minutes", 300)]
    assert AuditEvent.objects.get(action="plan.created", object_id=str(plan.pk)).data["periodic_fee_minor"] == 1999


@pytest.mark.parametrize(
    "overrides, error",
    [
        (dict(code="Bad Code"), InvalidInput),
        (dict(name=""), InvalidInput),
        (dict(periodic_fee_minor=-1), InvalidInput),
        (dict(periodic_fee_minor=19.99), InvalidInput),
        (dict(periodic_fee_minor="1999"), InvalidInput),
        (dict(activation_fee_minor=-1), InvalidInput),
        (dict(early_cancellation_fee_minor=-1), InvalidInput),
        (dict(minimum_term_periods=-1), InvalidInput),
        (dict(period="yearly"), InvalidInput),
        (dict(charge_mode="whenever"), InvalidInput),
        (dict(prorate_first_period="yes"), InvalidInput),
        (dict(prorate_last_period=1), InvalidInput),
        (dict(allowances=["300 minutes"]), InvalidInput),
        (dict(allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 0}]), InvalidInput),
        (dict(allowances=[{"service_type": "voice", "unit": "hours", "quantity": 1}]), InvalidInput),
        (dict(allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 1},
                          {"service_type": "voice", "unit": "minutes", "quantity": 2}]), InvalidInput),
        (dict(code="tv-basic-monthly"), Conflict),  # exists (plan codes are global)
    ],
)
def test_create_plan_refusals_write_nothing(actor, catalog, overrides, error):
    product = new_product(actor)
    before = counts()
    with pytest.raises(error):
        create_plan(actor, product, **(dict(code="voice-m", name="Voice", periodic_fee_minor=1000) | overrides))
    assert counts() == before


def test_retire_product_retires_its_plans_and_stops_sales(actor, catalog, make_customer):
    account = create_account(actor, make_customer(), main_plan=catalog.tv_plan)
    clock.advance(timedelta(days=1))
    retired = retire_product(actor, catalog.tv)
    assert (retired.status, retired.retired_at) == ("retired", T0 + timedelta(days=1))
    plans = dict(SubscriptionPlan.objects.filter(product=catalog.tv).values_list("code", "status"))
    assert plans == {"tv-basic-monthly": "retired", "tv-basic-plus": "retired"}
    assert set(SubscriptionPlan.objects.filter(product=catalog.tv).values_list("retired_at", flat=True)) == {
        T0 + timedelta(days=1)}
    # other products untouched
    assert SubscriptionPlan.objects.get(code="sports-monthly").status == "active"
    # current subscribers keep it
    assert account.products.get().end_date is None
    # no new sales, no new plans
    plan = SubscriptionPlan.objects.get(code="tv-basic-plus")
    with pytest.raises(Conflict) as err:
        create_account(actor, make_customer(), main_plan=plan)
    assert err.value.code == "plan_retired"
    with pytest.raises(Conflict) as err:
        create_plan(actor, retired, code="tv-new", name="new", periodic_fee_minor=1)
    assert err.value.code == "product_retired"
    # retiring again is a no-op
    before = counts()
    clock.advance(timedelta(days=1))
    assert retire_product(actor, retired).retired_at == T0 + timedelta(days=1)
    assert counts() == before


def test_retire_plan_only_stops_that_plan(actor, catalog, make_customer):
    retire_plan(actor, catalog.tv_plan)
    catalog.tv_plan.refresh_from_db()
    assert (catalog.tv_plan.status, catalog.tv_plan.retired_at) == ("retired", T0)
    with pytest.raises(Conflict):
        create_account(actor, make_customer(), main_plan=catalog.tv_plan)
    account = create_account(actor, make_customer(), main_plan=catalog.tv_plus_plan)
    assert account.products.get().plan_id == catalog.tv_plus_plan.pk
    assert retire_plan(actor, catalog.tv_plan).retired_at == T0
    assert AuditEvent.objects.filter(action="plan.retired").count() == 1


def test_delete_product_refused_once_sold(actor, catalog, make_customer):
    account = create_account(actor, make_customer(), main_plan=catalog.tv_plan, addon_plans=[catalog.sports_plan])
    addon = account.products.get(role="addon")
    remove_addon(actor, account, addon.pk)  # sold long ago counts too
    before = counts()
    for product in (catalog.tv, catalog.sports):
        with pytest.raises(Conflict) as err:
            delete_product(actor, product)
        assert err.value.code == "product_in_use"
    assert counts() == before


def test_delete_product_never_sold(actor, catalog):
    product = new_product(actor)
    plan = create_plan(actor, product, code="voice-m", name="Voice", periodic_fee_minor=1000,
                       allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 60}])
    before = counts()
    delete_product(actor, product)
    after = counts()
    assert after == before | {"products": before["products"] - 1, "services": before["services"] - 2,
                              "plans": before["plans"] - 1, "allowances": before["allowances"] - 1,
                              "audit": before["audit"] + 1}
    assert not Product.objects.filter(code="voice-home").exists()
    assert not SubscriptionPlan.objects.filter(pk=plan.pk).exists()
    assert AuditEvent.objects.get(action="product.deleted").data == {"code": "voice-home"}
    assert Product.objects.filter(code="tv-basic").exists()


def test_update_product_and_rename_plan(actor, catalog):
    update_product(actor, catalog.tv, name="TV Basic 2", services=["iptv", "ppv"])
    catalog.tv.refresh_from_db()
    assert catalog.tv.name == "TV Basic 2" and catalog.tv.service_types == ["iptv", "ppv"]
    update_product(actor, catalog.tv, services=["ppv"])
    assert catalog.tv.service_types == ["ppv"]
    with pytest.raises(InvalidInput):
        update_product(actor, catalog.tv, services=[])
    with pytest.raises(InvalidInput):
        update_product(actor, catalog.tv, name=" ")
    catalog.tv.refresh_from_db()
    assert (catalog.tv.name, catalog.tv.service_types) == ("TV Basic 2", ["ppv"])
    rename_plan(actor, catalog.tv_plan, name="Basic TV")
    catalog.tv_plan.refresh_from_db()
    assert (catalog.tv_plan.name, catalog.tv_plan.periodic_fee_minor) == ("Basic TV", 1500)


@pytest.mark.parametrize(
    "field", ["activation_fee_minor", "periodic_fee_minor", "early_cancellation_fee_minor"],
)
def test_plan_check_constraints(catalog, field):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            SubscriptionPlan.objects.filter(pk=catalog.tv_plan.pk).update(**{field: -1})
    catalog.tv_plan.refresh_from_db()
    assert getattr(catalog.tv_plan, field) >= 0


def test_plan_and_product_codes_are_unique_in_the_database(catalog):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            SubscriptionPlan.objects.create(product=catalog.tv, code="tv-basic-monthly", name="dup", created_at=T0)
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Product.objects.create(code="tv-basic", name="dup", kind="main", currency="USD", created_at=T0)


def test_selectors(actor, catalog):
    assert [p.code for p in selectors.products(kind="addon")] == ["movies", "sports"]
    assert [p.code for p in selectors.products(service_type="data")] == ["fiber-100"]
    assert [p.code for p in selectors.products(search="TV")] == ["tv-basic"]
    retire_product(actor, catalog.movies)
    assert [p.code for p in selectors.products(status="retired")] == ["movies"]
    assert [p.code for p in selectors.plans(product_id=catalog.tv.pk)] == ["tv-basic-monthly", "tv-basic-plus"]
    assert [p.code for p in selectors.plans(status="retired")] == ["movies-monthly"]
    assert selectors.plan(catalog.internet_plan.pk).allowances.get().quantity == 100_000
    assert selectors.product(catalog.tv.pk).code == "tv-basic"
    for bad in (10**9, "x"):
        with pytest.raises(NotFound):
            selectors.product(bad)
        with pytest.raises(NotFound):
            selectors.plan(bad)


def test_updating_a_stale_product_does_not_unretire_it(actor, catalog):
    stale = Product.objects.get(pk=catalog.sports.pk)
    retire_product(actor, catalog.sports)
    update_product(actor, stale, name="Sports+")
    catalog.sports.refresh_from_db()
    assert (catalog.sports.name, catalog.sports.status, catalog.sports.retired_at) == ("Sports+", "retired", T0)
