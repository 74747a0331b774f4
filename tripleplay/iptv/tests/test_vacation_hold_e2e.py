"""A vacation hold reaches every IPTV platform (issue #13, D153): the simulator process shows the
subscriber disabled on the hold's first day and enabled again on its end date (the day after its
last), on the controllable clock, with the "vacation-holds" job and a real worker drain each day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tripleplay import clock
from tripleplay.customers.services import change_customer_status, create_account
from tripleplay.customers.vacation import cancel_hold, end_hold, run_holds, schedule_hold
from tripleplay.iptv.models import ProvisioningCommand
from tripleplay.iptv.platforms.registry import kinds
from tripleplay.iptv.tests.conftest import drain, make_platform, make_tv_catalog


@pytest.fixture(params=kinds())
def tv(request, db, actor, simulator_pool):
    sim = simulator_pool(request.param)
    platform = make_platform(actor, sim)
    return sim, make_tv_catalog(actor, platform)


def morning(actor, day: date) -> None:
    """00:30: the job starts and ends the day's holds; the worker delivers what they wrote."""
    clock.freeze(datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC))
    run_holds(actor)
    drain()


def enabled(sim, account) -> bool:
    return sim.subscribers()[f"tp-{account.pk}"]["enabled"]


def test_disabled_on_the_first_day_enabled_after_the_last(tv, actor, make_customer):
    sim, cat = tv
    clock.freeze(datetime(2025, 1, 10, 9, tzinfo=UTC))
    customer = make_customer(balance_model="postpaid", credit_limit_minor=100_000)
    account = create_account(actor, customer, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan], login="ada-tv")
    drain()
    schedule_hold(actor, account, start_date=date(2025, 1, 20), end_date=date(2025, 2, 10), reason="skiing")
    assert enabled(sim, account)
    seen = {}
    day = date(2025, 1, 11)
    while day <= date(2025, 2, 12):
        morning(actor, day)
        seen[day] = enabled(sim, account)
        day += timedelta(days=1)
    assert [d for d, on in seen.items() if not on] == [date(2025, 1, 20) + timedelta(days=i) for i in range(21)]
    assert sorted(sim.subscribers()[f"tp-{account.pk}"]["packages"]) == ["basic", "sports"]  # kept while held
    events = list(ProvisioningCommand.objects.filter(subscriber__account=account).values_list("event", "status"))
    assert events == [("Account/New", "done"), ("Account/Hold/Started", "done"), ("Account/Hold/Ended", "done")]


def test_a_hold_and_a_suspension_are_lifted_each_on_its_own(tv, actor, make_customer):
    sim, cat = tv
    clock.freeze(datetime(2025, 1, 10, 9, tzinfo=UTC))
    customer = make_customer(balance_model="postpaid", credit_limit_minor=100_000)
    account = create_account(actor, customer, main_plan=cat.tv_plan, login="bob-tv")
    schedule_hold(actor, account, start_date=date(2025, 1, 12), end_date=date(2025, 1, 15))
    morning(actor, date(2025, 1, 12))
    assert not enabled(sim, account)
    change_customer_status(actor, customer, "suspended", reason="overdue")
    change_customer_status(actor, customer, "active", reason="paid")  # the suspension lifted: still on hold
    drain()
    assert not enabled(sim, account)
    change_customer_status(actor, customer, "suspended", reason="overdue again")
    morning(actor, date(2025, 1, 15))  # the hold over: still suspended
    assert not enabled(sim, account)
    change_customer_status(actor, customer, "active", reason="paid")
    drain()
    assert enabled(sim, account)


def test_an_operator_ends_a_hold_early_and_a_cancelled_one_never_disables(tv, actor, make_customer):
    sim, cat = tv
    clock.freeze(datetime(2025, 3, 1, 9, tzinfo=UTC))
    customer = make_customer(balance_model="postpaid", credit_limit_minor=100_000)
    account = create_account(actor, customer, main_plan=cat.tv_plan, login="cy-tv")
    cancelled = schedule_hold(actor, account, start_date=date(2025, 3, 2), end_date=date(2025, 3, 5))
    cancel_hold(actor, cancelled, reason="trip called off")
    morning(actor, date(2025, 3, 2))
    assert enabled(sim, account)
    hold = schedule_hold(actor, account, start_date=date(2025, 3, 2), end_date=date(2025, 3, 20))  # today: at once
    drain()
    assert not enabled(sim, account)
    clock.freeze(datetime(2025, 3, 6, 14, tzinfo=UTC))
    end_hold(actor, hold, reason="came back early")
    drain()
    assert enabled(sim, account)
    hold.refresh_from_db()
    assert (hold.status, hold.end_date) == ("ended", date(2025, 3, 6))
