"""Every write of the vouchers app: batches (create, disable), redemptions, IVR clients.

Money goes through the ledger's one door: a redeemed voucher is a payment (``record_payment``,
method "voucher", D88), idempotent by the voucher (key ``voucher:<id>``), so it settles open invoices
and lifts a prepaid suspension exactly like cash at the counter.

Race safety (docs/vouchers.md): the voucher row is claimed by one conditional UPDATE
(``... SET redeemed_at = now WHERE id = %s AND redeemed_at IS NULL``, row count checked) in the same
transaction as the payment; of any number of concurrent redemptions exactly one matches the row, the
others wait for its lock (PostgreSQL) or the write lock (SQLite IMMEDIATE) and then match nothing.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor, ActorKind
from tripleplay.core.errors import Conflict, DomainError, IdempotencyConflict, InvalidInput, NotFound
from tripleplay.core.idempotency import check_key, fingerprint
from tripleplay.customers.models import Account, Customer, Status
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.vouchers import codes
from tripleplay.vouchers.models import FailedRedemption, IvrClient, Voucher, VoucherBatch
from tripleplay.vouchers.selectors import IVR_TOKEN_PREFIX_LEN

MAX_BATCH_COUNT = 10_000
MAX_VALUE_MINOR = 10**15  # the API's bound on every amount (api.schemas.MAX_MINOR)
MAX_VALIDITY = timedelta(days=3653)
IVR_TOKEN_PREFIX = "tpivr_"


class Channel:
    API = "api"
    IVR = "ivr"
    PORTAL = "portal"
    WEB = "web"


CHANNELS = (Channel.API, Channel.IVR, Channel.PORTAL, Channel.WEB)


class VoucherRefused(Conflict):
    """The code cannot be redeemed: not found, used, disabled, expired, wrong currency (codes.*)."""


class MalformedCode(InvalidInput):
    code = "voucher_code_malformed"


class RedemptionThrottled(DomainError):
    code = "throttled"
    http_status = 429


_MESSAGES = {
    codes.NOT_FOUND: "no voucher has this code",
    codes.USED: "this voucher has already been redeemed",
    codes.DISABLED: "this voucher's batch has been disabled",
    codes.EXPIRED: "this voucher has expired",
    codes.CURRENCY: "this voucher is in another currency than the customer's",
}


def hash_key() -> bytes:
    return hashlib.sha256(b"tripleplay.vouchers:" + settings.TRIPLEPLAY_VOUCHER_KEY.encode()).digest()


# -- batches ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintedCode:
    serial: int
    code: str  # the plain code: exists only in the response that created the batch

    @property
    def printable(self) -> str:
        return codes.printable(self.code)


@dataclass(frozen=True)
class CreatedBatch:
    batch: VoucherBatch
    codes: list[PrintedCode]


def create_batch(actor: Actor, *, name: str, value: Money, count: int, expires_at: datetime,
                 idempotency_key: str) -> CreatedBatch:
    """Generate ``count`` vouchers worth ``value`` each, valid until ``expires_at`` (exclusive).
    The plain codes are returned once and never stored. A retry with the same key is refused with
    409 ``voucher_batch_exists`` (the codes cannot be shown again: disable the batch and create
    another if they were lost)."""
    key = check_key(idempotency_key)
    name = v.text(name, "name", required=True, max_length=100)
    count = v.minor_amount(count, "count", minimum=1)
    if count > MAX_BATCH_COUNT:
        raise InvalidInput(f"count must be at most {MAX_BATCH_COUNT}", details={"field": "count"})
    if not 0 < value.minor <= MAX_VALUE_MINOR:
        raise InvalidInput(f"value must be positive and at most {MAX_VALUE_MINOR} minor units",
                           details={"field": "value_minor"})
    now = clock.now()
    if not now < expires_at <= now + MAX_VALIDITY:
        raise InvalidInput("the expiry must be in the future, at most ten years ahead", code="voucher_expiry_out_of_range",
                           details={"field": "expires_at"})
    fp = fingerprint(name=name, value=value.minor, currency=value.currency, count=count,
                     expires_at=expires_at.isoformat())
    _refuse_replay(key, fp)
    plain = _unique_codes(count)
    hkey = hash_key()
    try:
        with transaction.atomic():
            batch = VoucherBatch(name=name, currency=value.currency, value_minor=value.minor, count=count,
                                 expires_at=expires_at, created_at=now, idempotency_key=key, request_fingerprint=fp)
            batch.set_actor(actor)
            batch.save()
            Voucher.objects.bulk_create(
                [Voucher(batch=batch, serial=i, code_hash=codes.code_hash(code, hkey)) for i, code in enumerate(plain, 1)],
                batch_size=1000)
            record(actor, "voucher_batch.created", batch, name=name, count=count, value_minor=value.minor,
                   currency=value.currency, expires_at=expires_at.isoformat())
    except IntegrityError:
        _refuse_replay(key, fp)  # a concurrent request with the same key won
        raise
    return CreatedBatch(batch, [PrintedCode(i, code) for i, code in enumerate(plain, 1)])


def _refuse_replay(key: str, fp: str) -> None:
    existing = VoucherBatch.objects.filter(idempotency_key=key).first()
    if existing is None:
        return
    if existing.request_fingerprint != fp:
        raise IdempotencyConflict(f"idempotency key {key!r} was already used for a different request",
                                  details={"idempotency_key": key})
    raise Conflict("this batch was already created; its codes are shown only once", code="voucher_batch_exists",
                   details={"batch_id": existing.pk})


def _unique_codes(count: int) -> list[str]:
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(codes.new_code())
    return list(seen)


def disable_batch(actor: Actor, batch: VoucherBatch, *, reason: str = "") -> VoucherBatch:
    """Refuse every unredeemed code of the batch from now on (redeemed ones stay redeemed).
    Disabling a disabled batch changes nothing."""
    reason = v.text(reason, "reason")
    with transaction.atomic():
        now = clock.now()
        if VoucherBatch.objects.filter(pk=batch.pk, is_active=True).update(
                is_active=False, disabled_at=now, disabled_by=str(actor)[:150]) == 1:
            record(actor, "voucher_batch.disabled", batch, reason=reason)
    batch.refresh_from_db()
    return batch


# -- redemption ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redemption:
    voucher: Voucher
    entry: LedgerEntry


def client_scope(actor: Actor) -> str:
    """The throttle scope of whoever calls: one API client, one operator, one IVR client."""
    return f"{actor.kind}:{actor.ref}"[:80]


def redeem(actor: Actor, *, code: str, customer: Customer, account: Account | None = None,
           channel: str = Channel.API) -> Redemption:
    """Redeem one voucher for ``customer`` (optionally naming the account it was entered for).

    Throttled first, before the code is looked at, so that a throttled caller learns nothing: 429
    once the customer or the calling client has TRIPLEPLAY_VOUCHER_MAX_FAILURES refused attempts in
    the window. Every refusal (malformed, unknown, used, disabled, expired, other currency) counts."""
    v.choice(channel, "channel", CHANNELS)
    if account is not None and account.customer_id != customer.pk:
        raise InvalidInput("the account does not belong to this customer", code="account_mismatch")
    scopes = [f"customer:{customer.pk}", client_scope(actor)]
    _check_throttle(scopes)
    try:
        return _redeem(actor, code, customer, account, channel)
    except (VoucherRefused, MalformedCode) as e:
        _note_failure(scopes, e.code)
        raise


def _redeem(actor: Actor, code: str, customer: Customer, account: Account | None, channel: str) -> Redemption:
    plain = codes.normalize(code)
    if plain is None:
        raise MalformedCode(f"a voucher code is {codes.CODE_DIGITS} digits (spaces and dashes are ignored)",
                            details={"field": "code"})
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    now = clock.now()
    with transaction.atomic():
        voucher = Voucher.objects.select_related("batch").filter(code_hash=codes.code_hash(plain, hash_key())).first()
        state = None if voucher is None else codes.VoucherState(
            batch_active=voucher.batch.is_active, expires_at=voucher.batch.expires_at,
            currency=voucher.batch.currency, redeemed=voucher.redeemed_at is not None)
        why = codes.refusal(state, customer_currency=customer.currency, now=now)
        if why is None:
            # The claim: only the first of any concurrent redemptions matches the row.
            claimed = Voucher.objects.filter(pk=voucher.pk, redeemed_at__isnull=True).update(
                redeemed_at=now, customer=customer, account=account, channel=channel, redeemed_by=str(actor)[:200])
            if claimed != 1:
                why = codes.USED
                voucher.refresh_from_db()
        if why is not None:
            details = {}
            if why == codes.USED and voucher.customer_id == customer.pk:
                details = {"redeemed_by_this_customer": True, "redeemed_at": voucher.redeemed_at.isoformat()}
            raise VoucherRefused(_MESSAGES[why], code=why, details=details)
        batch = voucher.batch
        entry = record_payment(actor, customer, Money(batch.value_minor, batch.currency),
                               idempotency_key=f"voucher:{voucher.pk}", method="voucher",
                               reference=f"voucher {batch.pk}/{voucher.serial}",
                               description=f"Voucher {batch.name} #{voucher.serial}"[:200])
        Voucher.objects.filter(pk=voucher.pk).update(entry_id=entry.pk)
        voucher.refresh_from_db()
        record(actor, "voucher.redeemed", voucher, batch=batch.pk, serial=voucher.serial, customer=customer.pk,
               account=account.pk if account else None, channel=channel, entry=entry.pk,
               value_minor=batch.value_minor, currency=batch.currency)
        return Redemption(voucher, entry)


def _window() -> timedelta:
    return timedelta(seconds=settings.TRIPLEPLAY_VOUCHER_FAILURE_WINDOW_SECONDS)


def _check_throttle(scopes: list[str]) -> None:
    limit = settings.TRIPLEPLAY_VOUCHER_MAX_FAILURES
    now = clock.now()
    since = now - _window()
    for scope in scopes:
        recent = list(FailedRedemption.objects.filter(scope=scope, at__gt=since)
                      .order_by("-at").values_list("at", flat=True)[:limit])
        if len(recent) >= limit:
            # Free again when the oldest of the last ``limit`` failures leaves the window.
            wait = max(1, math.ceil((recent[-1] + _window() - now).total_seconds()))
            raise RedemptionThrottled(
                f"too many refused voucher attempts: try again in {wait} seconds",
                details={"retry_after_seconds": wait, "scope": scope.split(":", 1)[0]})


def _note_failure(scopes: list[str], reason: str) -> None:
    # Its own transaction, after the refused attempt rolled back: the failure must stay.
    now = clock.now()
    FailedRedemption.objects.bulk_create([FailedRedemption(scope=s, at=now, reason=reason[:40]) for s in scopes])


def purge_failures() -> int:
    """Delete the failed attempts that have left the window (they no longer count)."""
    deleted, _ = FailedRedemption.objects.filter(at__lte=clock.now() - _window()).delete()
    return deleted


# -- IVR ----------------------------------------------------------------------------------------------


def ivr_actor(client: IvrClient) -> Actor:
    return Actor(ActorKind.API_CLIENT, f"ivr-{client.pk}", f"ivr:{client.name}", None)


def redeem_by_phone(client: IvrClient, *, phone_number: str, code: str) -> Redemption:
    """An IVR call: the caller's phone number names the account (Account.phone_number, E.164 digits,
    a leading + ignored); the voucher credits that account's customer."""
    actor = ivr_actor(client)
    digits = phone_number[1:] if phone_number.startswith("+") else phone_number
    account = None
    if digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15:
        account = Account.objects.select_related("customer").filter(phone_number=digits).first()
    if account is None:
        scope = client_scope(actor)
        _check_throttle([scope])
        _note_failure([scope], "unknown_phone_number")
        raise NotFound("no account has this phone number", code="phone_number_not_found")
    return redeem(actor, code=code, customer=account.customer, account=account, channel=Channel.IVR)


def create_ivr_client(actor: Actor, *, name: str) -> tuple[IvrClient, str]:
    """A new IVR client and its token, which is never retrievable again."""
    name = v.text(name, "name", required=True, max_length=100)
    with transaction.atomic():
        if IvrClient.objects.filter(name=name).exists():
            raise Conflict(f"an IVR client named {name!r} exists", code="duplicate")
        token = IVR_TOKEN_PREFIX + secrets.token_urlsafe(32)
        client = IvrClient.objects.create(name=name, token_prefix=token[:IVR_TOKEN_PREFIX_LEN],
                                          token_hash=hashlib.sha256(token.encode()).hexdigest(), created_at=clock.now())
        record(actor, "ivr_client.created", client, name=name)
    return client, token


def revoke_ivr_client(actor: Actor, client: IvrClient) -> IvrClient:
    with transaction.atomic():
        if IvrClient.objects.filter(pk=client.pk, is_active=True).update(is_active=False) == 1:
            record(actor, "ivr_client.revoked", client)
    client.refresh_from_db()
    return client


def touch_ivr_client(client: IvrClient) -> None:
    now = clock.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        IvrClient.objects.filter(pk=client.pk).update(last_used_at=now)
