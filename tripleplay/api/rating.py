"""Usage records (xDRs) through the REST API: a batch intake, the error list, re-rating after a fix.

POST /xdrs takes up to MAX_BATCH records in one JSON body and answers one result per record, in order:
``rated`` (with its cost), ``error`` (stored with a reason, re-rated by POST /xdrs/rerate after a fix),
``duplicate`` (that id was already received from this source: nothing is written again, so a retried
batch is harmless), or ``rejected`` (no usable id: not stored). A malformed body (not an object, no
records, too many, an element that is not an object, an unknown field) is a 422 and nothing is written.
The records go through the same bulk path as ``tripleplay import-xdrs`` (docs/rating.md).
"""

from datetime import datetime, time
from typing import Literal

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination, CursorPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import (
    MAX_INT32,
    MAX_MICROS,
    REQUIRED_TEXT_PATTERN,
    Id,
    IdParam,
    In,
    MoneyOut,
    StorableObject,
    minor,
)
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.core.validation import STORABLE_TEXT_PATTERN
from tripleplay.rating import selectors
from tripleplay.rating import services as rating_services
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.services import rerate_errors

router = Router(tags=["rating"])

MAX_BATCH = 1000
Service = Literal["voice", "data", "messaging"]


class XdrBatchIn(In):
    source: str = Field("api", min_length=1, max_length=64, strict=True, pattern=STORABLE_TEXT_PATTERN,
                        description="where the records come from; ids are unique per source")
    service_type: Service | None = Field(None, description="service of records that carry none")
    records: list[StorableObject] = Field(..., min_length=1, max_length=MAX_BATCH, description=(
        "usage records: id, service_type, started_at (ISO 8601 with a zone); voice: caller, callee, "
        "duration_seconds; data: login, bytes; messaging: caller, destination, count (default 1)"))


class XdrResultOut(Schema):
    id: str = Field(description="the record's external id as sent ('' when it had none)")
    status: Literal["rated", "error", "duplicate", "rejected"]
    xdr_id: int | None = Field(description="the stored xDR (for a duplicate: the one stored first)")
    cost: MoneyOut | None = Field(description="what the record costs (rated only; 0 when free)")
    error_code: str
    error_reason: str


class XdrBatchOut(Schema):
    counts: dict[str, int]
    results: list[XdrResultOut]


class RerateIn(In):
    source: str | None = Field(None, min_length=1, max_length=64, strict=True, pattern=STORABLE_TEXT_PATTERN)


class XdrOut(Schema):
    id: int
    source: str
    external_id: str
    service_type: str
    account_id: int | None
    status: str
    error_code: str
    error_reason: str
    started_at: datetime | None
    cost: MoneyOut | None
    billed_quantity: int
    allowance_used: int
    offpeak: bool
    raw: dict

    @staticmethod
    def resolve_cost(obj) -> dict | None:
        return minor(obj.cost_minor, obj.currency) if obj.cost_minor is not None else None


@router.post("/xdrs", response=XdrBatchOut, summary="Rate a batch of usage records")
@idempotent_create()
def post_xdrs(request, payload: XdrBatchIn):
    actor = require(request, *OPERATIONS)
    result = rate_bulk(actor, payload.records, source=payload.source, service_type=payload.service_type,
                       collect=True)
    return {"counts": result.counts, "results": [
        {"id": r.external_id, "status": r.status, "xdr_id": r.xdr_id,
         "cost": minor(r.cost_minor, r.currency) if r.cost_minor is not None else None,
         "error_code": r.error_code, "error_reason": r.error_reason} for r in result.results]}


@router.get("/xdrs/errors", response=list[XdrOut], summary="Usage records waiting in error")
@paginate(CursorPagination, created="received_at", ascending=True)
def list_errors(request, source: str | None = Query(None, max_length=64, pattern=STORABLE_TEXT_PATTERN)):
    require(request, *READERS)
    return selectors.xdrs_in_error(source)


@router.post("/xdrs/rerate", response=dict[str, int], summary="Rate the records in error again (after a fix)")
def rerate(request, payload: RerateIn):
    actor = require(request, *OPERATIONS)
    return rerate_errors(actor, source=payload.source)


# -- rate tables ------------------------------------------------------------------------------------------
# Reads for every role; writes for admins (the catalog's rule). Prices are integer micro-units of the
# currency (0.015 = 15000, docs/money.md); quantities and increments are in the service's base unit
# (voice: seconds, data: KB, messaging: messages, docs/rating.md).


class RateOut(Schema):
    prefix: str
    description: str
    price_per_unit_micros: int
    connection_fee_micros: int
    first_increment: int
    next_increment: int
    offpeak_price_per_unit_micros: int | None
    offpeak_connection_fee_micros: int | None
    next_price_per_unit_micros: int | None
    offpeak_next_price_per_unit_micros: int | None


class RateTableOut(Schema):
    id: int
    product_id: int
    service_type: str
    currency: str
    name: str
    peak_start: str | None
    peak_end: str | None
    peak_weekdays: str
    time_zone: str
    rates: list[RateOut]

    @staticmethod
    def resolve_peak_start(obj) -> str | None:
        return obj.peak_start.strftime("%H:%M") if obj.peak_start else None

    @staticmethod
    def resolve_peak_end(obj) -> str | None:
        return obj.peak_end.strftime("%H:%M") if obj.peak_end else None

    @staticmethod
    def resolve_rates(obj) -> list:
        return sorted(obj.rates.all(), key=lambda r: r.prefix)


class RateTableIn(In):
    product_id: Id
    service_type: Service
    name: str = Field(..., min_length=1, max_length=200, strict=True, pattern=REQUIRED_TEXT_PATTERN)


class RateIn(In):
    prefix: str = Field("", max_length=32, strict=True, description="digits; '' is the table's default")
    price_per_unit_micros: int = Field(..., ge=0, le=MAX_MICROS, strict=True,
                                       description="the first interval's price per minute / MB / message")
    connection_fee_micros: int = Field(0, ge=0, le=MAX_MICROS, strict=True)
    first_increment: int = Field(1, ge=1, le=MAX_INT32, strict=True)
    next_increment: int = Field(1, ge=1, le=MAX_INT32, strict=True)
    offpeak_price_per_unit_micros: int | None = Field(None, ge=0, le=MAX_MICROS, strict=True)
    offpeak_connection_fee_micros: int | None = Field(None, ge=0, le=MAX_MICROS, strict=True)
    next_price_per_unit_micros: int | None = Field(None, ge=0, le=MAX_MICROS, strict=True,
                                                   description="every next interval's price; null: as the first")
    offpeak_next_price_per_unit_micros: int | None = Field(None, ge=0, le=MAX_MICROS, strict=True,
                                                           description="null: the peak next price")
    description: str = Field("", max_length=200, strict=True, pattern=STORABLE_TEXT_PATTERN)


class PeakWindowIn(In):
    start: time | None = Field(None, description="local HH:MM; start and end both null remove the window")
    end: time | None = None
    weekdays: str = Field("12345", min_length=1, max_length=7, strict=True, description="ISO digits, 1 = Monday")
    time_zone: str = Field("", max_length=64, strict=True, description="'' = the installation's")


@router.get("/rate-tables", response=list[RateTableOut], summary="Rate tables with their rates")
@paginate(BoundedPagination)
def list_rate_tables(request, product_id: IdParam | None = None):
    require(request, *READERS)
    return selectors.rate_tables(product_id)


@router.post("/rate-tables", response={201: RateTableOut}, summary="Create a product's rate table for a service")
@idempotent_create()
def create_rate_table(request, payload: RateTableIn):
    actor = require(request, *ADMINS)
    table = rating_services.create_rate_table(actor, catalog_selectors.product(payload.product_id),
                                              service_type=payload.service_type, name=payload.name)
    return 201, selectors.rate_table(table.pk)


@router.get("/rate-tables/{table_id}", response=RateTableOut)
def get_rate_table(request, table_id: IdParam):
    require(request, *READERS)
    return selectors.rate_table(table_id)


@router.put("/rate-tables/{table_id}/rates", response=RateTableOut, summary="Add or replace the rate of a prefix")
def put_rate(request, table_id: IdParam, payload: RateIn):
    actor = require(request, *ADMINS)
    rating_services.set_rate(actor, selectors.rate_table(table_id), **payload.model_dump())
    return selectors.rate_table(table_id)


@router.put("/rate-tables/{table_id}/peak-window", response=RateTableOut, summary="Set or remove the peak window")
def put_peak_window(request, table_id: IdParam, payload: PeakWindowIn):
    actor = require(request, *ADMINS)
    rating_services.set_peak_window(actor, selectors.rate_table(table_id), **payload.model_dump())
    return selectors.rate_table(table_id)
