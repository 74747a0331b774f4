"""The delivery worker: drains pending deliveries to their endpoints.

Claim (one short transaction): pending deliveries that are due, of enabled endpoints, with no live
lease, oldest first; ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers
share the queue (SQLite's IMMEDIATE transactions serialize claims). Each gets a lease (owner, expiry).
A worker that dies loses its leases when they expire, and another sends those deliveries again: the
same message (same ``webhook-id``) may then arrive twice, which the Standard Webhooks specification
allows and receivers de-duplicate by that id.

Send (no transaction open): one POST per delivery, signed, with the endpoint's timeout, redirects not
followed; a thread pool sends a batch in parallel.

Finish (one short transaction per batch): every attempt logged; 2xx -> succeeded; anything else ->
retried with exponential backoff and jitter, or failed (dead letter) after ``max_attempts``. Only rows
this worker still leases are changed.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q

from tripleplay import clock
from tripleplay.webhooks import signing
from tripleplay.webhooks.events import iso
from tripleplay.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from tripleplay.webhooks.policy import RetryPolicy, succeeded
from tripleplay.webhooks.services import signing_secrets

log = logging.getLogger("tripleplay.webhooks")

EXCERPT = 500
USER_AGENT = "tripleplay-webhooks/1"


@dataclass
class Result:
    delivery: Delivery
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""

    skipped: bool = False  # not sent: the lease would run out during the call (sent after a new claim)

    @property
    def ok(self) -> bool:
        return succeeded(self.status_code)


def claim(owner: str, limit: int, lease: timedelta) -> list[Delivery]:
    now = clock.now()
    with transaction.atomic():
        due = (Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .order_by("next_attempt_at", "id"))
        if connection.features.has_select_for_update_of:
            due = due.select_for_update(skip_locked=True, of=("self",))
        else:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Delivery.objects.filter(id__in=ids).update(lease_owner=owner, lease_until=now + lease, updated_at=now)
    if not ids:
        return []
    return list(Delivery.objects.select_related("event", "endpoint").filter(id__in=ids).order_by("id"))


def message(delivery: Delivery) -> tuple[str, bytes]:
    ev = delivery.event
    return ev.uid, signing.body(ev.type, iso(ev.created_at), ev.payload)


def send(client: httpx.Client, delivery: Delivery, secrets_: list[str]) -> Result:
    msg_id, body = message(delivery)
    started = clock.now()
    t0 = time.monotonic()
    # The signature's timestamp is the wall clock, not tripleplay's movable business clock: receivers check
    # it against their own real clock (the reference verifier allows 5 minutes), so a demo or a test that
    # moves the business clock would otherwise have every delivery refused as too old (D106).
    headers = {**signing.headers(secrets_, msg_id, int(time.time()), body), "content-type": "application/json",
               "user-agent": USER_AGENT}
    result = Result(delivery, started, 0)
    try:
        with client.stream("POST", delivery.endpoint.url, content=body, headers=headers,
                           timeout=float(delivery.endpoint.timeout_seconds)) as r:
            result.status_code = r.status_code
            got = b""
            for chunk in r.iter_bytes():
                got += chunk
                if len(got) >= EXCERPT:
                    break
            result.excerpt = got[:EXCERPT].decode("utf-8", "replace")
            if not result.ok:
                result.error = f"HTTP {r.status_code}"
    except httpx.TimeoutException as e:
        result.error = f"timeout: {type(e).__name__}"
    except httpx.HTTPError as e:
        result.error = f"{type(e).__name__}: {e}"[:EXCERPT]
    result.duration_ms = round((time.monotonic() - t0) * 1000)
    return result


class Deliverer:
    def __init__(self, *, name: str | None = None, batch_size: int = 100, threads: int = 8, lease_seconds: int = 60,
                 poll_seconds: float = 0.5, retry: RetryPolicy | None = None, seed: int | None = None):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size, self.threads = batch_size, threads
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.delivered = 0
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(follow_redirects=False, timeout=10.0)
        return client

    def _send(self, pair: tuple[Delivery, list[str]]) -> Result:
        d = pair[0]
        # Late in a big batch the lease may be about to run out: leave the delivery to be claimed again
        # rather than have another worker send it while this one still waits for an answer.
        margin = timedelta(seconds=d.endpoint.timeout_seconds + 1)
        if d.lease_until is None or d.lease_until - clock.now() < margin:
            return Result(d, clock.now(), 0, skipped=True)
        return send(self._client(), *pair)

    def run_once(self) -> int:
        batch = claim(self.name, self.batch_size, self.lease)
        if not batch:
            return 0
        secrets_by_endpoint: dict[int, list[str]] = {}
        work = []
        for d in batch:
            if d.endpoint_id not in secrets_by_endpoint:
                secrets_by_endpoint[d.endpoint_id] = signing_secrets(d.endpoint)
            work.append((d, secrets_by_endpoint[d.endpoint_id]))
        if self.threads <= 1:
            results = [self._send(w) for w in work]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="webhooks")
            results = list(self._pool.map(self._send, work))
        self.finish(results)
        self.delivered += sum(1 for r in results if r.ok)
        return sum(1 for r in results if not r.skipped)

    def finish(self, results: list[Result]) -> None:
        now = clock.now()
        skipped = [r.delivery.pk for r in results if r.skipped]
        results = [r for r in results if not r.skipped]
        with transaction.atomic():
            DeliveryAttempt.objects.bulk_create([
                DeliveryAttempt(delivery_id=r.delivery.pk, number=r.delivery.attempts + 1, started_at=r.started_at,
                                duration_ms=r.duration_ms, status_code=r.status_code, error=r.error[:EXCERPT],
                                response_excerpt=r.excerpt, worker=self.name[:100]) for r in results])
            mine = Delivery.objects.filter(lease_owner=self.name, status=DeliveryStatus.PENDING)
            if skipped:
                mine.filter(id__in=skipped).update(lease_owner="", lease_until=None, updated_at=now)
            by_code: dict[int, list[int]] = {}
            for r in results:
                if r.ok:
                    by_code.setdefault(r.status_code, []).append(r.delivery.pk)
            for code, ids in by_code.items():
                mine.filter(id__in=ids).update(status=DeliveryStatus.SUCCEEDED, attempts=F("attempts") + 1,
                                               last_status_code=code, last_error="", finished_at=now,
                                               lease_owner="", lease_until=None, updated_at=now)
            for r in results:
                if r.ok:
                    continue
                attempts = r.delivery.attempts + 1
                common = dict(attempts=attempts, last_status_code=r.status_code, last_error=r.error[:EXCERPT],
                              lease_owner="", lease_until=None, updated_at=now)
                if self.retry.gives_up(attempts):
                    mine.filter(pk=r.delivery.pk).update(status=DeliveryStatus.FAILED, finished_at=now,
                                                         next_attempt_at=None, **common)
                else:
                    mine.filter(pk=r.delivery.pk).update(next_attempt_at=now + self.retry.delay(attempts, self.rng),
                                                         **common)

    def run(self, *, until_idle: bool = False, max_seconds: float | None = None) -> int:
        """Deliver until stopped, or until nothing is due (``until_idle``), or for ``max_seconds``."""
        t0 = time.monotonic()
        try:
            while not self.stop_event.is_set():
                done = self.run_once()
                if max_seconds is not None and time.monotonic() - t0 >= max_seconds:
                    break
                if done == 0:
                    if until_idle and not self._due_soon():
                        break
                    self.stop_event.wait(self.poll_seconds)
        finally:
            self.close()
        return self.delivered

    def _due_soon(self, horizon: timedelta = timedelta(seconds=1)) -> bool:
        """A retry due within ``horizon`` (or a lease about to expire) keeps an ``until_idle`` run going;
        one due later is left for the next run."""
        soon = clock.now() + horizon
        return Delivery.objects.filter(status=DeliveryStatus.PENDING, endpoint__enabled=True).filter(
            Q(next_attempt_at__lte=soon), Q(lease_until__isnull=True) | Q(lease_until__lte=soon)).exists()

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            barrier = threading.Barrier(self.threads)

            def close_thread():
                try:
                    barrier.wait(timeout=5)
                except threading.BrokenBarrierError:
                    pass
                client = getattr(self._local, "client", None)
                if client is not None:
                    client.close()
                close_old_connections()
                connection.close()

            for f in [pool.submit(close_thread) for _ in range(self.threads)]:
                f.result()
            pool.shutdown()
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None


def pending_count() -> int:
    return Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
