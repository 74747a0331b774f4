"""The rules of a vacation hold (docs/charging.md#vacation-holds, D151): pure functions of plain
values, no database, no clock. tripleplay.customers.vacation asks them under the account's lock.

A hold is [start, end): ``start`` inclusive, ``end`` exclusive (the day service resumes).
- end after start, at most ``max_days`` days;
- the start not in the past (an operator may start a hold today); a subscriber (the portal) gives
  at least ``notice_days`` days of notice;
- no day of it covered by another hold of the account that is not cancelled;
- neither the account nor its customer closed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from tripleplay.customers.models import Status


class Refusal(NamedTuple):
    code: str
    message: str
    field: str | None = None
    status: int = 422  # 422 for the dates asked, 409 for a conflict with the account's state


def overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start < b_end and b_start < a_end


def refusal(*, start: date, end: date, today: date, by_subscriber: bool, notice_days: int, max_days: int,
            others: list[tuple[date, date]], account_status: str, customer_status: str) -> Refusal | None:
    """Why a hold [start, end) cannot be scheduled, or None."""
    if Status.CLOSED in (account_status, customer_status):
        return Refusal("account_closed", "a closed account cannot be put on hold", None, 409)
    if end <= start:
        return Refusal("invalid_hold_dates", "the hold must end after it starts", "end_date")
    first = today + timedelta(days=notice_days if by_subscriber else 0)
    if start < first:
        msg = (f"a hold starts at the earliest on {first.isoformat()} ({notice_days} days of notice)"
               if by_subscriber else "a hold cannot start in the past")
        return Refusal("hold_start_too_early", msg, "start_date")
    if (end - start).days > max_days:
        return Refusal("hold_too_long", f"a hold lasts at most {max_days} days", "end_date")
    for other_start, other_end in others:
        if overlaps(start, end, other_start, other_end):
            return Refusal("hold_overlaps",
                           f"the account is already on hold from {other_start.isoformat()} to {other_end.isoformat()}",
                           None, 409)
    return None


def early_end_refusal(*, status: str, start: date, end: date, new_end: date, today: date) -> Refusal | None:
    """Why a hold cannot end on ``new_end`` instead of ``end`` (an operator's early end), or None.
    Only a started hold ends early (a scheduled one is cancelled); it resumes today at the earliest.
    Ended on its first day (it started today), it held no day: the service records it as cancelled."""
    if status != "active":
        return Refusal("hold_not_active", f"only an active hold ends early (this one is {status})", None, 409)
    if new_end < today or new_end < start:
        return Refusal("invalid_hold_dates", "a hold ends today at the earliest", "end_date")
    if new_end >= end:
        return Refusal("invalid_hold_dates", f"the hold already ends on {end.isoformat()}", "end_date")
    return None

