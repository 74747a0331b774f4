"""Vacation holds on the customer page's accounts (docs/charging.md#vacation-holds, D151): schedule,
cancel before the start, end early. The rules are the service's (tripleplay.customers.vacation)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.core.errors import NotFound
from tripleplay.customers import selectors
from tripleplay.customers import vacation as services
from tripleplay.web.access import OPERATIONS, action
from tripleplay.web.views.common import clean
from tripleplay.web.views.customers import customer_url


def _hold(account_id: int, hold_id: int):
    hold = selectors.vacation_hold(hold_id)
    if hold.account_id != account_id:
        raise NotFound(f"vacation hold {hold_id} does not exist")
    return hold


@action(*OPERATIONS)
def hold_schedule(request, account_id: int):
    account = selectors.account(account_id)
    hold = services.schedule_hold(request.actor, account, start_date=request.POST.get("start_date", ""),
                                  end_date=request.POST.get("end_date", ""), reason=request.POST.get("reason", ""))
    messages.success(request, f"Account {account.pk} on hold from {hold.start_date} to {hold.end_date} "
                              f"(service resumes that day): {hold.status}.")
    return redirect(customer_url(account.customer_id))


@action(*OPERATIONS)
def hold_cancel(request, account_id: int, hold_id: int):
    hold = services.cancel_hold(request.actor, _hold(account_id, hold_id), reason=request.POST.get("reason", ""))
    messages.success(request, f"Vacation hold {hold.start_date} to {hold.end_date} cancelled.")
    return redirect(customer_url(hold.customer_id))


@action(*OPERATIONS)
def hold_end(request, account_id: int, hold_id: int):
    hold = services.end_hold(request.actor, _hold(account_id, hold_id), end_date=clean(request.POST.get("end_date")),
                             reason=request.POST.get("reason", ""))
    messages.success(request, f"Vacation hold now ends on {hold.end_date}: {hold.status}.")
    return redirect(customer_url(hold.customer_id))
