"""Reads for rating (writes are in services.py)."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Account
from tripleplay.rating.models import AllowanceUsage, RateTable, Xdr, XdrStatus


def xdrs_in_error(source: str | None = None) -> QuerySet[Xdr]:
    qs = Xdr.objects.filter(status=XdrStatus.ERROR)
    return qs.filter(source=source) if source else qs


def error_counts() -> dict[str, int]:
    """Error code -> number of xDRs waiting in error."""
    rows = Xdr.objects.filter(status=XdrStatus.ERROR).values("error_code").annotate(n=Count("id"))
    return {r["error_code"]: r["n"] for r in rows}


def allowance_usage(account: Account) -> QuerySet[AllowanceUsage]:
    return AllowanceUsage.objects.filter(assignment__account=account).select_related("allowance")


def rated_total_minor(account: Account) -> int:
    return Xdr.objects.filter(account=account, status=XdrStatus.RATED).aggregate(t=Sum("cost_minor"))["t"] or 0


def rate_tables(product_id: int | None = None) -> QuerySet[RateTable]:
    qs = RateTable.objects.prefetch_related("rates").order_by("id")
    return qs.filter(product_id=product_id) if product_id is not None else qs


def rate_table(table_id: int) -> RateTable:
    try:
        return RateTable.objects.prefetch_related("rates").get(pk=table_id)
    except (RateTable.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"rate table {table_id} does not exist") from None


def xdrs_of_customer(customer_id: int) -> QuerySet[Xdr]:
    """A customer's rated usage, newest first (the subscriber portal's usage page)."""
    return (Xdr.objects.filter(account__customer_id=customer_id, status=XdrStatus.RATED)
            .select_related("account").order_by("-started_at", "-id"))
