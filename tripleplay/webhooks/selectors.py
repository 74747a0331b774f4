"""Reads of the webhooks app, for the edges."""

from __future__ import annotations

from django.db.models import Count, Min, QuerySet

from tripleplay.core.errors import NotFound
from tripleplay.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event


def endpoints() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("id")


def endpoint(endpoint_id: int) -> Endpoint:
    try:
        return Endpoint.objects.get(pk=endpoint_id)
    except Endpoint.DoesNotExist:
        raise NotFound(f"webhook endpoint {endpoint_id} not found") from None


def events(*, type: str | None = None) -> QuerySet[Event]:
    qs = Event.objects.order_by("-id")
    return qs.filter(type=type) if type else qs


def event(event_id: int) -> Event:
    try:
        return Event.objects.get(pk=event_id)
    except Event.DoesNotExist:
        raise NotFound(f"webhook event {event_id} not found") from None


def deliveries(*, endpoint_id: int | None = None, event_id: int | None = None,
               status: str | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.select_related("event").order_by("-id")
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if event_id is not None:
        qs = qs.filter(event_id=event_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def delivery(delivery_id: int) -> Delivery:
    try:
        return Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    except Delivery.DoesNotExist:
        raise NotFound(f"webhook delivery {delivery_id} not found") from None


def attempts(delivery: Delivery) -> QuerySet[DeliveryAttempt]:
    return delivery.attempt_log.order_by("id")


def delivery_queue() -> dict[str, int]:
    """Deliveries by status, for /metrics: one GROUP BY."""
    rows = Delivery.objects.order_by().values("status").annotate(n=Count("id")).order_by("status")
    return {r["status"]: r["n"] for r in rows}


def oldest_pending_delivery_at():
    """When the oldest pending delivery was written, or None."""
    return Delivery.objects.filter(status="pending").aggregate(oldest=Min("created_at"))["oldest"]
