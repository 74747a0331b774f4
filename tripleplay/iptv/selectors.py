from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet

from tripleplay import clock
from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Account
from tripleplay.iptv.models import (
    ChannelPackage,
    CommandStatus,
    Platform,
    PpvEvent,
    ProvisioningCommand,
    Subscriber,
)


def _get(model, pk, what):
    try:
        return model.objects.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"{what} {pk} does not exist") from None


def platforms() -> QuerySet[Platform]:
    return Platform.objects.order_by("code")


def platform(platform_id: int) -> Platform:
    return _get(Platform, platform_id, "platform")


def platform_by_code(code: str) -> Platform:
    try:
        return Platform.objects.get(code=code)
    except Platform.DoesNotExist:
        raise NotFound(f"platform {code!r} does not exist") from None


def packages(*, platform_id: int | None = None, status: str | None = None) -> QuerySet[ChannelPackage]:
    qs = ChannelPackage.objects.select_related("platform").prefetch_related("products__product")
    if platform_id:
        qs = qs.filter(platform_id=platform_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("platform__code", "external_id")


def package(package_id: int) -> ChannelPackage:
    return _get(ChannelPackage, package_id, "channel package")


def ppv_events(*, platform_id: int | None = None, status: str | None = None) -> QuerySet[PpvEvent]:
    qs = PpvEvent.objects.select_related("platform")
    if platform_id:
        qs = qs.filter(platform_id=platform_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("platform__code", "external_id")


def subscribers(*, platform_id: int | None = None, account_id: int | None = None,
                status: str | None = None) -> QuerySet[Subscriber]:
    qs = Subscriber.objects.select_related("platform", "account", "pending_command")
    if platform_id:
        qs = qs.filter(platform_id=platform_id)
    if account_id:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("id")


def subscriber(subscriber_id: int) -> Subscriber:
    return _get(Subscriber, subscriber_id, "subscriber")


def commands(*, subscriber_id: int | None = None, platform_id: int | None = None,
             status: str | None = None) -> QuerySet[ProvisioningCommand]:
    qs = ProvisioningCommand.objects.select_related("subscriber__platform")
    if subscriber_id:
        qs = qs.filter(subscriber_id=subscriber_id)
    if platform_id:
        qs = qs.filter(subscriber__platform_id=platform_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def command(command_id: int) -> ProvisioningCommand:
    return _get(ProvisioningCommand, command_id, "provisioning command")


def queue_health() -> list[dict]:
    """Per platform: subscribers by provisioning status and commands waiting (the dashboard's view)."""
    rows = (Subscriber.objects.values("platform__code").annotate(
        ok=Count("id", filter=Q(status="ok")), in_progress=Count("id", filter=Q(status="in_progress")),
        retry=Count("id", filter=Q(status="retry")), failed=Count("id", filter=Q(status="failed")),
        queued=Count("id", filter=Q(pending_command__isnull=False))).order_by("platform__code"))
    return [{"platform": r.pop("platform__code"), **r} for r in rows]


def accounts_with_packages(platform: Platform, external_ids: list[str]) -> QuerySet[Account]:
    """Accounts whose current products grant any of these packages (or that exist on the platform)."""
    today = clock.today()
    current = (Q(products__start_date__lte=today)
               & (Q(products__end_date__isnull=True) | Q(products__end_date__gt=today))
               & Q(products__product__channel_packages__package__platform=platform)
               & Q(products__product__channel_packages__package__external_id__in=external_ids))
    return Account.objects.filter(current | Q(iptv_subscribers__platform=platform)).distinct().order_by("id")


def accounts_with_product(product_id: int) -> QuerySet[Account]:
    today = clock.today()
    return (Account.objects.filter(products__product_id=product_id, products__start_date__lte=today)
            .filter(Q(products__end_date__isnull=True) | Q(products__end_date__gt=today)).distinct().order_by("id"))


@dataclass(frozen=True)
class QueueCount:
    platform: str  # the platform's code
    status: str
    commands: int


@dataclass(frozen=True)
class OldestPending:
    platform: str
    created_at: datetime


def provisioning_queue() -> list[QueueCount]:
    """Provisioning commands by platform and status (one GROUP BY, for /metrics)."""
    rows = (ProvisioningCommand.objects.order_by().values("subscriber__platform__code", "status")
            .annotate(n=Count("id")).order_by("subscriber__platform__code", "status"))
    return [QueueCount(r["subscriber__platform__code"], r["status"], r["n"]) for r in rows]


def oldest_pending_commands() -> list[OldestPending]:
    """Per platform with pending commands, when its oldest pending one was written."""
    rows = (ProvisioningCommand.objects.filter(status=CommandStatus.PENDING).order_by()
            .values("subscriber__platform__code").annotate(oldest=Min("created_at"))
            .order_by("subscriber__platform__code"))
    return [OldestPending(r["subscriber__platform__code"], r["oldest"]) for r in rows]
