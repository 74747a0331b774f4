"""Vacation holds on an account (docs/charging.md#vacation-holds, D151): schedule, list, cancel
before the start, end early. The rules and the writes are in tripleplay.customers.vacation."""

from datetime import date, datetime

from ninja import Field, Router, Schema

from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import ActorOut, IdParam, In, IsoDate, OptionalText
from tripleplay.core.errors import NotFound
from tripleplay.customers import selectors
from tripleplay.customers import vacation as services

router = Router(tags=["accounts"])

Reason = OptionalText(200)


class VacationHoldIn(In):
    start_date: IsoDate = Field(description="the first day on hold: today at the earliest")
    end_date: IsoDate = Field(description="exclusive: the day service resumes; at most TRIPLEPLAY_HOLD_MAX_DAYS "
                                          "(default 90) after start_date")
    reason: Reason = ""


class VacationHoldCancelIn(In):
    reason: Reason = ""


class VacationHoldEndIn(In):
    end_date: IsoDate | None = Field(None, description="exclusive: the day service resumes; default today "
                                                       "(ends the hold now)")
    reason: Reason = ""


class VacationHoldOut(Schema):
    id: int
    account_id: int
    customer_id: int
    start_date: date
    end_date: date = Field(description="exclusive: the day service resumes")
    status: str = Field(description="scheduled, active, ended or cancelled")
    reason: str
    channel: str = Field(description="operator or portal")
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    actor: ActorOut

    @staticmethod
    def resolve_actor(obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_name}


def _hold(account_id: int, hold_id: int):
    hold = selectors.vacation_hold(hold_id)
    if hold.account_id != account_id:
        raise NotFound(f"vacation hold {hold_id} does not exist")
    return hold


@router.get("/accounts/{account_id}/holds", response=list[VacationHoldOut])
def list_holds(request, account_id: IdParam):
    """Every vacation hold of the account, newest first (cancelled ones included)."""
    require(request, *READERS)
    return list(selectors.vacation_holds(selectors.account(account_id)))


@router.post("/accounts/{account_id}/holds", response={201: VacationHoldOut})
def schedule_hold(request, account_id: IdParam, payload: VacationHoldIn):
    """Pause the account from start_date to end_date: its platforms disable it for those days and its
    subscription fees are replaced by each plan's hold fee. 409 hold_overlaps, account_closed;
    422 hold_start_too_early, hold_too_long, invalid_hold_dates. A hold starting today starts at once."""
    actor = require(request, *OPERATIONS)
    return services.schedule_hold(actor, selectors.account(account_id), start_date=payload.start_date,
                                  end_date=payload.end_date, reason=payload.reason)


@router.post("/accounts/{account_id}/holds/{hold_id}/cancel", response=VacationHoldOut)
def cancel_hold(request, account_id: IdParam, hold_id: IdParam, payload: VacationHoldCancelIn):
    """Withdraw a hold before its first day (409 hold_not_scheduled once it started)."""
    actor = require(request, *OPERATIONS)
    return services.cancel_hold(actor, _hold(account_id, hold_id), reason=payload.reason)


@router.post("/accounts/{account_id}/holds/{hold_id}/end", response=VacationHoldOut)
def end_hold(request, account_id: IdParam, hold_id: IdParam, payload: VacationHoldEndIn):
    """End a started hold early (409 hold_not_active otherwise): service resumes on end_date."""
    actor = require(request, *OPERATIONS)
    return services.end_hold(actor, _hold(account_id, hold_id), end_date=payload.end_date, reason=payload.reason)
