"""Reads of pay-per-view purchases for operators: lists, one purchase, revenue for royalty reports."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from tripleplay.core.errors import NotFound
from tripleplay.ppv.models import PpvPurchase, PurchaseStatus


def purchases(*, status: str | None = None, platform_id: int | None = None, customer_id: int | None = None,
              account_id: int | None = None) -> QuerySet[PpvPurchase]:
    """Newest first."""
    qs = PpvPurchase.objects.select_related("platform", "event")
    if status:
        qs = qs.filter(status=status)
    if platform_id is not None:
        qs = qs.filter(platform_id=platform_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return qs.order_by("-id")


def purchase(purchase_id: int) -> PpvPurchase:
    try:
        return PpvPurchase.objects.select_related("platform", "event", "hold", "charge", "refund_entry").get(
            pk=purchase_id)
    except PpvPurchase.DoesNotExist:
        raise NotFound(f"PPV purchase {purchase_id} does not exist") from None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def revenue(start: date, end: date) -> list[dict]:
    """PPV revenue per content owner and currency for the days ``start`` to ``end`` (both included, in
    the server's time zone), for royalty reporting: what was charged in the period (purchases
    confirmed then, by their confirmation time, including any refunded later) minus what was
    refunded in the period (by the refund's time, whenever the purchase was confirmed).

    Rows: content_owner ("" when the purchase had no event or the event no owner), currency,
    confirmed_minor, confirmed_count, refunded_minor, refunded_count, net_minor; sorted by
    content owner, then currency."""
    since, until = _start_of(start), _start_of(end + timedelta(days=1))
    rows: dict[tuple[str, str], dict] = {}

    def row(owner: str, currency: str) -> dict:
        return rows.setdefault((owner, currency), {"content_owner": owner, "currency": currency,
                                                   "confirmed_minor": 0, "confirmed_count": 0,
                                                   "refunded_minor": 0, "refunded_count": 0})

    confirmed = (PpvPurchase.objects
                 .filter(status__in=[PurchaseStatus.CONFIRMED, PurchaseStatus.REFUNDED], finished_at__gte=since,
                         finished_at__lt=until)
                 .values("content_owner", "currency").annotate(total=Sum("charged_minor"), n=Count("id")))
    for r in confirmed:
        target = row(r["content_owner"], r["currency"])
        target["confirmed_minor"], target["confirmed_count"] = r["total"] or 0, r["n"]
    refunded = (PpvPurchase.objects
                .filter(status=PurchaseStatus.REFUNDED, refund_entry__created_at__gte=since,
                        refund_entry__created_at__lt=until)
                .values("content_owner", "currency").annotate(total=Sum("charged_minor"), n=Count("id")))
    for r in refunded:
        target = row(r["content_owner"], r["currency"])
        target["refunded_minor"], target["refunded_count"] = r["total"] or 0, r["n"]
    out = []
    for key in sorted(rows):
        r = rows[key]
        r["net_minor"] = r["confirmed_minor"] - r["refunded_minor"]
        out.append(r)
    return out
