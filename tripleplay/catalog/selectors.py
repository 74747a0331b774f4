from __future__ import annotations

from django.db.models import Q, QuerySet

from tripleplay.catalog.models import Product, SubscriptionPlan
from tripleplay.core.errors import NotFound


def products(*, kind: str | None = None, status: str | None = None, service_type: str | None = None,
             search: str | None = None) -> QuerySet[Product]:
    qs = Product.objects.prefetch_related("services")
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if service_type:
        qs = qs.filter(services__service_type=service_type)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search))
    return qs.order_by("code").distinct()


def product(product_id: int) -> Product:
    try:
        return Product.objects.prefetch_related("services").get(pk=product_id)
    except (Product.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"product {product_id} does not exist") from None


def plans(*, product_id: int | None = None, status: str | None = None) -> QuerySet[SubscriptionPlan]:
    qs = SubscriptionPlan.objects.select_related("product").prefetch_related("allowances")
    if product_id:
        qs = qs.filter(product_id=product_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("product__code", "code")


def plan(plan_id: int) -> SubscriptionPlan:
    try:
        return SubscriptionPlan.objects.select_related("product").prefetch_related("allowances").get(pk=plan_id)
    except (SubscriptionPlan.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"plan {plan_id} does not exist") from None
