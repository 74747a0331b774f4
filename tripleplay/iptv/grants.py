"""PPV events sold by tripleplay (the subscriber portal), told to the platform: the grants outbox.

``enqueue_grant`` runs inside the purchase's transaction (ppv.services.buy_in_portal): the charge and
the grant row commit together or not at all. ``deliver_grants`` is a WorkerLoop step of every
``tripleplay worker``: it claims due grants (``SKIP LOCKED`` on PostgreSQL, the claim moving
``next_attempt_at`` forward as a lease), calls the adapter's ``grant_ppv_event`` with the grant's own
idempotency key and no transaction open, then records DONE, a retry with backoff and jitter
(transient errors) or FAILED for an operator (permanent errors, or too many attempts). A grant waits
until the platform has acknowledged its subscriber (``applied_exists``): a purchase right after the
account's creation waits for the create. docs/ppv.md, D122.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.db import connection, transaction

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict
from tripleplay.customers.models import Account
from tripleplay.iptv.models import GrantStatus, PpvEvent, PpvGrant, Subscriber
from tripleplay.iptv.platforms.base import PermanentError, TransientError
from tripleplay.iptv.platforms.registry import adapters
from tripleplay.iptv.worker import RetryPolicy, adapter_for_platform

log = logging.getLogger("tripleplay.grants")

LEASE = timedelta(minutes=2)
_rng = random.Random()


def platform_grants(platform) -> bool:
    """Whether the platform can be told to grant an event tripleplay sold (its adapter, so configured)."""
    cls = adapters().get(platform.kind)
    return bool(cls and platform.enabled and cls.grants_ppv_events(platform.options or {}))


def enqueue_grant(actor: Actor, account: Account, event: PpvEvent, *, purchase_ref: str) -> tuple[PpvGrant, bool]:
    """The grant of ``event`` to ``account``'s subscriber on the event's platform, once per purchase
    (a retry of the purchase finds the row; ``created`` False). Must run inside the purchase's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_grant must run inside the purchase's transaction")
    sub = Subscriber.objects.filter(account=account, platform_id=event.platform_id).first()
    if sub is None or not sub.desired_exists:
        raise Conflict("the account has no subscriber on this event's platform", code="not_on_platform")
    key = f"ppv-grant:{event.platform_id}:{purchase_ref}"
    now = clock.now()
    return PpvGrant.objects.get_or_create(
        idempotency_key=key, defaults=dict(subscriber=sub, event=event, purchase_ref=purchase_ref, created_at=now,
                                           next_attempt_at=now, actor_name=actor.name[:150]))


def claim(limit: int) -> list[int]:
    now = clock.now()
    with transaction.atomic():
        due = (PpvGrant.objects.select_for_update(skip_locked=True)
               .filter(status=GrantStatus.PENDING, next_attempt_at__lte=now)
               # only once the platform has acknowledged the subscriber (its create may still be queued):
               # the protocol replays a requestId's first answer, so a grant sent too early would stay refused
               .filter(subscriber__applied_exists=True).order_by("next_attempt_at", "id"))
        if connection.features.has_select_for_update_of:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:  # the lease: nobody else claims them until it runs out (a dead worker's come back then)
            PpvGrant.objects.filter(id__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def deliver(grant: PpvGrant, retry: RetryPolicy | None = None) -> str:
    """One attempt; returns the grant's new status."""
    retry = retry or RetryPolicy()
    sub = grant.subscriber
    adapter = None
    error, transient = "", False
    try:
        adapter = adapter_for_platform(sub.platform)
        adapter.exchanges = []
        adapter.grant_ppv_event(sub.external_id, grant.event.external_id, purchase_id=grant.purchase_ref,
                                idempotency_key=grant.idempotency_key)
    except TransientError as e:
        error, transient = str(e), True
    except PermanentError as e:
        error = f"{type(e).__name__}: {e}"
    except Exception as e:  # an adapter bug: retried, bounded by max_attempts
        log.exception("PPV grant %s crashed", grant.pk)
        error, transient = f"internal error: {type(e).__name__}: {e}", True
    finally:
        if adapter is not None:
            adapter.close()
    now = clock.now()
    attempts = grant.attempts + 1
    fields = dict(attempts=attempts, last_error=error[:4000],
                  exchanges=(adapter.exchanges if adapter is not None else [])[-20:])
    if not error:
        fields.update(status=GrantStatus.DONE, finished_at=now, next_attempt_at=None)
    elif transient and attempts < retry.max_attempts:
        fields.update(next_attempt_at=now + retry.delay(attempts, _rng))
    else:
        fields.update(status=GrantStatus.FAILED, finished_at=now, next_attempt_at=None)
    PpvGrant.objects.filter(pk=grant.pk, status=GrantStatus.PENDING).update(**fields)
    return fields.get("status", GrantStatus.PENDING)


def deliver_grants(limit: int = 20) -> int:
    """The WorkerLoop step: deliver up to ``limit`` due grants; returns how many were tried."""
    ids = claim(limit)
    for grant in PpvGrant.objects.select_related("subscriber__platform", "event").filter(id__in=ids).order_by("id"):
        deliver(grant)
    return len(ids)


def retry_grant(actor: Actor, grant: PpvGrant) -> PpvGrant:
    """An operator sends a FAILED grant again (after fixing the platform)."""
    from tripleplay.audit.services import record

    with transaction.atomic():
        if not PpvGrant.objects.filter(pk=grant.pk, status=GrantStatus.FAILED).update(
                status=GrantStatus.PENDING, attempts=0, next_attempt_at=clock.now(), finished_at=None):
            raise Conflict("only a failed grant can be retried", code="nothing_to_retry")
        record(actor, "ppv_grant.retried", grant)
    grant.refresh_from_db()
    return grant
