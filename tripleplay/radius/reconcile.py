"""Reconciliation of the sessions billing believes active with the NAS's own view (docs/radius.md,
"Reconciliation", D129-D130), the job ``radius-reconcile`` and ``tripleplay radius-reconcile``.

For each enabled NAS with a ``session_source`` (radius.session_sources), read its sessions (no
transaction open), then in one transaction per NAS:

- a session billing has active, the NAS does not list, and not heard of since ``grace`` before the
  read (a Start racing the read, or one delayed by Acct-Delay-Time, is left alone): closed in billing,
  terminate cause ``reconciled``, charged for the usage last reported and its reservation released
  (charging.stopped, as an Accounting-Stop would), its pending commands cancelled;
- a session the NAS lists that billing does not have (a lost Accounting-Start) or has stopped: recorded
  (uncharged: billing never reserved for it) and sent a Disconnect-Request through the outbox;
- a session both have whose account or customer is barred: a Disconnect-Request (once: the outbox keeps
  one pending per session);
- a session both have whose rate in force differs from the one it should have (a product change
  effective today, a lost CoA): a CoA-Request with the desired rate.

The rules are the pure function ``plan``; what it decides is written by ``reconcile_nas``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Account, Status
from tripleplay.radius import charging, selectors, services, session_sources
from tripleplay.radius.models import CommandStatus, NasClient, NasCommand, NetworkSession, SessionStatus
from tripleplay.radius.session_sources import NasSession, SourceError

log = logging.getLogger("tripleplay.radius.reconcile")
REASON = "reconciled"


@dataclass(frozen=True)
class Billed:
    """What billing knows of one of the NAS's sessions, for ``plan``."""

    session_id: str
    status: str  # active | stopped
    updated_at: datetime
    allowed: bool  # the account and its customer are active
    desired_rate: tuple[int, int] | None


@dataclass
class Plan:
    close: list[str] = field(default_factory=list)  # billing's, gone from the NAS
    record_and_disconnect: list[str] = field(default_factory=list)  # the NAS's, unknown to billing
    disconnect: list[str] = field(default_factory=list)  # both have it, billing says it must end
    change_rate: list[str] = field(default_factory=list)  # both have it, wrong rate in force


def plan(billed: list[Billed], on_nas: list[NasSession], read_at: datetime, grace: timedelta) -> Plan:
    """Pure: what to repair, from billing's rows for the NAS and the NAS's list read at ``read_at``."""
    out = Plan()
    nas_ids = {s.session_id: s for s in on_nas}
    known = {b.session_id: b for b in billed}
    for b in billed:
        if b.status == SessionStatus.ACTIVE and b.session_id not in nas_ids and b.updated_at < read_at - grace:
            out.close.append(b.session_id)
    for s in on_nas:
        b = known.get(s.session_id)
        if b is None:
            out.record_and_disconnect.append(s.session_id)
        elif b.status != SessionStatus.ACTIVE or not b.allowed:
            out.disconnect.append(s.session_id)
        elif s.rate is not None and b.desired_rate is not None and s.rate != b.desired_rate:
            out.change_rate.append(s.session_id)
    return out


def _billed(nas: NasClient, session_ids: set[str]) -> list[Billed]:
    rows = (NetworkSession.objects.select_related("nas", "account__customer").filter(nas=nas)
            .filter(Q(status=SessionStatus.ACTIVE) | Q(acct_session_id__in=session_ids)))
    out = []
    for s in rows:
        # A session of no account (a username no login has) is not allowed either: nobody pays for it.
        allowed = s.account is not None and s.account.status == Status.ACTIVE and s.account.customer.status == Status.ACTIVE
        out.append(Billed(s.acct_session_id, s.status, s.updated_at, allowed,
                          selectors.desired_rate(s) if s.status == SessionStatus.ACTIVE else None))
    return out


def reconcile_nas(actor: Actor, nas: NasClient, *, grace: timedelta = timedelta(seconds=60),
                  timeout: float = 5.0) -> dict[str, int]:
    read_at = clock.now()
    on_nas = session_sources.read(nas.session_source, timeout)  # SourceError: nothing changes
    by_id = {s.session_id: s for s in on_nas}
    with transaction.atomic():
        NasClient.objects.select_for_update().get(pk=nas.pk)  # one reconciliation of a NAS at a time
        todo = plan(_billed(nas, set(by_id)), on_nas, read_at, grace)
        now = clock.now()
        rows = lambda ids: NetworkSession.objects.filter(nas=nas, acct_session_id__in=ids)  # noqa: E731
        for session in rows(todo.close).select_for_update().order_by("id"):
            charging.take_window_reports(session)  # the fast path's last reports first (D295)
            session.status, session.stopped_at, session.updated_at = SessionStatus.STOPPED, now, now
            session.terminate_cause = REASON
            session.save(update_fields=["status", "stopped_at", "updated_at", "terminate_cause"])
            charging.stopped(session)  # the usage last reported; the reservation released
            NasCommand.objects.filter(session=session, status=CommandStatus.PENDING).update(
                status=CommandStatus.CANCELLED, finished_at=now, next_attempt_at=None,
                last_error="the session was reconciled: gone from the NAS", updated_at=now)
        for session_id in todo.record_and_disconnect:
            s = by_id[session_id]
            account = Account.objects.filter(login=s.username).only("id", "customer_id").first() if s.username else None
            try:
                with transaction.atomic():  # a Start arriving meanwhile made the row: leave it to accounting
                    NetworkSession.objects.create(
                        nas=nas, acct_session_id=session_id, username=s.username, account=account,
                        customer_id=account.customer_id if account else None,
                        framed_ip=s.framed_ip, input_octets=s.input_octets, output_octets=s.output_octets,
                        session_time_seconds=s.session_time, started_at=now - timedelta(seconds=s.session_time),
                        updated_at=now)
            except IntegrityError:
                continue
        services.enqueue_disconnects(actor, rows(todo.record_and_disconnect),
                                     "Reconcile: on the NAS, unknown to billing")
        services.enqueue_disconnects(actor, rows(todo.disconnect), "Reconcile: barred or ended in billing")
        services.enqueue_coas(actor, rows(todo.change_rate), "Reconcile: rate in force differs")
        counts = {"on_nas": len(on_nas), "closed": len(todo.close), "unknown": len(todo.record_and_disconnect),
                  "disconnect": len(todo.disconnect), "rate": len(todo.change_rate)}
        if any(counts[k] for k in ("closed", "unknown", "disconnect", "rate")):
            record(actor, "radius.reconciled", nas, **counts)
    return counts


def reconcile_all(actor: Actor | None = None, **kwargs) -> str:
    """Every enabled NAS with a session source; one unreadable NAS does not stop the others."""
    actor = actor or Actor.system("radius-reconcile")
    parts = []
    for nas in NasClient.objects.filter(enabled=True).exclude(session_source="").order_by("name"):
        try:
            c = reconcile_nas(actor, nas, **kwargs)
        except SourceError as e:
            log.warning("reconcile %s: %s", nas.name, e)
            parts.append(f"{nas.name}: unreadable ({e})")
            continue
        parts.append(f"{nas.name}: {c['on_nas']} on the NAS, closed {c['closed']}, unknown {c['unknown']}, "
                     f"disconnect {c['disconnect']}, rate {c['rate']}")
    return "; ".join(parts) or "no NAS with a session source"
