"""The webhooks app's work inside `tripleplay worker`, registered in tripleplay.webhooks.apps as worker
loops (tripleplay.core.scheduler.WorkerLoop): every worker runs them between its provisioning batches,
in parallel with the other workers, sharing the queues through their claims.

- ``webhooks-delivery``: one batch of due deliveries per step (``delivery.Deliverer``); `tripleplay
  webhook-worker` runs the same loop alone, in as many processes as needed.
- ``ppv-purchase-events``: the ppv.purchased events, derived from confirmed purchases behind a
  watermark (D105), because the PPV confirm path on PostgreSQL is one SQL function that must not pay
  for webhooks; at most every TRIPLEPLAY_WEBHOOK_PPV_SECONDS in each worker.

Loops, not periodic jobs: a job runs in one place at a time, and /readyz calls the installation unready
when a job misses three of its intervals, which a job every few seconds would do whenever a long job
(the invoice run) holds the worker."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from tripleplay import clock
from tripleplay.core.scheduler import WorkerLoop
from tripleplay.ppv.models import PpvPurchase, PurchaseStatus
from tripleplay.webhooks.delivery import Deliverer
from tripleplay.webhooks.events import NewEvent, emit, iso, subscribed
from tripleplay.webhooks.models import Cursor, Event

PPV_CURSOR = "ppv.purchased"
# A purchase row younger than this may have neighbours with lower ids whose transactions have not
# committed yet: the watermark never passes it (the rows after it are read again, and de-duplicated).
PPV_SETTLE = timedelta(seconds=60)
PPV_PAGE = 5000
_FINISHED = {PurchaseStatus.CONFIRMED, PurchaseStatus.REFUNDED, PurchaseStatus.DECLINED, PurchaseStatus.CANCELLED,
             PurchaseStatus.EXPIRED}


def ppv_payload(p: dict) -> dict:
    return {"purchase_id": p["id"], "platform": p["platform__code"], "transaction_id": p["transaction_id"],
            "customer_id": p["customer_id"], "account_id": p["account_id"], "event_ref": p["event_ref"],
            "title": p["title"], "amount_minor": p["charged_minor"], "currency": p["currency"],
            "confirmed_at": iso(p["finished_at"])}


def ppv_purchase_events(*, page: int = PPV_PAGE) -> int:
    """Write the ppv.purchased events of the purchases confirmed since the watermark; returns how many.

    The watermark is the lowest purchase id that may still change or still be committed: it moves past a
    row only once that row is finished (confirmed, declined, cancelled, expired) AND older than
    PPV_SETTLE, and never past the first row that is not. Rows above it are read again next time; an
    event's ``source_key`` ("ppv:<id>") makes it once only."""
    with transaction.atomic():
        cursor, _ = Cursor.objects.select_for_update().get_or_create(name=PPV_CURSOR)
        settled_before = clock.now() - PPV_SETTLE
        rows = list(PpvPurchase.objects.filter(id__gte=cursor.position).order_by("id").values(
            "id", "platform__code", "transaction_id", "customer_id", "account_id", "event_ref", "title",
            "charged_minor", "currency", "status", "charge_id", "authorized_at", "finished_at")[:page])
        position = cursor.position
        for r in rows:
            if r["status"] not in _FINISHED or r["authorized_at"] > settled_before:
                break
            position = r["id"] + 1
        confirmed = {f"ppv:{r['id']}": r for r in rows if r["charge_id"] is not None}
        written = 0
        if confirmed and subscribed("ppv.purchased"):
            done = set(Event.objects.filter(source_key__in=list(confirmed)).values_list("source_key", flat=True))
            written = len(emit("ppv.purchased", [NewEvent(ppv_payload(r), source_key=k)
                                                 for k, r in confirmed.items() if k not in done]))
        if position != cursor.position:
            Cursor.objects.filter(name=PPV_CURSOR).update(position=position, updated_at=clock.now())
    return written


class _InWorker:
    """The loops' state in one worker process: its deliverer (threads, HTTP clients), when it last derived."""

    def __init__(self):
        self.deliverer: Deliverer | None = None
        self.ppv_at: float | None = None

    def deliver_step(self) -> int:
        if settings.TRIPLEPLAY_WEBHOOK_THREADS <= 0:
            return 0
        if self.deliverer is None:
            self.deliverer = Deliverer(threads=settings.TRIPLEPLAY_WEBHOOK_THREADS)
        return self.deliverer.run_once()

    def close(self) -> None:
        if self.deliverer is not None:
            self.deliverer.close()
            self.deliverer = None

    def ppv_step(self) -> int:
        if self.ppv_at is not None and time.monotonic() - self.ppv_at < settings.TRIPLEPLAY_WEBHOOK_PPV_SECONDS:
            return 0
        self.ppv_at = time.monotonic()
        return ppv_purchase_events()


_IN_WORKER = _InWorker()

LOOPS = (
    WorkerLoop("webhooks-delivery", _IN_WORKER.deliver_step, _IN_WORKER.close),
    WorkerLoop("ppv-purchase-events", _IN_WORKER.ppv_step, lambda: None),
)
