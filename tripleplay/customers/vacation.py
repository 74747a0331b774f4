"""Vacation holds: the writes (docs/charging.md#vacation-holds, D151-D156). The rules are pure, in
tripleplay.customers.vacation_rules; the fees of held days in tripleplay.subscriptions.holds.

- ``schedule_hold``: an operator (API, web) or the subscriber (the portal) pauses an account for
  [start, end). A hold starting today starts at once.
- ``cancel_hold``: a hold withdrawn before its first day; it never counted.
- ``end_hold``: an operator ends a started hold early (today by default): service resumes that day.
- ``run_holds``: the daily job "vacation-holds": starts the holds whose first day has come and ends
  those whose end date has come.
Starting and ending a hold call ``ACCOUNT_CHANGED`` in the same transaction: IPTV provisioning
writes the commands that disable (enable) the account on its platforms and RADIUS disconnects its
sessions (the outbox). Lock order: the account row, then its hold rows.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor, ActorKind
from tripleplay.core.errors import Conflict, InvalidInput, NotFound
from tripleplay.customers.hooks import ACCOUNT_CHANGED
from tripleplay.customers.models import Account, HoldStatus, VacationHold
from tripleplay.customers.vacation_rules import Refusal, early_end_refusal, refusal

STARTED, ENDED = "Account/Hold/Started", "Account/Hold/Ended"  # provisioning event names


def _raise(r: Refusal):
    details = {"field": r.field} if r.field else {}
    if r.status == 409:
        raise Conflict(r.message, code=r.code, details=details)
    raise InvalidInput(r.message, code=r.code, details=details)


def _lock_account(account: Account) -> Account:
    return Account.objects.select_related("customer").select_for_update().get(pk=account.pk)


def _date(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a date (YYYY-MM-DD)", details={"field": field}) from None


def schedule_hold(actor: Actor, account: Account, *, start_date, end_date, reason: str = "") -> VacationHold:
    """Put ``account`` on hold from ``start_date`` (inclusive) to ``end_date`` (exclusive). A
    subscriber may only pause an account of their own customer (the portal checks it) and with the
    notice of ``TRIPLEPLAY_HOLD_MIN_NOTICE_DAYS``."""
    start, end = _date(start_date, "start_date"), _date(end_date, "end_date")
    reason = v.text(reason, "reason")
    by_subscriber = actor.kind == ActorKind.SUBSCRIBER
    with transaction.atomic():
        account = _lock_account(account)
        others = list(VacationHold.objects.filter(account=account).exclude(status=HoldStatus.CANCELLED)
                      .values_list("start_date", "end_date"))
        r = refusal(start=start, end=end, today=clock.today(), by_subscriber=by_subscriber,
                    notice_days=settings.TRIPLEPLAY_HOLD_MIN_NOTICE_DAYS, max_days=settings.TRIPLEPLAY_HOLD_MAX_DAYS,
                    others=others, account_status=account.status, customer_status=account.customer.status)
        if r:
            _raise(r)
        hold = VacationHold(customer_id=account.customer_id, account=account, start_date=start, end_date=end,
                            reason=reason, channel="portal" if by_subscriber else "operator", created_at=clock.now())
        hold.set_actor(actor)
        hold.save()
        record(actor, "account.hold_scheduled", account, hold=hold.pk, start_date=start.isoformat(),
               end_date=end.isoformat(), reason=reason)
        if start <= clock.today():
            _start(actor, account, hold)
    return hold


def _locked_hold(hold: VacationHold | int) -> tuple[Account, VacationHold]:
    pk = hold if isinstance(hold, int) else hold.pk
    try:
        account_id = VacationHold.objects.values_list("account_id", flat=True).get(pk=pk)
    except (VacationHold.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"vacation hold {pk} does not exist") from None
    account = _lock_account(Account(pk=account_id))
    return account, VacationHold.objects.select_for_update().get(pk=pk)


def cancel_hold(actor: Actor, hold: VacationHold | int, *, reason: str = "") -> VacationHold:
    """Withdraw a hold before its first day (409 ``hold_not_scheduled`` once it started: an operator
    ends it early instead)."""
    reason = v.text(reason, "reason") or "cancelled"
    with transaction.atomic():
        account, hold = _locked_hold(hold)
        if hold.status != HoldStatus.SCHEDULED:
            raise Conflict(f"only a scheduled hold can be cancelled (this one is {hold.status})",
                           code="hold_not_scheduled")
        hold.status, hold.ended_at, hold.ended_by, hold.end_reason = HoldStatus.CANCELLED, clock.now(), str(actor), reason
        hold.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
        record(actor, "account.hold_cancelled", account, hold=hold.pk, reason=reason)
    return hold


def end_hold(actor: Actor, hold: VacationHold | int, *, end_date=None, reason: str = "") -> VacationHold:
    """End a started hold early: service resumes on ``end_date`` (default today; today ends it now)."""
    reason = v.text(reason, "reason") or "ended early"
    with transaction.atomic():
        account, hold = _locked_hold(hold)
        today = clock.today()
        new_end = today if end_date in (None, "") else _date(end_date, "end_date")
        r = early_end_refusal(status=hold.status, start=hold.start_date, end=hold.end_date, new_end=new_end, today=today)
        if r:
            _raise(r)
        if new_end == hold.start_date:  # started today, ended today: no day held, as if cancelled
            hold.status, hold.ended_at, hold.ended_by, hold.end_reason = (
                HoldStatus.CANCELLED, clock.now(), str(actor), reason)
            hold.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
            record(actor, "account.hold_cancelled", account, hold=hold.pk, reason=reason)
            ACCOUNT_CHANGED(actor, account, ENDED)
            return hold
        previous = hold.end_date
        hold.end_date, hold.end_reason = new_end, reason
        hold.save(update_fields=["end_date", "end_reason"])
        record(actor, "account.hold_shortened", account, hold=hold.pk, end_date=new_end.isoformat(),
               previous_end_date=previous.isoformat(), reason=reason)
        if new_end <= today:
            _end(actor, account, hold, reason)
    return hold


def _start(actor: Actor, account: Account, hold: VacationHold) -> None:
    hold.status, hold.started_at = HoldStatus.ACTIVE, clock.now()
    hold.save(update_fields=["status", "started_at"])
    record(actor, "account.hold_started", account, hold=hold.pk)
    ACCOUNT_CHANGED(actor, account, STARTED)


def _end(actor: Actor, account: Account, hold: VacationHold, reason: str) -> None:
    hold.status, hold.ended_at, hold.ended_by = HoldStatus.ENDED, clock.now(), str(actor)
    hold.end_reason = hold.end_reason or reason
    hold.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    record(actor, "account.hold_ended", account, hold=hold.pk, end_date=hold.end_date.isoformat())
    ACCOUNT_CHANGED(actor, account, ENDED)


def run_holds(actor: Actor, day: date | None = None) -> tuple[int, int]:
    """Start the holds whose first day has come and end those whose end date has come, up to
    ``day`` (default today), one account per transaction. Idempotent. Returns (started, ended)."""
    day = day or clock.today()
    started = ended = 0
    due = (VacationHold.objects.filter(status=HoldStatus.SCHEDULED, start_date__lte=day)
           | VacationHold.objects.filter(status=HoldStatus.ACTIVE, end_date__lte=day))
    for pk in due.order_by("account_id", "start_date", "id").values_list("pk", flat=True):
        with transaction.atomic():
            account, hold = _locked_hold(pk)
            if hold.status == HoldStatus.SCHEDULED and hold.start_date <= day:
                if hold.end_date <= day:  # the job did not run during the whole hold: record it, no round trip
                    hold.status, hold.started_at = HoldStatus.ACTIVE, clock.now()
                    _end(actor, account, hold, "ended on its date")
                    ended += 1
                    continue
                _start(actor, account, hold)
                started += 1
            elif hold.status == HoldStatus.ACTIVE and hold.end_date <= day:
                _end(actor, account, hold, "ended on its date")
                ended += 1
    return started, ended
