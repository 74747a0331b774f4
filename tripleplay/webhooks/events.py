"""Writing events into the outbox, inside the caller's transaction.

``emit`` takes a batch (the invoice run issues hundreds of invoices per transaction): one query for the
endpoints, one multi-row INSERT for the events, one for their deliveries. An event is written only
when at least one enabled endpoint wants its type (D104): with no subscriber, the billing paths pay one
small query and nothing else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from tripleplay import clock
from tripleplay.webhooks.models import Delivery, Endpoint, Event


@dataclass(frozen=True)
class NewEvent:
    payload: dict
    source_key: str | None = None  # unique: the same source never makes two events


def new_uid() -> str:
    return "msg_" + uuid.uuid4().hex


def iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at is not None else None


def subscribed(event_type: str) -> list[Endpoint]:
    return [e for e in Endpoint.objects.filter(enabled=True).only("id", "event_types").order_by("id")
            if e.wants(event_type)]


def emit(event_type: str, items: list[NewEvent], *, endpoints: list[Endpoint] | None = None) -> list[Event]:
    """Write one event per item and a pending delivery of each to every enabled endpoint that wants
    ``event_type`` (or to ``endpoints``). Returns the events written."""
    if not items:
        return []
    targets = subscribed(event_type) if endpoints is None else endpoints
    if not targets:
        return []
    now = clock.now()
    events = Event.objects.bulk_create([
        Event(uid=new_uid(), type=event_type, created_at=now, payload=item.payload, source_key=item.source_key)
        for item in items], batch_size=500)
    Delivery.objects.bulk_create([
        Delivery(event_id=ev.pk, endpoint_id=ep.pk, next_attempt_at=now, created_at=now, updated_at=now)
        for ev in events for ep in targets], batch_size=1000)
    return events
