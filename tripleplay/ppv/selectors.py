"""Reads of pay-per-view purchases for operators: lists, one purchase, revenue for royalty reports; and
the events the subscriber portal offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from tripleplay import clock
from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Account, Customer, Status
from tripleplay.iptv.grants import platform_grants
from tripleplay.iptv.models import CatalogItemStatus, PpvEvent, Subscriber
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


# -- the subscriber portal ------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalEvent:
    """A PPV event an account may be offered in the portal: on a platform the account is on."""

    account: Account
    event: PpvEvent
    grantable: bool  # the platform can be told to grant it (otherwise it is sold on the TV only)


def portal_events(customer: Customer, *, account_id: int | None = None, event_id: int | None = None) -> list[PortalEvent]:
    """The PPV events on sale now (active, inside their window, in the customer's currency) on the
    platforms where the customer's open accounts have a subscriber; ``grantable`` says whether the
    portal may sell it (iptv.grants.platform_grants). Narrowed to one account and event for a purchase."""
    now = clock.now()
    subs = (Subscriber.objects.filter(account__customer_id=customer.pk, desired_exists=True, platform__enabled=True)
            .exclude(account__status=Status.CLOSED).select_related("account", "platform").order_by("account_id"))
    if account_id is not None:
        subs = subs.filter(account_id=account_id)
    subs = list(subs)
    events = (PpvEvent.objects.filter(platform_id__in={s.platform_id for s in subs}, status=CatalogItemStatus.ACTIVE,
                                      currency=customer.currency)
              .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now)).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
              .select_related("platform").order_by("starts_at", "title", "id"))
    if event_id is not None:
        events = events.filter(pk=event_id)
    by_platform: dict[int, list[PpvEvent]] = {}
    for e in events:
        by_platform.setdefault(e.platform_id, []).append(e)
    grants = {s.platform_id: platform_grants(s.platform) for s in subs}
    return [PortalEvent(s.account, e, grants[s.platform_id]) for s in subs for e in by_platform.get(s.platform_id, ())]
