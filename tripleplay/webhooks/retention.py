"""Forgetting delivered webhooks (D120): an event older than TRIPLEPLAY_WEBHOOK_RETENTION_DAYS whose
every delivery succeeded (or that no endpoint wanted) goes, with its deliveries and their attempts.
Failed deliveries (the dead letter) and pending ones are kept, with their events, whatever their age:
an operator replays or inspects them. The ``webhooks-prune`` job runs it in bounded batches."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from tripleplay import clock
from tripleplay.webhooks.models import Delivery, DeliveryStatus, Event

BATCH = 1000


def prunable_events(older_than):
    unfinished = Delivery.objects.filter(event=OuterRef("pk")).exclude(status=DeliveryStatus.SUCCEEDED)
    return Event.objects.filter(created_at__lt=older_than).filter(~Exists(unfinished))


def prune(*, days: int | None = None, batch: int = BATCH, batches: int = 50) -> int:
    """Delete up to ``batch * batches`` delivered events older than ``days``; returns how many."""
    days = settings.TRIPLEPLAY_WEBHOOK_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0  # 0: keep everything
    older_than = clock.now() - timedelta(days=days)
    pruned = 0
    for _ in range(batches):
        with transaction.atomic():
            ids = list(prunable_events(older_than).order_by("id").values_list("id", flat=True)[:batch])
            if not ids:
                break
            # Only succeeded deliveries remain on these events; their attempts go with them (CASCADE).
            Delivery.objects.filter(event_id__in=ids, status=DeliveryStatus.SUCCEEDED).delete()
            pruned += Event.objects.filter(id__in=ids).delete()[1].get(Event._meta.label, 0)
    return pruned


def prune_job() -> str:
    return f"pruned {prune()} delivered events"
