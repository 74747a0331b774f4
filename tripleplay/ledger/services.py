"""Every write to money. Only the ledger app writes funds, entries and holds and the audit events of
those writes (tripleplay/ledger/tests/test_one_door.py fails on SQL naming their tables, or an ORM
write of them, anywhere else). Its three doors:

- this module: one write per call (payments, charges, credits, refunds, holds);
- ledger/bulk.py: set-based writes for bulk rating and the invoice run (many customers' funds rows in
  one statement, entries by COPY), under the same rules, stated there;
- ledger/sql/*.sql: the same hold and capture as database functions, for the PPV hot path's one
  round trip (ppv/sql calls them; installed by migration 0004).

Rules (docs/concurrency.md):

- The Funds row is the lock point. Each money write is one conditional UPDATE of it
  (``WHERE balance + credit_limit - held >= amount`` where funds must cover the amount), with the
  row count checked, in the same transaction as the entry or hold row it explains. No read-then-write.
- Every write carries an idempotency key. A retry returns the first row and writes nothing; a
  concurrent duplicate loses on the unique index and then returns the winner's row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InsufficientFunds, InvalidInput
from tripleplay.core.idempotency import check_key, fingerprint, replay
from tripleplay.customers.models import Account, Customer, Status
from tripleplay.ledger.hooks import PAYMENT_LOCKING, PAYMENT_RECORDED, Payment
from tripleplay.ledger.models import EntryKind, Funds, Hold, HoldStatus, LedgerEntry
from tripleplay.money import Money

DEFAULT_HOLD_TTL = timedelta(minutes=15)

PAYMENT_METHODS = ("manual", "top_up", "cash", "card", "bank_transfer", "voucher")

# Kinds that a closed customer may still receive: settling the final balance.
_ALLOWED_WHEN_CLOSED = {EntryKind.PAYMENT, EntryKind.REFUND}

# Entry keys the ledger writes itself ("hold:<id>:capture"); a caller's key must not take one.
_RESERVED_KEY_PREFIX = "hold:"


def open_funds(customer: Customer, credit_limit: Money) -> Funds:
    """Create the customer's funds row (called by customer sign-up, in its transaction)."""
    return Funds.objects.create(
        customer=customer, currency=customer.currency, credit_limit_minor=credit_limit.minor
    )


def set_credit_limit(actor: Actor, customer: Customer, credit_limit: Money) -> None:
    _same_currency(customer, credit_limit)
    if credit_limit.minor < 0:
        raise InvalidInput("credit limit cannot be negative", details={"field": "credit_limit_minor"})
    Funds.objects.filter(customer_id=customer.pk).update(credit_limit_minor=credit_limit.minor)
    record(actor, "funds.credit_limit_set", customer, credit_limit_minor=credit_limit.minor)


def _same_currency(customer: Customer, amount: Money) -> None:
    if amount.currency != customer.currency:
        raise InvalidInput(
            f"amount is in {amount.currency} but the customer is billed in {customer.currency}",
            code="currency_mismatch",
        )


COVER_NONE = "none"  # the debit happens whatever the funds (usage that has happened must be billed)
COVER_AVAILABLE = "available"  # balance + credit limit - holds must cover it (spending)
COVER_BALANCE = "balance"  # the customer's own money, balance - holds, must cover it (refunds)


def _move_balance(customer_id: int, delta: int, *, cover: str, open_only: bool) -> int:
    """Apply ``delta`` to the balance in one UPDATE; returns the new balance.

    A covered debit only happens if the funds cover it (the WHERE clause), so two concurrent debits
    can never both spend the same money. ``open_only`` adds "and the customer is not closed" to the
    same WHERE clause, so a caller holding a stale Customer cannot write after a close."""
    qs = Funds.objects.filter(customer_id=customer_id)
    if open_only:
        qs = qs.filter(_customer_not_closed())
    if delta < 0 and cover == COVER_AVAILABLE:
        qs = qs.filter(balance_minor__gte=-delta - F("credit_limit_minor") + F("held_minor"))
    elif delta < 0 and cover == COVER_BALANCE:
        qs = qs.filter(balance_minor__gte=-delta + F("held_minor"))
    if qs.update(balance_minor=F("balance_minor") + delta) != 1:
        raise _refusal(customer_id, -delta)
    # Our own uncommitted write: we hold the row (PostgreSQL) or the database (SQLite IMMEDIATE).
    return Funds.objects.values_list("balance_minor", flat=True).get(customer_id=customer_id)


def _customer_not_closed() -> ~Exists:
    """NOT EXISTS (closed customer): a condition that keeps the UPDATE on the funds row itself.

    A join (``exclude(customer__status=...)``) would make Django write ``WHERE customer_id IN
    (SELECT ...)`` and move the funds condition into that subquery, which PostgreSQL does not
    re-check after waiting for the row lock: a read-then-write that double-spends (the concurrency
    tests caught exactly that)."""
    return ~Exists(Customer.objects.filter(pk=OuterRef("customer_id"), status=Status.CLOSED))


def _refusal(customer_id: int, amount_minor: int) -> Conflict:
    """Why a conditional UPDATE of the funds row matched nothing."""
    if Customer.objects.filter(pk=customer_id, status=Status.CLOSED).exists():
        return Conflict(f"customer #{customer_id} is closed", code="customer_closed")
    return InsufficientFunds(
        "available funds do not cover this amount",
        details={"amount_minor": amount_minor, "available_minor": _available(customer_id)},
    )


def _available(customer_id: int) -> int:
    f = Funds.objects.get(customer_id=customer_id)
    return f.available_minor


def post_entry(
    actor: Actor,
    customer: Customer,
    *,
    kind: str,
    amount: Money,
    idempotency_key: str,
    description: str,
    reason: str = "",
    source: str = "",
    reference: str = "",
    account: Account | None = None,
    service_type: str = "",
    cover: str = COVER_NONE,
    data: dict | None = None,
) -> LedgerEntry:
    """Append one entry and move the balance by ``amount`` (signed effect on the balance).

    ``cover`` makes a debit conditional on the funds (COVER_AVAILABLE for spending, COVER_BALANCE
    for refunds); with COVER_NONE a debit may take the balance below the floor."""
    key = check_key(idempotency_key)
    if key.startswith(_RESERVED_KEY_PREFIX):
        raise InvalidInput(f"idempotency keys starting with {_RESERVED_KEY_PREFIX!r} are reserved",
                           code="invalid_idempotency_key", details={"field": "idempotency_key"})
    kind = EntryKind(kind)
    _same_currency(customer, amount)
    fp = fingerprint(customer=customer.pk, kind=kind, amount=amount.minor, currency=amount.currency,
                     account=account.pk if account else None, source=source, reference=reference,
                     description=description, reason=reason)
    existing = replay(LedgerEntry.objects.filter(idempotency_key=key).first(), fp, key)
    if existing is not None:
        return existing
    if customer.status == Status.CLOSED and kind not in _ALLOWED_WHEN_CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed: only payments and refunds are accepted",
                       code="customer_closed")
    if account is not None and account.customer_id != customer.pk:
        raise InvalidInput("the account does not belong to this customer", code="account_mismatch")
    try:
        with transaction.atomic():
            balance_after = _move_balance(customer.pk, amount.minor, cover=cover,
                                          open_only=kind not in _ALLOWED_WHEN_CLOSED)
            entry = LedgerEntry(
                customer=customer, account=account, kind=kind, amount_minor=amount.minor,
                currency=amount.currency, balance_after_minor=balance_after, description=description[:200],
                reason=reason[:200], source=source, reference=reference[:100], service_type=service_type,
                idempotency_key=key, request_fingerprint=fp, created_at=clock.now(), data=data or {},
            )
            entry.set_actor(actor)
            entry.save()
            record(actor, f"ledger.{kind}", entry, customer=customer.pk, amount_minor=amount.minor,
                   currency=amount.currency, balance_after_minor=balance_after)
            return entry
    except IntegrityError:
        # A concurrent request with the same key won the unique index; ours rolled back whole.
        existing = replay(LedgerEntry.objects.filter(idempotency_key=key).first(), fp, key)
        if existing is None:
            raise
        return existing


def _positive(amount: Money, field: str = "amount_minor") -> Money:
    if amount.minor <= 0:
        raise InvalidInput("amount must be greater than zero", details={"field": field})
    return amount


def record_payment(actor: Actor, customer: Customer, amount: Money, *, idempotency_key: str,
                   method: str = "manual", reference: str = "", description: str = "") -> LedgerEntry:
    """A payment received (manual entry by an operator, or a top-up)."""
    _positive(amount)
    if method not in PAYMENT_METHODS:
        raise InvalidInput(f"unknown payment method {method!r}", details={"allowed": list(PAYMENT_METHODS)})
    # Reactions one floor up, through hooks (tripleplay.ledger.hooks) so the ledger imports nothing
    # above it. Handlers are registered by tripleplay.invoicing.apps and tripleplay.subscriptions.apps:
    # PAYMENT_LOCKING takes their locks before the funds UPDATE, keeping the lock order customer row
    # -> assignment rows -> funds row (docs/concurrency.md); PAYMENT_RECORDED charges the fees a
    # prepaid suspension left due and lifts it (docs/charging.md), then settles open invoices and lifts
    # a collections suspension (docs/invoicing.md). All in the payment's transaction.
    payment = Payment(actor, customer, amount)
    with transaction.atomic():
        PAYMENT_LOCKING(payment)
        payment.entry = post_entry(actor, customer, kind=EntryKind.PAYMENT, amount=amount,
                                   idempotency_key=idempotency_key,
                                   description=description or f"Payment ({method.replace('_', ' ')})", source=method,
                                   reference=reference)
        PAYMENT_RECORDED(payment)
    return payment.entry


def post_credit(actor: Actor, customer: Customer, amount: Money, *, reason: str, idempotency_key: str,
                account: Account | None = None) -> LedgerEntry:
    """A manual credit (goodwill, compensation): raises the balance; a reason is required."""
    _positive(amount)
    _reason(reason)
    return post_entry(actor, customer, kind=EntryKind.CREDIT, amount=amount, idempotency_key=idempotency_key,
                      description=f"Credit: {reason}", reason=reason, source="manual", account=account)


def post_debit(actor: Actor, customer: Customer, amount: Money, *, reason: str, idempotency_key: str,
               account: Account | None = None) -> LedgerEntry:
    """A manual debit (a correction, a one-off fee): lowers the balance; a reason is required.
    Recorded as a negative adjustment; it may take the balance below the floor, as an operator's
    correction must be possible."""
    _positive(amount)
    _reason(reason)
    return post_entry(actor, customer, kind=EntryKind.ADJUSTMENT, amount=-amount,
                      idempotency_key=idempotency_key, description=f"Debit: {reason}", reason=reason,
                      source="manual", account=account)


def post_charge(actor: Actor, customer: Customer, amount: Money, *, description: str, idempotency_key: str,
                account: Account | None = None, service_type: str = "", source: str = "",
                must_cover: bool = False, data: dict | None = None) -> LedgerEntry:
    """A charge for a service (subscription fee, usage, one-off). ``amount`` is positive.
    ``must_cover``: refuse (InsufficientFunds) unless available funds cover it."""
    _positive(amount)
    return post_entry(actor, customer, kind=EntryKind.CHARGE, amount=-amount, idempotency_key=idempotency_key,
                      description=description, account=account, service_type=service_type, source=source,
                      cover=COVER_AVAILABLE if must_cover else COVER_NONE, data=data)


def refund(actor: Actor, customer: Customer, amount: Money, *, reason: str, idempotency_key: str,
           reference: str = "") -> LedgerEntry:
    """Money paid back to the customer: lowers the balance. Only out of the customer's own money
    (balance minus holds), never out of the credit limit."""
    _positive(amount)
    _reason(reason)
    return post_entry(actor, customer, kind=EntryKind.REFUND, amount=-amount, idempotency_key=idempotency_key,
                      description=f"Refund: {reason}", reason=reason, reference=reference, source="manual",
                      cover=COVER_BALANCE)


def _reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a reason is required", details={"field": "reason"})


# -- holds ------------------------------------------------------------------------------------------


def place_hold(actor: Actor, customer: Customer, amount: Money, *, idempotency_key: str,
               expires_at: datetime | None = None, account: Account | None = None, reference: str = "",
               description: str = "", caller_dedupes: bool = False) -> Hold:
    """Reserve ``amount`` of the customer's available funds, or raise InsufficientFunds.

    The funds check and the reservation are one UPDATE ... WHERE available >= amount.
    ``caller_dedupes``: the caller runs this inside its own transaction and guarantees the key is
    new (PPV: the purchase row is unique per transaction id and commits with the hold); then the
    replay lookup and the savepoint are skipped (the hot path of an authorization), and a
    duplicate key's IntegrityError reaches the caller."""
    key = check_key(idempotency_key)
    _positive(amount)
    _same_currency(customer, amount)
    # expires_at is not part of the request's identity: a retry computes it anew from "now".
    fp = fingerprint(customer=customer.pk, amount=amount.minor, currency=amount.currency,
                     account=account.pk if account else None, reference=reference, description=description)
    if not caller_dedupes:
        existing = replay(Hold.objects.filter(idempotency_key=key).first(), fp, key)
        if existing is not None:
            return existing
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    now = clock.now()
    expires_at = expires_at or now + DEFAULT_HOLD_TTL
    if expires_at <= now:
        raise InvalidInput("a hold must expire in the future", details={"field": "expires_at"})
    try:
        hold = None
        # The refusal is raised after the block: with savepoint=False an exception crossing the
        # block would doom the caller's transaction, and a refusal is an answer, not a failure.
        with transaction.atomic(savepoint=not caller_dedupes):
            available_after = _reserve(customer.pk, amount.minor)
            if available_after is not None:
                hold = Hold.objects.create(
                    customer=customer, account=account, amount_minor=amount.minor, currency=amount.currency,
                    idempotency_key=key, request_fingerprint=fp, reference=reference[:100],
                    description=description[:200], created_at=now, expires_at=expires_at,
                )
                record(actor, "hold.placed", hold, customer=customer.pk, amount_minor=amount.minor)
                hold.available_after_minor = available_after  # not a field: the caller's answer, no re-read
        if hold is None:
            raise _refusal(customer.pk, amount.minor)
        return hold
    except IntegrityError:
        if caller_dedupes:
            raise
        existing = replay(Hold.objects.filter(idempotency_key=key).first(), fp, key)
        if existing is None:
            raise
        return existing


def _funds_table() -> str:
    return connection.ops.quote_name(Funds._meta.db_table)


def _reserve(customer_id: int, amount_minor: int) -> int | None:
    """The hold's funds check and reservation: the same single conditional UPDATE as before (funds
    cover it, the customer is not closed, both in the WHERE clause of the funds row itself), written
    as SQL so that RETURNING hands back the available funds after it (None: nothing matched).
    RETURNING saves the re-read, and raw SQL the ORM's compilation on the hottest path."""
    customers = connection.ops.quote_name(Customer._meta.db_table)
    funds = _funds_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {funds} SET held_minor = held_minor + %s"
            f" WHERE customer_id = %s AND balance_minor >= %s - credit_limit_minor + held_minor"
            f" AND NOT EXISTS (SELECT 1 FROM {customers} c WHERE c.id = {funds}.customer_id AND c.status = %s)"
            f" RETURNING balance_minor + credit_limit_minor - held_minor",
            [amount_minor, customer_id, amount_minor, Status.CLOSED],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _settle_capture(customer_id: int, held_minor: int, captured_minor: int) -> tuple[int, int]:
    """Release the whole reservation and take only what is captured, in one UPDATE; returns the
    balance and the available funds after it (RETURNING: no re-read of the row we just wrote)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_funds_table()} SET held_minor = held_minor - %s, balance_minor = balance_minor - %s"
            f" WHERE customer_id = %s RETURNING balance_minor, balance_minor + credit_limit_minor - held_minor",
            [held_minor, captured_minor, customer_id],
        )
        balance_after, available_after = cursor.fetchone()
    return balance_after, available_after


class HoldNotActive(Conflict):
    code = "hold_not_active"


class HoldExpired(Conflict):
    code = "hold_expired"


def capture_hold(actor: Actor, hold: Hold, *, amount: Money | None = None, description: str = "",
                 service_type: str = "", source: str = "hold", data: dict | None = None) -> LedgerEntry:
    """Turn an active hold into a charge of ``amount`` (default: all of it; never more).

    Idempotent: capturing a captured hold again returns its entry. A hold past its expiry is
    expired on the spot and refused (HoldExpired)."""
    amount_minor = hold.amount_minor if amount is None else amount.minor
    if amount is not None and amount.currency != hold.currency:
        raise InvalidInput("capture currency differs from the hold's", code="currency_mismatch")
    if amount_minor <= 0 or amount_minor > hold.amount_minor:
        raise InvalidInput("capture amount must be above zero and at most the held amount",
                           details={"held_minor": hold.amount_minor, "amount_minor": amount_minor})
    now = clock.now()
    # No savepoint: a database error here fails the caller's transaction as a whole, as it should.
    with transaction.atomic(savepoint=False):
        claimed = Hold.objects.filter(pk=hold.pk, status=HoldStatus.ACTIVE, expires_at__gt=now).update(
            status=HoldStatus.CAPTURED, captured_minor=amount_minor, settled_at=now
        )
        if claimed == 1:
            # Release the whole reservation and take only what is captured, in one UPDATE.
            balance_after, available_after = _settle_capture(hold.customer_id, hold.amount_minor, amount_minor)
            entry = LedgerEntry(
                customer_id=hold.customer_id, account_id=hold.account_id, kind=EntryKind.CHARGE,
                amount_minor=-amount_minor, currency=hold.currency, balance_after_minor=balance_after,
                description=(description or hold.description or f"Hold #{hold.pk} captured")[:200],
                source=source, reference=hold.reference, service_type=service_type,
                idempotency_key=f"hold:{hold.pk}:capture",
                request_fingerprint=fingerprint(hold=hold.pk, amount=amount_minor),
                created_at=now, data=data or {},
            )
            entry.set_actor(actor)
            entry.save()
            Hold.objects.filter(pk=hold.pk).update(entry=entry)
            record(actor, "hold.captured", hold, amount_minor=amount_minor, entry=entry.pk)
            hold.status, hold.captured_minor, hold.settled_at, hold.entry = HoldStatus.CAPTURED, amount_minor, now, entry
            entry.available_after_minor = available_after  # not a field: the caller's answer, no re-read
            return entry
    hold.refresh_from_db()
    if hold.status == HoldStatus.CAPTURED:
        if hold.captured_minor != amount_minor:
            raise HoldNotActive(f"hold #{hold.pk} was already captured for a different amount",
                                details={"captured_minor": hold.captured_minor})
        return hold.entry
    if hold.status == HoldStatus.ACTIVE:  # past its expiry, not yet swept
        expire_hold(hold)
        raise HoldExpired(f"hold #{hold.pk} expired at {hold.expires_at.isoformat()}")
    if hold.status == HoldStatus.EXPIRED:
        raise HoldExpired(f"hold #{hold.pk} expired at {hold.expires_at.isoformat()}")
    raise HoldNotActive(f"hold #{hold.pk} is {hold.status}", details={"status": hold.status})


def _end_hold(hold: Hold, status: str, *, only_if_expired: bool) -> bool:
    """Move an active hold to released/expired and give its amount back; False if it was not active."""
    now = clock.now()
    with transaction.atomic():
        qs = Hold.objects.filter(pk=hold.pk, status=HoldStatus.ACTIVE)
        if only_if_expired:
            qs = qs.filter(expires_at__lte=now)
        if qs.update(status=status, settled_at=now) != 1:
            return False
        Funds.objects.filter(customer_id=hold.customer_id).update(held_minor=F("held_minor") - hold.amount_minor)
        return True


def release_hold(actor: Actor, hold: Hold, *, reason: str = "") -> Hold:
    """Give a hold's funds back (purchase cancelled). Idempotent; a captured hold cannot be released."""
    if _end_hold(hold, HoldStatus.RELEASED, only_if_expired=False):
        record(actor, "hold.released", hold, reason=reason)
    hold.refresh_from_db()
    if hold.status == HoldStatus.CAPTURED:
        raise HoldNotActive(f"hold #{hold.pk} was captured and cannot be released", details={"status": hold.status})
    return hold


def expire_hold(hold: Hold) -> bool:
    ended = _end_hold(hold, HoldStatus.EXPIRED, only_if_expired=True)
    if ended:
        record(Actor.system("hold-expiry"), "hold.expired", hold)
    return ended


def expire_holds(limit: int = 1000) -> int:
    """Release every active hold past its expiry (a scheduled job; safe to run anywhere, any time)."""
    due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=clock.now()).order_by("expires_at")[:limit]
    return sum(1 for hold in list(due) if expire_hold(hold))
