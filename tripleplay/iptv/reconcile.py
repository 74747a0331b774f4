"""Reconciliation: read every subscriber on a platform, compare with billing's desired state, report
drift, and (when asked) repair it by enqueueing commands.

Drift kinds: ``missing`` (billing wants it, the platform lacks it), ``extra`` (the platform has a
subscriber billing wants deleted, or one of tripleplay's ids that billing does not know), ``foreign``
(an id outside tripleplay's namespace, or of an account that does not exist: reported, never
touched), ``wrong_packages``,
``wrong_status``. Subscribers with a command in flight are reported as ``pending`` and not repaired:
the queue is already on its way to the desired state.

Repair records what the platform actually has as the acknowledged state and enqueues a
``Reconcile/Repair`` command with billing's desired state; the worker then issues exactly the calls
that close the gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Account
from tripleplay.iptv.models import Platform, Subscriber
from tripleplay.iptv.platforms.base import SubscriberState
from tripleplay.iptv.provisioning import Desired, desired_states, enqueue_command, external_id_for


@dataclass
class DriftItem:
    kind: str
    subscriber_id: str
    account_id: int | None
    expected: dict | None
    actual: dict | None


@dataclass
class ReconcileReport:
    platform: str
    checked: int = 0
    in_sync: int = 0
    drift: list[DriftItem] = field(default_factory=list)
    repaired: int = 0

    def as_dict(self) -> dict:
        return {"platform": self.platform, "checked": self.checked, "in_sync": self.in_sync,
                "drift": [asdict(d) for d in self.drift], "repaired": self.repaired,
                "summary": self.summary()}

    def summary(self) -> dict:
        out: dict[str, int] = {}
        for d in self.drift:
            out[d.kind] = out.get(d.kind, 0) + 1
        return out


def _view(state) -> dict | None:
    if state is None:
        return None
    if isinstance(state, Desired):
        return {"exists": state.exists, "enabled": state.enabled, "packages": list(state.packages)}
    return {"exists": True, "enabled": state.enabled, "packages": sorted(state.packages)}


def reconcile(actor: Actor, platform: Platform, *, repair: bool = False) -> ReconcileReport:
    from tripleplay.iptv.worker import adapter_for_platform

    with adapter_for_platform(platform) as adapter:
        actual: dict[str, SubscriberState] = {s.subscriber_id: s for s in adapter.list_subscribers()}
    report = ReconcileReport(platform=platform.code)
    prefix = platform.options.get("subscriber_id_prefix", "tp-")
    known = {s.external_id: s for s in Subscriber.objects.filter(platform=platform).select_related("account__customer")}
    # tripleplay ids on the platform that billing has no Subscriber row for (e.g. restored backups).
    for ext_id in actual.keys() - known.keys():
        if not ext_id.startswith(prefix) or not ext_id[len(prefix):].isdigit():
            report.drift.append(DriftItem("foreign", ext_id, None, None, _view(actual[ext_id])))
            continue
        account = Account.objects.filter(pk=int(ext_id[len(prefix):])).select_related("customer").first()
        if account is None:
            # Accounts are never deleted, so tripleplay never made this one: someone else used our
            # namespace. Report it; an operator decides.
            report.drift.append(DriftItem("foreign", ext_id, None, None, _view(actual[ext_id])))
            continue
        known[ext_id] = None  # an account of ours without a row: compare below with a fresh row
    for ext_id, sub in sorted(known.items()):
        report.checked += 1
        if sub is None:
            account = Account.objects.select_related("customer").get(pk=int(ext_id[len(prefix):]))
        else:
            account = sub.account
        desired = desired_states(account).get(platform.pk, Desired(False, False, ()))
        have = actual.get(ext_id)
        kind = _drift_kind(desired, have)
        if kind is None:
            report.in_sync += 1
            continue
        if sub is not None and sub.pending_command_id is not None:
            report.drift.append(DriftItem("pending", ext_id, account.pk, _view(desired), _view(have)))
            continue
        report.drift.append(DriftItem(kind, ext_id, account.pk, _view(desired), _view(have)))
        if repair:
            report.repaired += _repair(actor, platform, account, sub, desired, have)
    if repair and report.repaired:
        record(actor, "platform.reconciled", platform, repaired=report.repaired, summary=report.summary())
    return report


def _drift_kind(desired: Desired, have: SubscriberState | None) -> str | None:
    if desired.exists and have is None:
        return "missing"
    if not desired.exists:
        return "extra" if have is not None else None
    if frozenset(desired.packages) != have.packages:
        return "wrong_packages"
    if desired.enabled != have.enabled:
        return "wrong_status"
    return None


def _acknowledge(sub: Subscriber, have: SubscriberState | None) -> None:
    sub.applied_exists = have is not None
    sub.applied_enabled = have.enabled if have else None
    sub.applied_packages = sorted(have.packages) if have else None


@transaction.atomic
def _repair(actor: Actor, platform: Platform, account: Account, sub: Subscriber | None, desired: Desired,
            have: SubscriberState | None) -> int:
    if sub is None:
        sub = Subscriber(account=account, platform=platform, external_id=external_id_for(account, platform),
                         updated_at=clock.now())
    else:
        sub = Subscriber.objects.select_for_update().get(pk=sub.pk)
        if sub.pending_command_id is not None:
            return 0  # a change arrived since we looked: the queue will converge
    _acknowledge(sub, have)
    sub.save()
    enqueue_command(actor, sub, desired, "Reconcile/Repair", account)
    return 1

