"""Vouchers (top-up cards): batches, redemptions on behalf of a customer, the IVR's redemption by
phone number, and the IVR clients (docs/vouchers.md).

- Creating a batch returns its codes once (201); they are stored only as keyed hashes. It needs an
  ``Idempotency-Key``: a retry is 409 ``voucher_batch_exists`` (the codes are never shown again).
- A redemption is idempotent by the code itself: a second one is 409 ``voucher_used``
  (``details.redeemed_by_this_customer`` when it was this customer's). Refusals: 409
  ``voucher_not_found``, ``voucher_used``, ``voucher_disabled``, ``voucher_expired``,
  ``voucher_currency_mismatch``; 422 ``voucher_code_malformed``; 429 ``throttled`` after too many
  refusals of one customer or one client (``details.retry_after_seconds``), before the code is read.
- The IVR endpoint authenticates with an IVR client's token (``Bearer tpivr_...``), which opens no
  other endpoint; API tokens and sessions do not open it either.
"""

from datetime import datetime

from ninja import Field, Router, Schema
from ninja.errors import AuthenticationError
from ninja.pagination import paginate
from ninja.security import HttpBearer
from pydantic import AwareDatetime, StrictInt

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.ledger import IdempotencyKey, IdempotencyKeyRequired
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import Currency, Id, IdParam, In, MoneyOut, PositiveMinor, RequiredText, Text, minor
from tripleplay.customers import selectors as customer_selectors
from tripleplay.money import Money
from tripleplay.vouchers import selectors, services

router = Router(tags=["vouchers"])

Code = Field(max_length=64, description="the 20 digits; spaces and dashes are ignored")


class BatchIn(In):
    name: RequiredText(100)
    value_minor: PositiveMinor
    currency: Currency = Field(description="ISO 4217; customers in another currency cannot redeem")
    count: StrictInt = Field(ge=1, le=services.MAX_BATCH_COUNT)
    expires_at: AwareDatetime = Field(description="ISO 8601 with an offset; the codes work until then (exclusive)")


class DisableIn(In):
    reason: Text = Field("", max_length=200)


class BatchOut(Schema):
    id: int
    name: str
    value: MoneyOut
    count: int
    redeemed_count: int
    expires_at: datetime
    is_active: bool
    created_at: datetime
    disabled_at: datetime | None

    @staticmethod
    def resolve_value(obj) -> dict:
        return minor(obj.value_minor, obj.currency)


class CodeOut(Schema):
    serial: int
    code: str = Field(description="20 digits, shown only in this response")
    printable: str = Field(description="the code in groups of four, as printed")


class BatchCreatedOut(Schema):
    batch: BatchOut
    codes: list[CodeOut]


class RedeemIn(In):
    code: Text = Code
    account_id: Id | None = None


class IvrRedeemIn(In):
    phone_number: Text = Field(max_length=32, description="the caller's number, E.164 digits, a leading + allowed")
    code: Text = Code


class RedemptionOut(Schema):
    voucher_id: int
    batch_id: int
    serial: int
    customer_id: int
    account_id: int | None
    channel: str
    redeemed_at: datetime
    entry_id: int | None
    amount: MoneyOut

    @staticmethod
    def resolve_voucher_id(obj) -> int:
        return obj.pk

    @staticmethod
    def resolve_amount(obj) -> dict:
        return minor(obj.batch.value_minor, obj.batch.currency)


class RedeemedOut(Schema):
    voucher_id: int
    batch_id: int
    serial: int
    customer_id: int
    account_id: int | None
    channel: str
    redeemed_at: datetime
    entry_id: int = Field(description="the voucher payment's ledger entry")
    amount: MoneyOut
    balance_after: MoneyOut = Field(description="the customer's balance after the payment")


class IvrClientIn(In):
    name: RequiredText(100)


class IvrClientOut(Schema):
    id: int
    name: str
    token_prefix: str
    is_active: bool
    created_at: datetime
    last_used_at: datetime | None


class IvrClientCreatedOut(IvrClientOut):
    token: str = Field(description="shown once, never retrievable again: configure it on the IVR now")


def _key(value: str | None) -> str:
    if value is None or not value.strip():
        raise IdempotencyKeyRequired("this request needs an Idempotency-Key header")
    return value


def _redeemed(redemption: services.Redemption) -> dict:
    voucher, entry = redemption.voucher, redemption.entry
    return {"voucher_id": voucher.pk, "batch_id": voucher.batch_id, "serial": voucher.serial,
            "customer_id": voucher.customer_id, "account_id": voucher.account_id, "channel": voucher.channel,
            "redeemed_at": voucher.redeemed_at, "entry_id": voucher.entry_id,
            "amount": minor(entry.amount_minor, entry.currency),
            "balance_after": minor(entry.balance_after_minor, entry.currency)}


# -- batches ------------------------------------------------------------------------------------------


@router.post("/voucher-batches", response={201: BatchCreatedOut})
def create_batch(request, payload: BatchIn, idempotency_key: str | None = IdempotencyKey):
    """Generate a batch; the codes are in this response only (print or export them now)."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    created = services.create_batch(actor, name=payload.name, value=Money(payload.value_minor, payload.currency),
                                    count=payload.count, expires_at=payload.expires_at, idempotency_key=key)
    return {"batch": selectors.batch(created.batch.pk),
                 "codes": [{"serial": c.serial, "code": c.code, "printable": c.printable} for c in created.codes]}


@router.get("/voucher-batches", response=list[BatchOut])
@paginate(BoundedPagination)
def list_batches(request):
    """Newest first."""
    require(request, *READERS)
    return selectors.batches()


@router.get("/voucher-batches/{batch_id}", response=BatchOut)
def get_batch(request, batch_id: IdParam):
    require(request, *READERS)
    return selectors.batch(batch_id)


@router.post("/voucher-batches/{batch_id}/disable", response=BatchOut)
def disable_batch(request, batch_id: IdParam, payload: DisableIn | None = None):
    """Refuse the batch's unredeemed codes from now on. Disabling again changes nothing."""
    actor = require(request, *OPERATIONS)
    services.disable_batch(actor, selectors.batch(batch_id), reason=payload.reason if payload else "")
    return selectors.batch(batch_id)


@router.get("/voucher-redemptions", response=list[RedemptionOut])
@paginate(BoundedPagination)
def list_redemptions(request, batch_id: IdParam | None = None, customer_id: IdParam | None = None):
    """Redeemed vouchers, newest first."""
    require(request, *READERS)
    return selectors.redemptions(batch_id=batch_id, customer_id=customer_id)


# -- redemption ---------------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/voucher-redemptions", response={201: RedeemedOut})
@idempotent_create()
def redeem(request, customer_id: IdParam, payload: RedeemIn):
    """Redeem a voucher on behalf of the customer (a support call, a shop): a voucher payment."""
    actor = require(request, *READERS)
    customer = customer_selectors.customer(customer_id)
    account = None if payload.account_id is None else customer_selectors.account(payload.account_id)
    redemption = services.redeem(actor, code=payload.code, customer=customer, account=account,
                                 channel=services.Channel.API)
    return _redeemed(redemption)


class IvrToken(HttpBearer):
    """An IVR client's token (tpivr_...), created by an admin; it opens only the IVR endpoint."""

    def authenticate(self, request, token: str):
        client = selectors.ivr_client_for_token(token.strip())
        if client is None:
            raise AuthenticationError(message="invalid or revoked IVR token")
        services.touch_ivr_client(client)
        request.ivr_client = client
        return client


@router.post("/ivr/voucher-redemptions", response={201: RedeemedOut}, auth=[IvrToken()])
@idempotent_create()
def ivr_redeem(request, payload: IvrRedeemIn):
    """An IVR platform redeems the code a caller keyed in, for the account of the calling number."""
    return _redeemed(services.redeem_by_phone(request.ivr_client, phone_number=payload.phone_number,
                                                   code=payload.code))


# -- IVR clients --------------------------------------------------------------------------------------


@router.get("/ivr-clients", response=list[IvrClientOut])
@paginate(BoundedPagination)
def list_ivr_clients(request):
    require(request, *ADMINS)
    return selectors.ivr_clients()


@router.post("/ivr-clients", response={201: IvrClientCreatedOut})
@idempotent_create(secret=True)
def create_ivr_client(request, payload: IvrClientIn):
    """A new IVR client; its token is in this response only."""
    actor = require(request, *ADMINS)
    client, token = services.create_ivr_client(actor, name=payload.name)
    return IvrClientOut.from_orm(client).dict() | {"token": token}


@router.post("/ivr-clients/{client_id}/revoke", response=IvrClientOut)
def revoke_ivr_client(request, client_id: IdParam):
    actor = require(request, *ADMINS)
    return services.revoke_ivr_client(actor, selectors.ivr_client(client_id))
