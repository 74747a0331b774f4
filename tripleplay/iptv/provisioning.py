"""From billing state to provisioning commands (the outbox writer) and operator actions on it.

``sync_account`` is called by the customers services inside their own transaction after every
change that matters to a platform; it computes the account's desired state on each platform from
billing's tables and writes one ``ProvisioningCommand`` per platform whose desired state changed.
If the billing transaction rolls back, so do the commands; if it commits, they cannot be lost.

Desired state (PortaBilling's documented semantics, docs/iptv.md):
- an account with a current IPTV main product exists on the platforms of its products' packages,
  enabled, with exactly those packages;
- changed to a product without IPTV: stays, disabled; account or customer blocked or suspended:
  stays, disabled; closed: deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import ServiceType
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict
from tripleplay.customers.models import Account, AccountProduct, AssignmentRole, Customer, Status
from tripleplay.customers.selectors import on_hold
from tripleplay.iptv.models import (
    CatalogItemStatus,
    CommandStatus,
    Platform,
    ProductPackage,
    ProvisioningCommand,
    ProvisioningStatus,
    Subscriber,
)
from tripleplay.iptv.platforms.base import DETAIL_FIELDS


def details_of(account: Account) -> tuple[str, ...]:
    """The account's details in DETAIL_FIELDS order, as sent to the platforms."""
    return (account.login or "", account.device_id or "", account.customer.name, account.phone_number or "")


@dataclass(frozen=True)
class Desired:
    exists: bool
    enabled: bool
    packages: tuple[str, ...]  # sorted external ids
    details: tuple[str, ...] = ()  # DETAIL_FIELDS values; () when the subscriber is not to exist

    def as_json(self, account: Account | None = None) -> dict:
        return {"exists": self.exists, "enabled": self.enabled, "packages": list(self.packages),
                **self.details_json()}

    def details_json(self) -> dict:
        values = self.details or ("",) * len(DETAIL_FIELDS)
        return dict(zip(DETAIL_FIELDS, values, strict=True))


def external_id_for(account: Account, platform: Platform) -> str:
    """tripleplay's key for the account on the platform: derived from the account id, so it never
    changes (Telebreeze, for one, requires that)."""
    return f"{platform.options.get('subscriber_id_prefix', 'tp-')}{account.pk}"


def current_assignments(account: Account):
    today = clock.today()
    return (AccountProduct.objects.filter(account=account, start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=today)).select_related("product"))


def desired_states(account: Account) -> dict[int, Desired]:
    """Desired state of ``account`` on every platform that concerns it, keyed by platform id."""
    assignments = list(current_assignments(account))
    main = next((a for a in assignments if a.role == AssignmentRole.MAIN), None)
    main_has_iptv = bool(main) and main.product.services.filter(service_type=ServiceType.IPTV).exists()
    links = (ProductPackage.objects.filter(product_id__in=[a.product_id for a in assignments])
             .filter(package__status=CatalogItemStatus.ACTIVE, package__platform__enabled=True)
             .values_list("package__platform_id", "package__external_id"))
    packages: dict[int, set[str]] = {}
    for platform_id, external_id in links:
        packages.setdefault(platform_id, set()).add(external_id)
    known = set(Subscriber.objects.filter(account=account).values_list("platform_id", flat=True))
    customer: Customer = account.customer
    # A vacation hold disables the account on its own, beside the statuses (D153): lifting a
    # suspension leaves a held account disabled, and a hold's end leaves a suspended one disabled.
    active = account.status == Status.ACTIVE and customer.status == Status.ACTIVE and not on_hold(account)
    closed = account.status == Status.CLOSED
    details = details_of(account)
    out = {}
    for platform_id in known | set(packages):
        pkgs = tuple(sorted(packages.get(platform_id, ())))
        if closed:
            out[platform_id] = Desired(False, False, ())
        else:
            # Without an IPTV main product the subscriber stays, disabled (PortaBilling's rule); so it
            # does while blocked or suspended. Packages stay as billing has them.
            out[platform_id] = Desired(True, active and main_has_iptv and platform_id in packages, pkgs, details)
    return out


def sync_account(actor: Actor, account: Account, event: str) -> list[ProvisioningCommand]:
    """Write the commands that bring every platform to billing's state for ``account``.
    Must run inside the billing change's transaction (it refuses to run outside one)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sync_account must run inside the billing change's transaction")
    commands = []
    states = desired_states(account)
    platforms = {p.pk: p for p in Platform.objects.filter(pk__in=states.keys())}
    for platform_id, desired in states.items():
        platform = platforms[platform_id]
        sub = Subscriber.objects.select_for_update().filter(account=account, platform=platform).first()
        if sub is None:
            if not desired.exists:
                continue  # never provisioned: nothing to delete
            sub = Subscriber.objects.create(account=account, platform=platform,
                                            external_id=external_id_for(account, platform),
                                            desired_exists=True, desired_enabled=desired.enabled,
                                            desired_packages=list(desired.packages),
                                            desired_details=desired.details_json(), updated_at=clock.now())
        elif _desired_of(sub) == desired and (
                (sub.pending_command_id is None and sub.status == ProvisioningStatus.OK
                 and _applied_of(sub) == desired)  # the platform already has exactly this
                or (sub.pending_command_id is not None and sub.status != ProvisioningStatus.FAILED)):  # queued
            continue
        commands.append(enqueue_command(actor, sub, desired, event, account))
    return commands


def sync_customer(actor: Actor, customer: Customer, event: str) -> list[ProvisioningCommand]:
    """A customer-level change (block, suspend, close ...) fans out to each of its accounts."""
    out = []
    for account in customer.accounts.order_by("id"):
        out += sync_account(actor, account, event)
    return out


def _details_tuple(details: dict | None) -> tuple[str, ...] | None:
    if not details:
        return None
    return tuple(str(details.get(f) or "") for f in DETAIL_FIELDS)


def _desired_of(sub: Subscriber) -> Desired:
    if not sub.desired_exists:
        return Desired(False, False, ())
    return Desired(True, sub.desired_enabled, tuple(sorted(sub.desired_packages)), _details_tuple(sub.desired_details))


def _applied_of(sub: Subscriber) -> Desired | None:
    if sub.applied_exists is None:
        return None
    if not sub.applied_exists:
        return Desired(False, False, ())
    # Details unknown (None: never acknowledged, e.g. provisioned before details were tracked) never
    # equal billing's, so the next change sends them once.
    return Desired(True, bool(sub.applied_enabled), tuple(sorted(sub.applied_packages or [])),
                   _details_tuple(sub.applied_details))


def enqueue_command(actor: Actor, sub: Subscriber, desired: Desired, event: str,
                    account: Account) -> ProvisioningCommand:
    """A provisioning command bringing ``sub`` to ``desired`` (it supersedes the pending older ones)."""
    now = clock.now()
    command = ProvisioningCommand.objects.create(
        subscriber=sub, event=event, desired=desired.as_json(account), idempotency_key=uuid.uuid4().hex,
        created_at=now, updated_at=now, actor_name=actor.name[:150],
    )
    # Older pending commands carried older states: the newest one supersedes them.
    ProvisioningCommand.objects.filter(subscriber=sub, status=CommandStatus.PENDING, id__lt=command.pk).update(
        status=CommandStatus.SUPERSEDED, finished_at=now, updated_at=now)
    sub.desired_exists, sub.desired_enabled = desired.exists, desired.enabled
    sub.desired_packages = list(desired.packages)
    sub.desired_details = desired.details_json() if desired.exists else {}
    sub.pending_command = command
    sub.attempts = 0
    sub.next_attempt_at = now
    sub.status = ProvisioningStatus.IN_PROGRESS
    sub.status_message = f"{event} queued"
    sub.updated_at = now
    sub.save(update_fields=["desired_exists", "desired_enabled", "desired_packages", "desired_details",
                            "pending_command", "attempts",
                            "next_attempt_at", "status", "status_message", "updated_at"])
    return command


# -- operator actions -------------------------------------------------------------------------------------


def retry_subscriber(actor: Actor, sub: Subscriber) -> Subscriber:
    """Try a failed (or waiting) subscriber again now, with billing's current desired state."""
    with transaction.atomic():
        sub = Subscriber.objects.select_for_update().select_related("account__customer").get(pk=sub.pk)
        if sub.pending_command_id is None and sub.status != ProvisioningStatus.FAILED:
            raise Conflict(f"subscriber {sub.external_id} has nothing to retry", code="nothing_to_retry")
        desired = desired_states(sub.account).get(sub.platform_id) or _desired_of(sub)
        enqueue_command(actor, sub, desired, "Operator/Retry", sub.account)
        record(actor, "provisioning.retried", sub)
        return sub


def cancel_subscriber_commands(actor: Actor, sub: Subscriber) -> Subscriber:
    """Drop what is queued for a subscriber. The platform may then differ from billing: the
    status says so until a new change or a reconciliation repairs it."""
    with transaction.atomic():
        sub = Subscriber.objects.select_for_update().get(pk=sub.pk)
        if sub.pending_command_id is None:
            raise Conflict(f"subscriber {sub.external_id} has no queued command", code="nothing_to_cancel")
        now = clock.now()
        ProvisioningCommand.objects.filter(subscriber=sub, status=CommandStatus.PENDING).update(
            status=CommandStatus.CANCELLED, finished_at=now, updated_at=now)
        ProvisioningCommand.objects.filter(pk=sub.pending_command_id, status=CommandStatus.FAILED).update(
            status=CommandStatus.CANCELLED, finished_at=now, updated_at=now)
        Subscriber.objects.filter(pk=sub.pk).update(
            pending_command=None, next_attempt_at=None, status=ProvisioningStatus.FAILED,
            status_message=f"cancelled by {actor.name}: the platform may differ from billing until reconciled",
            updated_at=now)
        record(actor, "provisioning.cancelled", sub)
        sub.refresh_from_db()
        return sub


def sync_dated_changes(actor: Actor, day=None) -> int:
    """Product changes dated in advance (a main product changed from next month, an add-on ending on
    a date) take effect on their day without a billing transaction of their own: resync the accounts
    whose assignments start or end on ``day`` (default today). Idempotent: an account already in step
    writes nothing."""
    day = day or clock.today()
    ids = (AccountProduct.objects.filter(Q(start_date=day) | Q(end_date=day))
           .values_list("account_id", flat=True).distinct())
    written = 0
    for account in Account.objects.filter(pk__in=list(ids)).select_related("customer").order_by("id"):
        with transaction.atomic():
            written += len(sync_account(actor, account, "Account/Product/Dated"))
    return written
