"""Catalog writes: products, their services and subscription plans. Products and plans in use are
retired, never deleted."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import (
    Alignment,
    AllowanceUnit,
    CatalogStatus,
    ChargeMode,
    Period,
    PlanAllowance,
    Product,
    ProductKind,
    ProductService,
    ServiceType,
    SubscriptionPlan,
)
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _code(value, field: str = "code") -> str:
    value = v.text(value, field, required=True, max_length=64)
    if not _CODE.match(value):
        raise InvalidInput(f"{field} must be lowercase letters, digits, '-' or '_'", details={"field": field})
    return value


def _services(values) -> list[str]:
    if not isinstance(values, (list, tuple)) or not values:
        raise InvalidInput("services must list at least one service type", details={"field": "services"})
    out = sorted({v.choice(s, "services", ServiceType) for s in values})
    return out


@transaction.atomic
def create_product(actor: Actor, *, code: str, name: str, kind: str, currency: str, services: list[str],
                   description: str = "") -> Product:
    code = _code(code)
    fields = dict(
        name=v.text(name, "name", required=True),
        kind=v.choice(kind, "kind", ProductKind),
        currency=v.currency(currency),
        description=v.text(description, "description", max_length=2000),
    )
    services = _services(services)
    if Product.objects.filter(code=code).exists():
        raise Conflict(f"a product with code {code!r} exists", code="duplicate", details={"field": "code"})
    product = Product.objects.create(code=code, created_at=clock.now(), **fields)
    ProductService.objects.bulk_create([ProductService(product=product, service_type=s) for s in services])
    record(actor, "product.created", product, code=code, kind=fields["kind"], services=services)
    return product


@transaction.atomic
def update_product(actor: Actor, product: Product, *, name: str | None = None, description: str | None = None,
                   services: list[str] | None = None, self_service: bool | None = None) -> Product:
    changes = {}
    if self_service is not None:
        if product.kind != ProductKind.ADDON and _flag(self_service, "self_service"):
            raise InvalidInput("only add-on products can be self-service", code="self_service_addons_only",
                               details={"field": "self_service"})
        product.self_service = changes["self_service"] = _flag(self_service, "self_service")
    if name is not None:
        product.name = changes["name"] = v.text(name, "name", required=True)
    if description is not None:
        product.description = changes["description"] = v.text(description, "description", max_length=2000)
    if changes:  # only what changed: a stale instance must not un-retire a product
        product.save(update_fields=list(changes))
    if services is not None:
        services = _services(services)
        ProductService.objects.filter(product=product).exclude(service_type__in=services).delete()
        for s in services:
            ProductService.objects.get_or_create(product=product, service_type=s)
        changes["services"] = services
    record(actor, "product.updated", product, **changes)
    return product


@transaction.atomic
def retire_product(actor: Actor, product: Product) -> Product:
    """No new sales; current subscribers keep the product until it is changed."""
    if product.status != CatalogStatus.RETIRED:
        product.status = CatalogStatus.RETIRED
        product.retired_at = clock.now()
        product.save(update_fields=["status", "retired_at"])
        SubscriptionPlan.objects.filter(product=product, status=CatalogStatus.ACTIVE).update(
            status=CatalogStatus.RETIRED, retired_at=product.retired_at
        )
        record(actor, "product.retired", product)
    return product


def delete_product(actor: Actor, product: Product) -> None:
    """Delete a product that was never sold. One that was (even long ago) can only be retired."""
    if product.assignments.exists():
        raise Conflict(f"product {product.code!r} is or was in use: retire it instead", code="product_in_use")
    try:
        with transaction.atomic():
            record(actor, "product.deleted", product, code=product.code)
            PlanAllowance.objects.filter(plan__product=product).delete()
            SubscriptionPlan.objects.filter(product=product).delete()
            product.delete()
    except IntegrityError:  # sold by a concurrent transaction meanwhile
        raise Conflict(f"product {product.code!r} is in use: retire it instead", code="product_in_use") from None


def _allowances(values) -> list[dict]:
    out = []
    seen = set()
    for i, a in enumerate(values or []):
        if not isinstance(a, dict):
            raise InvalidInput("each allowance is an object", details={"field": f"allowances[{i}]"})
        service_type = v.choice(a.get("service_type"), f"allowances[{i}].service_type", ServiceType)
        unit = v.choice(a.get("unit"), f"allowances[{i}].unit", AllowanceUnit)
        quantity = v.minor_amount(a.get("quantity"), f"allowances[{i}].quantity", minimum=1)
        if (service_type, unit) in seen:
            raise InvalidInput("an allowance is listed twice", details={"field": f"allowances[{i}]"})
        seen.add((service_type, unit))
        out.append(dict(service_type=service_type, unit=unit, quantity=quantity))
    return out


@transaction.atomic
def create_plan(actor: Actor, product: Product, *, code: str, name: str, periodic_fee_minor: int,
                activation_fee_minor: int = 0, period: str = Period.MONTHLY,
                charge_mode: str = ChargeMode.IN_ADVANCE, alignment: str = Alignment.ANNIVERSARY,
                prorate_first_period: bool = True,
                prorate_last_period: bool = True, minimum_term_periods: int = 0,
                early_cancellation_fee_minor: int = 0, allowances: list[dict] | None = None,
                hold_fee_minor: int = 0) -> SubscriptionPlan:
    """A way to sell ``product``: fees in the product's currency, in minor units."""
    if product.status != CatalogStatus.ACTIVE:
        raise Conflict(f"product {product.code!r} is retired", code="product_retired")
    code = _code(code)
    fields = dict(
        name=v.text(name, "name", required=True),
        activation_fee_minor=v.minor_amount(activation_fee_minor, "activation_fee_minor"),
        periodic_fee_minor=v.minor_amount(periodic_fee_minor, "periodic_fee_minor"),
        period=v.choice(period, "period", Period),
        charge_mode=v.choice(charge_mode, "charge_mode", ChargeMode),
        alignment=v.choice(alignment, "alignment", Alignment),
        prorate_first_period=_flag(prorate_first_period, "prorate_first_period"),
        prorate_last_period=_flag(prorate_last_period, "prorate_last_period"),
        minimum_term_periods=v.minor_amount(minimum_term_periods, "minimum_term_periods"),
        early_cancellation_fee_minor=v.minor_amount(early_cancellation_fee_minor, "early_cancellation_fee_minor"),
        hold_fee_minor=v.minor_amount(hold_fee_minor, "hold_fee_minor"),
    )
    allowance_rows = _allowances(allowances)
    if SubscriptionPlan.objects.filter(code=code).exists():
        raise Conflict(f"a plan with code {code!r} exists", code="duplicate", details={"field": "code"})
    plan = SubscriptionPlan.objects.create(product=product, code=code, created_at=clock.now(), **fields)
    PlanAllowance.objects.bulk_create([PlanAllowance(plan=plan, **a) for a in allowance_rows])
    record(actor, "plan.created", plan, code=code, product=product.code, **fields, allowances=allowance_rows)
    return plan


def _flag(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false", details={"field": field})
    return value


@transaction.atomic
def rename_plan(actor: Actor, plan: SubscriptionPlan, *, name: str) -> SubscriptionPlan:
    """Fees and terms of a plan never change once created (subscribers bought them): make a new plan."""
    plan.name = v.text(name, "name", required=True)
    plan.save(update_fields=["name"])
    record(actor, "plan.renamed", plan, name=plan.name)
    return plan


@transaction.atomic
def retire_plan(actor: Actor, plan: SubscriptionPlan) -> SubscriptionPlan:
    if plan.status != CatalogStatus.RETIRED:
        plan.status = CatalogStatus.RETIRED
        plan.retired_at = clock.now()
        plan.save(update_fields=["status", "retired_at"])
        record(actor, "plan.retired", plan)
    return plan
