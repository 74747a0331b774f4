"""The provisioning worker: drains the outbox into the platforms.

Claim (one short transaction): subscribers with a due pending command and no live lease, oldest
first, ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (so any number of workers on any number
of machines share the queue; on SQLite, whose transactions are IMMEDIATE, claims are serialized);
each claimed row gets a lease (owner + expiry). A worker that dies loses its leases when they
expire and another worker takes the rows over.

Process (no transaction held during HTTP): bring the platform from the last acknowledged state to
the command's desired state with the fewest calls (create / set packages / enable or disable /
delete), each call with an idempotency key derived from the command, so a retry is recognisable.
Only the newest command of a subscriber is ever applied: older ones were superseded when it was
written, so per-account order is kept by construction.

Finish (one short transaction): record what the platform acknowledged; OK, or RETRY with
exponential backoff and jitter for transient failures, or FAILED (kept with request and response)
for permanent ones. A command that arrived meanwhile stays pending and is processed next.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.iptv.hooks import PROVISIONING_FAILED
from tripleplay.iptv.models import (
    CommandStatus,
    Platform,
    ProvisioningCommand,
    ProvisioningStatus,
    Subscriber,
)
from tripleplay.iptv.platforms.base import (
    DETAIL_FIELDS,
    Adapter,
    AlreadyExists,
    PermanentError,
    PlatformConfig,
    SubscriberNotFound,
    SubscriberSpec,
    TransientError,
)
from tripleplay.iptv.platforms.registry import adapter_for
from tripleplay.iptv.secrets import decrypt

log = logging.getLogger("tripleplay.worker")


@dataclass
class RetryPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 50  # then FAILED, even for "transient" errors: something is really wrong

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        exp = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=exp * rng.uniform(0.5, 1.5))  # jitter spreads retries of a burst


def platform_config(platform: Platform) -> PlatformConfig:
    return PlatformConfig(base_url=platform.base_url, username=platform.username,
                          secret=decrypt(platform.secret_encrypted), timeout_seconds=float(platform.timeout_seconds),
                          options=platform.options or {})


def adapter_for_platform(platform: Platform) -> Adapter:
    """The platform's adapter; a configuration that cannot work (unknown kind, a secret that does not
    decrypt with the current key) is a PermanentError: retrying will not help, an operator must."""
    try:
        return adapter_for(platform.kind, platform_config(platform))
    except ValueError as e:
        raise PermanentError(f"platform {platform.code} is misconfigured: {e}", code="configuration") from e


def claim(owner: str, limit: int, lease: timedelta) -> list[int]:
    now = clock.now()
    with transaction.atomic():
        due = (Subscriber.objects.select_for_update(skip_locked=True)
               .filter(pending_command__isnull=False, next_attempt_at__lte=now, platform__enabled=True)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .order_by("next_attempt_at", "id"))
        if connection.features.has_select_for_update_of:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            # A lease that expired with an owner means that worker died (or stalled) mid-call: what the
            # platform has is unknown now, so forget the acknowledged state and re-establish it.
            Subscriber.objects.filter(id__in=ids).exclude(lease_owner="").update(
                applied_exists=None, applied_enabled=None, applied_packages=None)
            Subscriber.objects.filter(id__in=ids).update(lease_owner=owner, lease_until=now + lease,
                                                         status=ProvisioningStatus.IN_PROGRESS)
    return ids


@dataclass
class Outcome:
    ok: bool = False
    transient: bool = False
    error: str = ""
    applied: dict = field(default_factory=dict)


def acknowledged_state(sub: Subscriber) -> dict:
    return {"exists": sub.applied_exists, "enabled": sub.applied_enabled,
            "packages": sorted(sub.applied_packages) if sub.applied_packages is not None else None,
            "details": dict(sub.applied_details) if sub.applied_details is not None else None}


def apply_desired(adapter: Adapter, sub: Subscriber, command: ProvisioningCommand, state: dict) -> dict:
    """Make the platform match ``command.desired``, starting from the acknowledged ``state``, which
    is updated in place: a field becomes unknown (None) before the call that changes it, and known
    again when the platform acknowledges. A call that fails may still have been applied (a lost
    answer), so its field stays unknown and the next attempt sends it again."""
    d = command.desired
    key = command.idempotency_key
    want_packages = sorted(d["packages"])
    want_details = {f: str(d.get(f) or "") for f in DETAIL_FIELDS}
    if not d["exists"]:
        if state["exists"] is not False:
            state.update(exists=None, enabled=None, packages=None, details=None)
            try:
                adapter.delete_subscriber(sub.external_id, idempotency_key=f"{key}:delete")
            except SubscriberNotFound:
                pass
            state.update(exists=False, enabled=None, packages=None, details=None)
        return state
    spec = SubscriberSpec(subscriber_id=sub.external_id, enabled=d["enabled"], packages=frozenset(want_packages),
                          account_number=sub.external_id, **want_details)
    if state["exists"] is not True:
        state.update(exists=None, enabled=None, packages=None, details=None)
        try:
            adapter.create_subscriber(spec, idempotency_key=f"{key}:create")
            state.update(exists=True, enabled=d["enabled"], packages=want_packages, details=want_details)
        except AlreadyExists:
            actual = adapter.get_subscriber(sub.external_id)
            if actual is None:
                raise TransientError("platform says the subscriber exists but cannot find it") from None
            state.update(exists=True, enabled=actual.enabled, packages=sorted(actual.packages))
    if state.get("details") != want_details:
        state["details"] = None
        adapter.update_details(spec, idempotency_key=f"{key}:details")
        state["details"] = want_details
    if state["packages"] != want_packages:
        state["packages"] = None
        adapter.set_packages(sub.external_id, frozenset(want_packages), idempotency_key=f"{key}:packages")
        state["packages"] = want_packages
    if state["enabled"] != d["enabled"]:
        step = "enable" if d["enabled"] else "disable"
        state["enabled"] = None
        adapter.set_enabled(sub.external_id, d["enabled"], idempotency_key=f"{key}:{step}")
        state["enabled"] = d["enabled"]
    return state


class Worker:
    def __init__(self, *, name: str | None = None, batch_size: int = 50, threads: int = 4,
                 lease_seconds: int = 120, poll_seconds: float = 0.5, retry: RetryPolicy | None = None,
                 seed: int | None = None):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid_suffix()}"
        self.batch_size = batch_size
        self.threads = threads
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self._local = threading.local()
        self.processed = 0

    # -- loop -----------------------------------------------------------------------------------------
    def run(self, *, until_idle: bool = False, max_seconds: float | None = None, on_batch=None) -> int:
        """Process until stopped (SIGTERM sets stop_event), or until nothing is due (until_idle)."""
        started = clock.now()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="provision") as pool:
            self._pool = pool
            try:
                self._loop(started, until_idle, max_seconds, on_batch)
            finally:
                self._close_pool_connections(pool)
        return self.processed

    def _close_pool_connections(self, pool: ThreadPoolExecutor) -> None:
        """Each pool thread closes its own database connection (Django's are per thread): one task
        per thread, held at a barrier so that no thread takes two."""
        if self.threads <= 1:
            return
        barrier = threading.Barrier(self.threads)

        def close():
            try:
                barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            connection.close()

        for future in [pool.submit(close) for _ in range(self.threads)]:
            future.result()

    def _loop(self, started, until_idle: bool, max_seconds: float | None, on_batch) -> None:
        while not self.stop_event.is_set():
            done = self.run_once()
            if on_batch:
                on_batch(done)
            if max_seconds is not None and (clock.now() - started).total_seconds() > max_seconds:
                break
            if done == 0:
                if until_idle and not self._anything_pending_soon():
                    break
                self.stop_event.wait(self.poll_seconds)

    def _anything_pending_soon(self) -> bool:
        return Subscriber.objects.filter(pending_command__isnull=False, next_attempt_at__isnull=False,
                                         platform__enabled=True).exists()

    def run_once(self) -> int:
        ids = claim(self.name, self.batch_size, self.lease)
        if not ids:
            return 0
        subs = list(Subscriber.objects.select_related("platform", "pending_command").filter(id__in=ids).order_by("id"))
        pool = getattr(self, "_pool", None)
        if pool is None or self.threads <= 1:
            for sub in subs:
                self.process(sub)
        else:
            list(pool.map(self._process_in_thread, subs))
        self.processed += len(ids)
        return len(ids)

    def _process_in_thread(self, sub: Subscriber) -> None:
        try:
            self.process(sub)
        finally:
            close_old_connections()

    # -- one subscriber ---------------------------------------------------------------------------------
    def _adapter(self, platform: Platform) -> Adapter:
        cache = getattr(self._local, "adapters", None)
        if cache is None:
            cache = self._local.adapters = {}
        key = (platform.pk, platform.base_url, platform.kind, platform.secret_encrypted, str(platform.timeout_seconds))
        if key not in cache:
            cache[key] = adapter_for_platform(platform)
        return cache[key]

    def process(self, sub: Subscriber | int) -> None:
        if isinstance(sub, int):
            sub = Subscriber.objects.select_related("platform", "pending_command").get(pk=sub)
        sid = sub.pk
        command = sub.pending_command
        if command is None or sub.lease_owner != self.name:
            return
        # Late in a long batch the lease may be close to running out: leave the row to be claimed
        # again rather than risk two workers calling the platform for one subscriber at once.
        margin = timedelta(seconds=min(3 * float(sub.platform.timeout_seconds) + 1, self.lease.total_seconds() / 2))
        if sub.lease_until is None or sub.lease_until - clock.now() < margin:
            Subscriber.objects.filter(pk=sid, lease_owner=self.name).update(lease_owner="", lease_until=None)
            return
        state = acknowledged_state(sub)
        outcome = Outcome(applied=state)
        adapter = None
        try:
            adapter = self._adapter(sub.platform)
            adapter.exchanges = []
            apply_desired(adapter, sub, command, state)
            outcome.ok = True
        except TransientError as e:
            outcome.transient, outcome.error = True, str(e)
        except PermanentError as e:
            outcome.error = f"{type(e).__name__}: {e}"
        except Exception as e:  # an adapter bug: retry (it may be data-dependent), bounded by max_attempts
            log.exception("provisioning %s crashed", sub)
            outcome.transient, outcome.error = True, f"internal error: {type(e).__name__}: {e}"
        self.finish(sub, command, outcome, adapter.exchanges if adapter is not None else [])

    def finish(self, sub: Subscriber, command: ProvisioningCommand, outcome: Outcome, exchanges: list) -> None:
        """Record the outcome in one short transaction of three statements (this is the hot path)."""
        now = clock.now()
        applied = outcome.applied or {}
        attempts = sub.attempts + 1
        with transaction.atomic():
            # Only while we still hold the lease: if it was taken over, the new owner re-establishes
            # the platform's state and our results are not ours to record.
            if not Subscriber.objects.filter(pk=sub.pk, lease_owner=self.name).update(
                    applied_exists=applied.get("exists"), applied_enabled=applied.get("enabled"),
                    applied_packages=applied.get("packages"), applied_details=applied.get("details"),
                    lease_owner="", lease_until=None, updated_at=now):
                return
            # The queue fields change only if no newer command arrived meanwhile.
            still_pending = Subscriber.objects.filter(pk=sub.pk, pending_command_id=command.pk)
            cmd = dict(attempts=command.attempts + 1, exchanges=exchanges[-20:], last_error=outcome.error[:4000],
                       updated_at=now)
            if outcome.ok:
                still_pending.update(pending_command=None, next_attempt_at=None, attempts=0,
                                     status=ProvisioningStatus.OK, status_message="")
                cmd.update(status=CommandStatus.DONE, finished_at=now)
            elif outcome.transient and attempts < self.retry.max_attempts:
                still_pending.update(attempts=attempts, next_attempt_at=now + self.retry.delay(attempts, self.rng),
                                     status=ProvisioningStatus.RETRY,
                                     status_message=f"attempt {attempts}: {outcome.error}"[:500])
            elif still_pending.update(attempts=attempts, next_attempt_at=None, status=ProvisioningStatus.FAILED,
                                      status_message=outcome.error[:500]):
                cmd.update(status=CommandStatus.FAILED, finished_at=now)
            ProvisioningCommand.objects.filter(pk=command.pk).update(**cmd)
            if cmd.get("status") == CommandStatus.FAILED:
                PROVISIONING_FAILED(sub, command, outcome.error)


def uuid_suffix() -> str:
    import uuid

    return uuid.uuid4().hex[:6]
