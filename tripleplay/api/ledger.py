"""A customer's money: funds, ledger entries, payments, credits, debits, refunds and holds.

Every money POST that creates something (payments, credits, debits, refunds, holds) needs an
``Idempotency-Key`` header (400 ``idempotency_key_required`` without one). A retry with the same key
and the same request answers exactly like the first call (201, the same entry or hold) and writes
nothing; the same key with a different request is 409 ``idempotency_key_reused``. Capturing and
releasing a hold are idempotent by the hold itself and need no key.
"""

import re
from datetime import datetime, timedelta
from typing import Literal

from ninja import Field, Header, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictInt

from tripleplay import clock
from tripleplay.api.pagination import BoundedPagination, CursorPagination
from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import (
    ActorOut,
    Id,
    IdParam,
    In,
    MoneyOut,
    OptionalText,
    PositiveMinor,
    RequiredText,
    minor,
    money,
)
from tripleplay.core.errors import InvalidInput
from tripleplay.customers import selectors as customer_selectors
from tripleplay.ledger import selectors, services
from tripleplay.ledger.models import EntryKind, HoldStatus
from tripleplay.money import Money

router = Router(tags=["ledger"])

MAX_HOLD_SECONDS = 30 * 24 * 3600


class IdempotencyKeyRequired(InvalidInput):
    code = "idempotency_key_required"
    http_status = 400


# Declared required in the OpenAPI document (api/openapi.py) with this pattern; parsed here so that a
# missing key is the 400 ``idempotency_key_required`` of this API, not a generic 422.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,126}[!-~])?$"  # 1..128 printable ASCII, no space at either end
IdempotencyKey = Header(None, alias="Idempotency-Key", description="required: one key per intended operation")


def _key(value: str | None) -> str:
    if value is None or not value.strip():
        raise IdempotencyKeyRequired("this request needs an Idempotency-Key header")
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, value):
        raise InvalidInput("the Idempotency-Key header must be 1..128 printable ASCII characters",
                           code="invalid_idempotency_key", details={"field": "Idempotency-Key"})
    return value


# -- schemas ----------------------------------------------------------------------------------------


# The sizes of the ledger's columns (ledger.models: LedgerEntry, Hold).
Reason = RequiredText(200)
Reference = OptionalText(100)
Description = OptionalText(200)


class PaymentIn(In):
    amount_minor: PositiveMinor
    method: Literal[services.PAYMENT_METHODS] = "manual"
    reference: Reference = Field("", description="external reference: receipt, bank reference")
    description: Description = ""


class CreditIn(In):
    amount_minor: PositiveMinor
    reason: Reason
    account_id: Id | None = None


class DebitIn(CreditIn):
    pass


class RefundIn(In):
    amount_minor: PositiveMinor
    reason: Reason
    reference: Reference = ""


class HoldIn(In):
    amount_minor: PositiveMinor
    expires_in_seconds: StrictInt | None = Field(None, gt=0, le=MAX_HOLD_SECONDS,
                                                 description="default 15 minutes")
    account_id: Id | None = None
    reference: Reference = ""
    description: Description = ""


class CaptureIn(In):
    amount_minor: PositiveMinor | None = Field(None, description="default: the whole hold; never more")


class ReleaseIn(In):
    reason: Description = ""


class FundsOut(Schema):
    customer_id: int
    currency: str
    balance: MoneyOut = Field(description="sum of all entries; negative when the customer owes")
    credit_limit: MoneyOut
    held: MoneyOut = Field(description="sum of active holds")
    available: MoneyOut = Field(description="balance + credit_limit - held")
    amount_owed: MoneyOut = Field(description="max(0, -balance)")


class EntryOut(Schema):
    id: int
    customer_id: int
    account_id: int | None
    kind: str
    amount: MoneyOut = Field(description="signed effect on the balance")
    balance_after: MoneyOut
    description: str
    reason: str
    source: str
    reference: str
    service_type: str
    idempotency_key: str
    created_at: datetime
    actor: ActorOut

    @staticmethod
    def resolve_amount(obj) -> dict:
        return minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_balance_after(obj) -> dict:
        return minor(obj.balance_after_minor, obj.currency)

    @staticmethod
    def resolve_actor(obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_name}


class HoldOut(Schema):
    id: int
    customer_id: int
    account_id: int | None
    amount: MoneyOut
    status: str
    reference: str
    description: str
    created_at: datetime
    expires_at: datetime
    settled_at: datetime | None
    captured: MoneyOut | None
    entry: EntryOut | None = Field(description="the charge, once captured")

    @staticmethod
    def resolve_amount(obj) -> dict:
        return minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_captured(obj) -> dict | None:
        return minor(obj.captured_minor, obj.currency)


# -- reads ------------------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/funds", response=FundsOut)
def get_funds(request, customer_id: IdParam):
    require(request, *READERS)
    customer = customer_selectors.customer(customer_id)
    view = selectors.funds_of(customer)
    return {
        "customer_id": customer.pk,
        "currency": customer.currency,
        "balance": money(view.balance),
        "credit_limit": money(view.credit_limit),
        "held": money(view.held),
        "available": money(view.available),
        "amount_owed": money(view.amount_owed),
    }


@router.get("/customers/{customer_id}/entries", response=list[EntryOut])
@paginate(CursorPagination, created="created_at")
def list_entries(request, customer_id: IdParam, kind: EntryKind | None = None):
    """Newest first."""
    require(request, *READERS)
    return selectors.entries_of(customer_selectors.customer(customer_id), kind=kind)


@router.get("/customers/{customer_id}/holds", response=list[HoldOut])
@paginate(BoundedPagination)
def list_holds(request, customer_id: IdParam, status: HoldStatus | None = None):
    """Newest first."""
    require(request, *READERS)
    return selectors.holds_of(customer_selectors.customer(customer_id), status=status).select_related("entry")


@router.get("/holds/{hold_id}", response=HoldOut)
def get_hold(request, hold_id: IdParam):
    require(request, *READERS)
    return selectors.hold(hold_id)


# -- entries ----------------------------------------------------------------------------------------


def _account(account_id: IdParam | None):
    return None if account_id is None else customer_selectors.account(account_id)


@router.post("/customers/{customer_id}/payments", response={201: EntryOut})
def record_payment(request, customer_id: IdParam, payload: PaymentIn, idempotency_key: str | None = IdempotencyKey):
    """A payment received. Accepted from closed customers too (settling their final balance)."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    customer = customer_selectors.customer(customer_id)
    return services.record_payment(actor, customer, Money(payload.amount_minor, customer.currency),
                                   idempotency_key=key, method=payload.method, reference=payload.reference,
                                   description=payload.description)


@router.post("/customers/{customer_id}/credits", response={201: EntryOut})
def post_credit(request, customer_id: IdParam, payload: CreditIn, idempotency_key: str | None = IdempotencyKey):
    """A manual credit (goodwill, compensation) with a reason."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    customer = customer_selectors.customer(customer_id)
    return services.post_credit(actor, customer, Money(payload.amount_minor, customer.currency), reason=payload.reason,
                                idempotency_key=key, account=_account(payload.account_id))


@router.post("/customers/{customer_id}/debits", response={201: EntryOut})
def post_debit(request, customer_id: IdParam, payload: DebitIn, idempotency_key: str | None = IdempotencyKey):
    """A manual debit (correction, one-off fee) with a reason; recorded as a negative adjustment."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    customer = customer_selectors.customer(customer_id)
    return services.post_debit(actor, customer, Money(payload.amount_minor, customer.currency), reason=payload.reason,
                               idempotency_key=key, account=_account(payload.account_id))


@router.post("/customers/{customer_id}/refunds", response={201: EntryOut})
def refund(request, customer_id: IdParam, payload: RefundIn, idempotency_key: str | None = IdempotencyKey):
    """Money paid back, only out of the customer's own money (balance minus holds)."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    customer = customer_selectors.customer(customer_id)
    return services.refund(actor, customer, Money(payload.amount_minor, customer.currency), reason=payload.reason,
                           idempotency_key=key, reference=payload.reference)


# -- holds ------------------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/holds", response={201: HoldOut})
def place_hold(request, customer_id: IdParam, payload: HoldIn, idempotency_key: str | None = IdempotencyKey):
    """Reserve available funds (409 insufficient_funds if they do not cover the amount)."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    customer = customer_selectors.customer(customer_id)
    expires_at = None
    if payload.expires_in_seconds is not None:
        expires_at = clock.now() + timedelta(seconds=payload.expires_in_seconds)
    hold = services.place_hold(actor, customer, Money(payload.amount_minor, customer.currency), idempotency_key=key,
                               expires_at=expires_at, account=_account(payload.account_id),
                               reference=payload.reference, description=payload.description)
    return selectors.hold(hold.pk)


@router.post("/holds/{hold_id}/capture", response=HoldOut)
def capture_hold(request, hold_id: IdParam, payload: CaptureIn | None = None):
    """Turn the hold into a charge of ``amount_minor`` (default all of it); the rest goes back.
    Capturing again with the same amount returns the same result. The body may be omitted."""
    actor = require(request, *OPERATIONS)
    hold = selectors.hold(hold_id)
    amount = None
    if payload is not None and payload.amount_minor is not None:
        amount = Money(payload.amount_minor, hold.currency)
    services.capture_hold(actor, hold, amount=amount)
    return selectors.hold(hold.pk)


@router.post("/holds/{hold_id}/release", response=HoldOut)
def release_hold(request, hold_id: IdParam, payload: ReleaseIn | None = None):
    """Give the held funds back. Idempotent; a captured hold cannot be released (409). The body may be omitted."""
    actor = require(request, *OPERATIONS)
    hold = services.release_hold(actor, selectors.hold(hold_id), reason=payload.reason if payload else "")
    return selectors.hold(hold.pk)
