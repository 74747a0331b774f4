"""Reads of the orders app: the operator's switches and the orders of a platform or customer."""

from __future__ import annotations

from django.db.models import QuerySet

from tripleplay.orders.models import TvOrder, TvOrderable


def orderables_of(platform) -> QuerySet[TvOrderable]:
    return TvOrderable.objects.filter(platform=platform).select_related("product").order_by("product__code")


def orderable_product_ids(platform) -> set[int]:
    return set(TvOrderable.objects.filter(platform=platform).values_list("product_id", flat=True))


def is_orderable(platform, product) -> bool:
    return TvOrderable.objects.filter(platform=platform, product=product).exists()


def orders_of(*, platform=None, customer=None) -> QuerySet[TvOrder]:
    qs = TvOrder.objects.all()
    if platform is not None:
        qs = qs.filter(platform=platform)
    if customer is not None:
        qs = qs.filter(customer=customer)
    return qs.order_by("-id")
