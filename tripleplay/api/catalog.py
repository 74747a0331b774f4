"""Catalog: products and their subscription plans. Reads for every role; writes for admins."""

from datetime import datetime

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import ADMINS, READERS, require
from tripleplay.api.schemas import (
    MAX_MINOR,
    Code,
    Currency,
    Id,
    IdParam,
    In,
    MoneyOut,
    NonNegativeMinor,
    OptionalText,
    RequiredText,
    minor,
)
from tripleplay.catalog import selectors, services
from tripleplay.catalog.models import Alignment, AllowanceUnit, CatalogStatus, ChargeMode, Period, ProductKind, ServiceType

router = Router(tags=["catalog"])


Name = RequiredText(200)
Description = OptionalText(2000)


class ProductIn(In):
    code: Code
    name: Name
    kind: ProductKind
    currency: Currency
    services: list[ServiceType] = Field(min_length=1)
    description: Description = ""


class ProductPatch(In):
    name: Name = None
    description: Description = None
    services: list[ServiceType] = Field(None, min_length=1)
    self_service: StrictBool = Field(None, description="add-ons only: subscribers may add and remove it in the portal")


class AllowanceIn(In):
    service_type: ServiceType
    unit: AllowanceUnit
    quantity: StrictInt = Field(gt=0, le=MAX_MINOR)


class PlanIn(In):
    """Fees are integer minor units of the product's currency. Fees and terms never change once a
    plan exists (subscribers bought them): a new plan replaces an old one."""

    product_id: Id
    code: Code
    name: Name
    periodic_fee_minor: NonNegativeMinor
    activation_fee_minor: NonNegativeMinor = 0
    period: Period = Period.MONTHLY
    charge_mode: ChargeMode = ChargeMode.IN_ADVANCE
    alignment: Alignment = Field(Alignment.ANNIVERSARY, description=(
        "anniversary: periods from each subscription's start; billing_period: from the customer's bill-cycle day, "
        "the first partial period prorated when prorate_first_period"))
    prorate_first_period: StrictBool = True
    prorate_last_period: StrictBool = True
    minimum_term_periods: StrictInt = Field(0, ge=0, le=10_000)
    early_cancellation_fee_minor: NonNegativeMinor = 0
    hold_fee_minor: NonNegativeMinor = Field(0, description=(
        "what a whole period costs on a vacation hold instead of periodic_fee, prorated by held days; may be 0"))
    allowances: list[AllowanceIn] = []


class PlanPatch(In):
    name: Name


class AllowanceOut(Schema):
    service_type: str
    unit: str
    quantity: int


class PlanOut(Schema):
    id: int
    product_id: int
    product_code: str
    code: str
    name: str
    currency: str
    activation_fee: MoneyOut
    periodic_fee: MoneyOut
    period: str
    charge_mode: str
    alignment: str
    prorate_first_period: bool
    prorate_last_period: bool
    minimum_term_periods: int
    early_cancellation_fee: MoneyOut
    hold_fee: MoneyOut
    allowances: list[AllowanceOut]
    status: str
    created_at: datetime
    retired_at: datetime | None

    @staticmethod
    def resolve_product_code(obj) -> str:
        return obj.product.code

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.product.currency

    @staticmethod
    def resolve_activation_fee(obj) -> dict:
        return minor(obj.activation_fee_minor, obj.product.currency)

    @staticmethod
    def resolve_periodic_fee(obj) -> dict:
        return minor(obj.periodic_fee_minor, obj.product.currency)

    @staticmethod
    def resolve_early_cancellation_fee(obj) -> dict:
        return minor(obj.early_cancellation_fee_minor, obj.product.currency)

    @staticmethod
    def resolve_hold_fee(obj) -> dict:
        return minor(obj.hold_fee_minor, obj.product.currency)

    @staticmethod
    def resolve_allowances(obj) -> list:
        return list(obj.allowances.order_by("service_type", "unit"))


class ProductOut(Schema):
    id: int
    code: str
    name: str
    description: str
    kind: str
    currency: str
    services: list[str]
    status: str
    self_service: bool
    created_at: datetime
    retired_at: datetime | None

    @staticmethod
    def resolve_services(obj) -> list[str]:
        return obj.service_types


class ProductDetailOut(ProductOut):
    plans: list[PlanOut]

    @staticmethod
    def resolve_plans(obj) -> list:
        return list(selectors.plans(product_id=obj.pk))


# -- products ---------------------------------------------------------------------------------------


@router.get("/products", response=list[ProductOut])
@paginate(BoundedPagination)
def list_products(request, kind: ProductKind | None = None, status: CatalogStatus | None = None,
                  service_type: ServiceType | None = None, search: str | None = None):
    """Products by code; ``search`` matches code or name."""
    require(request, *READERS)
    return selectors.products(kind=kind, status=status, service_type=service_type, search=search)


@router.post("/products", response={201: ProductDetailOut})
@idempotent_create()
def create_product(request, payload: ProductIn):
    actor = require(request, *ADMINS)
    product = services.create_product(actor, **payload.changes())
    return selectors.product(product.pk)


@router.get("/products/{product_id}", response=ProductDetailOut)
def get_product(request, product_id: IdParam):
    require(request, *READERS)
    return selectors.product(product_id)


@router.patch("/products/{product_id}", response=ProductDetailOut)
def update_product(request, product_id: IdParam, payload: ProductPatch):
    actor = require(request, *ADMINS)
    product = services.update_product(actor, selectors.product(product_id), **payload.changes())
    return selectors.product(product.pk)


@router.post("/products/{product_id}/retire", response=ProductDetailOut)
def retire_product(request, product_id: IdParam):
    """No new sales of the product or its plans; current subscribers keep it. Idempotent."""
    actor = require(request, *ADMINS)
    product = services.retire_product(actor, selectors.product(product_id))
    return selectors.product(product.pk)


@router.delete("/products/{product_id}", response={204: None})
def delete_product(request, product_id: IdParam):
    """Only a product that was never sold; otherwise 409 product_in_use (retire it instead)."""
    actor = require(request, *ADMINS)
    services.delete_product(actor, selectors.product(product_id))
    return None


# -- plans ------------------------------------------------------------------------------------------


@router.get("/plans", response=list[PlanOut])
@paginate(BoundedPagination)
def list_plans(request, product_id: IdParam | None = None, status: CatalogStatus | None = None):
    require(request, *READERS)
    return selectors.plans(product_id=product_id, status=status)


@router.post("/plans", response={201: PlanOut})
@idempotent_create()
def create_plan(request, payload: PlanIn):
    actor = require(request, *ADMINS)
    fields = payload.changes()
    product = selectors.product(fields.pop("product_id"))
    plan = services.create_plan(actor, product, **fields)
    return selectors.plan(plan.pk)


@router.get("/plans/{plan_id}", response=PlanOut)
def get_plan(request, plan_id: IdParam):
    require(request, *READERS)
    return selectors.plan(plan_id)


@router.patch("/plans/{plan_id}", response=PlanOut)
def rename_plan(request, plan_id: IdParam, payload: PlanPatch):
    """Only the name of a plan changes; fees and terms are fixed at creation."""
    actor = require(request, *ADMINS)
    plan = services.rename_plan(actor, selectors.plan(plan_id), name=payload.name)
    return selectors.plan(plan.pk)


@router.post("/plans/{plan_id}/retire", response=PlanOut)
def retire_plan(request, plan_id: IdParam):
    """No new sales of the plan; current subscribers keep it. Idempotent."""
    actor = require(request, *ADMINS)
    plan = services.retire_plan(actor, selectors.plan(plan_id))
    return selectors.plan(plan.pk)
