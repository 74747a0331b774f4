"""Pay-per-view for operators: purchases (list, one), refunds, revenue per content owner.

Reads for every role; a refund is for admins and finance. A refund credits a confirmed purchase's
charge back to the customer's balance, once: it is idempotent by the purchase itself (no
Idempotency-Key), and refunding again is 409 ``not_refundable``. The platforms' own calls
(authorize, confirm ...) are in tripleplay/api/ppv.py.
"""

from datetime import date, datetime
from typing import Annotated

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import StrictStr, model_validator

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import (
    Currency,
    Id,
    IdParam,
    In,
    Instant,
    IsoDate,
    MoneyOut,
    NonNegativeMinor,
    OptionalText,
    RequiredText,
    minor,
)
from tripleplay.core.errors import InvalidInput
from tripleplay.ppv import selectors, services
from tripleplay.ppv.models import PurchaseStatus

router = Router(tags=["ppv"])

MAX_REVENUE_DAYS = 366 * 5
FROM_DAY = Query(..., alias="from", description="first day, YYYY-MM-DD")
TO_DAY = Query(..., description="last day (included), YYYY-MM-DD")


def _money(amount_minor: int | None, currency: str) -> dict | None:
    return minor(amount_minor, currency) if currency else None


class PurchaseOut(Schema):
    id: int
    platform_id: int
    platform_code: str
    transaction_id: str = Field(description="the platform's id of the purchase")
    subscriber: str = Field(description="the subscriber id as the platform sent it")
    customer_id: int | None = Field(description="null when the subscriber was unknown")
    account_id: int | None
    event_id: int | None = Field(description="tripleplay's PPV event id (GET /iptv/ppv-events)")
    event_ref: str = Field(description="the event id as the platform sent it; '' for an explicit price")
    title: str
    content_owner: str
    status: str = Field(description="declined, authorized, confirmed, cancelled, expired or refunded")
    decline_code: str = Field(description="why it was declined; '' otherwise")
    price: MoneyOut | None = Field(description="the price authorized (null when declined before pricing)")
    charged: MoneyOut | None = Field(description="what confirm charged (null until confirmed)")
    authorized_at: datetime
    expires_at: datetime | None = Field(description="when an approved authorization lapses if not confirmed")
    finished_at: datetime | None = Field(description="declined, confirmed, cancelled or expired at")

    @staticmethod
    def resolve_platform_code(obj) -> str:
        return obj.platform.code

    @staticmethod
    def resolve_subscriber(obj) -> str:
        return obj.subscriber_ref

    @staticmethod
    def resolve_price(obj) -> dict | None:
        return _money(obj.price_minor, obj.currency)

    @staticmethod
    def resolve_charged(obj) -> dict | None:
        return _money(obj.charged_minor, obj.currency)


class EventOut(Schema):
    id: int
    external_id: str
    title: str
    content_owner: str
    price: MoneyOut
    starts_at: datetime | None
    ends_at: datetime | None
    status: str

    @staticmethod
    def resolve_price(obj) -> dict:
        return minor(obj.price_minor, obj.currency)


class PurchaseDetailOut(PurchaseOut):
    event: EventOut | None = Field(description="the PPV event bought, as it is now (null for an explicit price)")
    refunded: MoneyOut | None = Field(description="what the refund credited back (null unless refunded)")
    hold_id: int | None = Field(description="the ledger hold of the authorization (GET /holds/{id})")
    charge_entry_id: int | None = Field(description="the ledger entry of the charge")
    refund_entry_id: int | None = Field(description="the ledger entry of the refund (a credit)")
    refunded_at: datetime | None

    @staticmethod
    def resolve_refunded(obj) -> dict | None:
        return _money(obj.refund_entry.amount_minor, obj.currency) if obj.refund_entry_id else None

    @staticmethod
    def resolve_charge_entry_id(obj) -> int | None:
        return obj.charge_id

    @staticmethod
    def resolve_refunded_at(obj) -> datetime | None:
        return obj.refund_entry.created_at if obj.refund_entry_id else None


class PurchaseRefundIn(In):  # not RefundIn: the document has one schema per name (the ledger's)
    reason: Annotated[StrictStr, Field(min_length=1, max_length=150)]

    @model_validator(mode="after")
    def _not_blank(self):
        if not self.reason.strip():
            raise ValueError("reason must not be blank")
        return self


class PurchaseFilters(Schema):
    status: PurchaseStatus | None = None
    platform_id: IdParam | None = None
    customer_id: IdParam | None = None
    account_id: IdParam | None = None


class RevenueRowOut(Schema):
    content_owner: str = Field(description="'' for purchases without an event or an owner")
    currency: str
    confirmed: MoneyOut = Field(description="charged by purchases confirmed in the period")
    confirmed_count: int
    refunded: MoneyOut = Field(description="credited back by refunds made in the period")
    refunded_count: int
    net: MoneyOut = Field(description="confirmed - refunded")


class RevenueOut(Schema):
    from_: date = Field(alias="from")
    to: date
    rows: list[RevenueRowOut]


@router.get("/ppv/purchases", response=list[PurchaseOut])
@paginate(BoundedPagination)
def list_purchases(request, filters: Query[PurchaseFilters]):
    """Newest first; every authorization is a purchase row, declined ones included."""
    require(request, *READERS)
    return selectors.purchases(status=filters.status, platform_id=filters.platform_id,
                               customer_id=filters.customer_id, account_id=filters.account_id)


@router.get("/ppv/purchases/{purchase_id}", response=PurchaseDetailOut)
def get_purchase(request, purchase_id: IdParam):
    require(request, *READERS)
    return selectors.purchase(purchase_id)


@router.post("/ppv/purchases/{purchase_id}/refund", response=PurchaseDetailOut)
def refund_purchase(request, purchase_id: IdParam, payload: PurchaseRefundIn):
    """Credit a confirmed purchase's charge back to the customer (409 not_refundable otherwise)."""
    actor = require(request, *OPERATIONS)
    purchase = services.refund(actor, selectors.purchase(purchase_id), reason=payload.reason.strip())
    return selectors.purchase(purchase.pk)


@router.get("/ppv/revenue", response=RevenueOut, by_alias=True)
def revenue(request, from_: IsoDate = FROM_DAY, to: IsoDate = TO_DAY):
    """Per content owner and currency, for royalty reports: charges of purchases confirmed in the
    period minus refunds made in the period (days in the server's time zone)."""
    require(request, *READERS)
    if to < from_:
        raise InvalidInput("'to' must not be before 'from'", details={"field": "to"})
    if (to - from_).days > MAX_REVENUE_DAYS:
        raise InvalidInput(f"at most {MAX_REVENUE_DAYS} days at a time", details={"field": "to"})
    rows = [{"content_owner": r["content_owner"], "currency": r["currency"],
             "confirmed": minor(r["confirmed_minor"], r["currency"]), "confirmed_count": r["confirmed_count"],
             "refunded": minor(r["refunded_minor"], r["currency"]), "refunded_count": r["refunded_count"],
             "net": minor(r["net_minor"], r["currency"])}
            for r in selectors.revenue(from_, to)]
    return {"from": from_, "to": to, "rows": rows}


# The sizes of the event's columns (iptv.models.PpvEvent).
ExternalId = RequiredText(100)
Title = RequiredText(200)
ContentOwner = OptionalText(200)


class EventIn(In):
    platform_id: Id
    external_id: ExternalId
    title: Title
    price_minor: NonNegativeMinor
    currency: Currency
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    content_owner: ContentOwner = ""


@router.post("/ppv/events", response={201: EventOut})
@idempotent_create()
def create_event(request, payload: EventIn):
    """An operator's own PPV event on a platform; a later catalog import of that platform does not
    retire it (unless the platform lists the same id, which then becomes the platform's)."""
    from tripleplay.iptv import selectors as iptv_selectors

    actor = require(request, *ADMINS)
    fields = payload.model_dump()
    platform = iptv_selectors.platform(fields.pop("platform_id"))
    return Status(201, services.create_event(actor, platform, **fields))
