"""Usage records (xDRs) through the REST API: a batch intake, the error list, re-rating after a fix.

POST /xdrs takes up to MAX_BATCH records in one JSON body and answers one result per record, in order:
``rated`` (with its cost), ``error`` (stored with a reason, re-rated by POST /xdrs/rerate after a fix),
``duplicate`` (that id was already received from this source: nothing is written again, so a retried
batch is harmless), or ``rejected`` (no usable id: not stored). A malformed body (not an object, no
records, too many, an element that is not an object, an unknown field) is a 422 and nothing is written.
The records go through the same bulk path as ``tripleplay import-xdrs`` (docs/rating.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import In, MoneyOut, minor
from tripleplay.rating import selectors
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.services import rerate_errors

router = Router(tags=["rating"])

MAX_BATCH = 1000
Service = Literal["voice", "data", "messaging"]


class XdrBatchIn(In):
    source: str = Field("api", min_length=1, max_length=64, strict=True,
                        description="where the records come from; ids are unique per source")
    service_type: Service | None = Field(None, description="service of records that carry none")
    records: list[dict[str, Any]] = Field(..., min_length=1, max_length=MAX_BATCH, description=(
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
    source: str | None = Field(None, min_length=1, max_length=64, strict=True)


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
def post_xdrs(request, payload: XdrBatchIn):
    actor = require(request, *OPERATIONS)
    result = rate_bulk(actor, payload.records, source=payload.source, service_type=payload.service_type,
                       collect=True)
    return {"counts": result.counts, "results": [
        {"id": r.external_id, "status": r.status, "xdr_id": r.xdr_id,
         "cost": minor(r.cost_minor, r.currency) if r.cost_minor is not None else None,
         "error_code": r.error_code, "error_reason": r.error_reason} for r in result.results]}


@router.get("/xdrs/errors", response=list[XdrOut], summary="Usage records waiting in error")
@paginate(LimitOffsetPagination)
def list_errors(request, source: str | None = Query(None, max_length=64)):
    require(request, *READERS)
    return selectors.xdrs_in_error(source).order_by("id")


@router.post("/xdrs/rerate", response=dict[str, int], summary="Rate the records in error again (after a fix)")
def rerate(request, payload: RerateIn):
    actor = require(request, *OPERATIONS)
    return rerate_errors(actor, source=payload.source)
