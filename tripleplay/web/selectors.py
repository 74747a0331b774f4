"""Reads that span several domains, for the dashboard and the reports. Each domain's own reads stay
in its selectors; these only aggregate. Money stays in integer minor units per currency."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from tripleplay import clock
from tripleplay.customers.models import AccountProduct, Customer, Status
from tripleplay.iptv.models import ChannelPackage, CommandStatus, ProductPackage, ProvisioningCommand, Subscriber
from tripleplay.ledger.models import EntryKind, LedgerEntry
from tripleplay.ppv.models import PpvPurchase, PurchaseStatus

MAX_REPORT_DAYS = 366


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def this_month() -> tuple[date, date]:
    today = clock.today()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return first, next_first - timedelta(days=1)


def customers_by_status() -> list[dict]:
    counts = dict(Customer.objects.values_list("status").annotate(n=Count("id")))
    return [{"status": s.value, "count": counts.get(s.value, 0)} for s in Status]


def revenue_by_service(start: date, end: date) -> list[dict]:
    """Charges (kind charge, by creation time, both days included) per service type and currency,
    as positive minor units, minus refunds of the same service (PPV refunds). Tax is not revenue and is
    left out. A bulk-rated usage charge covering several services is split by the per-service amounts
    its data records. Rows sorted by currency then amount, largest first; entries without a service
    type appear as "other"."""
    since, until = start_of(start), start_of(end + timedelta(days=1))
    base = (LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until,
                                       kind__in=[EntryKind.CHARGE, EntryKind.REFUND])
            .exclude(source="tax"))
    mixed = Q(source="usage", service_type="")
    totals: dict[tuple[str, str], list[int]] = {}
    for r in base.exclude(mixed).values("service_type", "currency").annotate(total=Sum("amount_minor"), n=Count("id")):
        totals[(r["service_type"] or "other", r["currency"])] = [-(r["total"] or 0), r["n"]]
    for currency, amount, data in base.filter(mixed).values_list("currency", "amount_minor", "data").iterator():
        services = (data or {}).get("services") if isinstance(data, dict) else None
        parts = ([(s, v["cost_minor"]) for s, v in services.items()] if isinstance(services, dict) and services
                 else [("other", -amount)])
        for service, cost in parts:
            row = totals.setdefault((service, currency), [0, 0])
            row[0] += cost
            row[1] += 1
    out = [{"service": s, "currency": c, "amount_minor": a, "entries": n} for (s, c), (a, n) in totals.items()]
    return sorted(out, key=lambda r: (r["currency"], -r["amount_minor"], r["service"]))


def ppv_purchases_on(day: date) -> dict:
    since, until = start_of(day), start_of(day + timedelta(days=1))
    qs = PpvPurchase.objects.filter(authorized_at__gte=since, authorized_at__lt=until)
    by_status = dict(qs.values_list("status").annotate(n=Count("id")))
    charged = (qs.filter(status__in=[PurchaseStatus.CONFIRMED, PurchaseStatus.REFUNDED])
               .values("currency").annotate(total=Sum("charged_minor")).order_by("currency"))
    return {"total": sum(by_status.values()), "by_status": by_status,
            "charged": [{"currency": r["currency"], "amount_minor": r["total"] or 0} for r in charged]}


def recent_failures(limit: int = 10) -> dict:
    subscribers = (Subscriber.objects.filter(status__in=["failed", "retry"]).select_related("platform", "account")
                   .order_by("-updated_at")[:limit])
    commands = (ProvisioningCommand.objects.filter(status=CommandStatus.FAILED)
                .select_related("subscriber__platform", "subscriber__account").order_by("-id")[:limit])
    return {"subscribers": list(subscribers), "commands": list(commands)}


def package_subscribers_per_day(start: date, end: date, platform_id: int | None = None) -> list[dict]:
    """For each channel package and each day from ``start`` to ``end`` (included): how many accounts
    had, that day, a product granting the package (an AccountProduct with start <= day < end).
    The basis of the per-subscriber royalty reports to rights owners. Rows: platform, package
    external id and name, day, subscribers; by platform, package, day."""
    links = ProductPackage.objects.select_related("package__platform")
    if platform_id:
        links = links.filter(package__platform_id=platform_id)
    products_of: dict[int, set[int]] = defaultdict(set)
    for link in links:
        products_of[link.package_id].add(link.product_id)
    packages = ChannelPackage.objects.filter(pk__in=products_of).select_related("platform").order_by(
        "platform__code", "external_id")
    all_products = set().union(*products_of.values()) if products_of else set()
    assignments = list(AccountProduct.objects.filter(product_id__in=all_products, start_date__lte=end)
                       .filter(Q(end_date__isnull=True) | Q(end_date__gt=start))
                       .values_list("account_id", "product_id", "start_date", "end_date"))
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    out = []
    for package in packages:
        products = products_of[package.pk]
        mine = [a for a in assignments if a[1] in products]
        for day in days:
            accounts = {a[0] for a in mine if a[2] <= day and (a[3] is None or a[3] > day)}
            out.append({"platform": package.platform.code, "package": package.external_id, "name": package.name,
                        "day": day, "subscribers": len(accounts)})
    return out
