"""Vacation holds: the rules (pure, table-driven) and the services' refusals and transitions
(D151). Money is in invoicing/tests/test_vacation_invoices.py and subscriptions/tests/test_holds.py,
the platforms in iptv/tests/test_vacation_hold_e2e.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.customers.models import HoldStatus, VacationHold
from tripleplay.customers.vacation import cancel_hold, end_hold, run_holds, schedule_hold
from tripleplay.customers.vacation_rules import early_end_refusal, refusal

D = date
TODAY = D(2025, 6, 10)


def why(start, end, *, by_subscriber=False, others=(), account="active", customer="active"):
    r = refusal(start=start, end=end, today=TODAY, by_subscriber=by_subscriber, notice_days=2, max_days=30,
                others=list(others), account_status=account, customer_status=customer)
    return r and r.code


@pytest.mark.parametrize("start,end,kwargs,code", [
    (D(2025, 6, 10), D(2025, 6, 20), {}, None),  # an operator may start one today
    (D(2025, 6, 9), D(2025, 6, 20), {}, "hold_start_too_early"),  # never in the past
    (D(2025, 6, 11), D(2025, 6, 20), {"by_subscriber": True}, "hold_start_too_early"),  # 2 days of notice
    (D(2025, 6, 12), D(2025, 6, 20), {"by_subscriber": True}, None),
    (D(2025, 6, 20), D(2025, 6, 20), {}, "invalid_hold_dates"),
    (D(2025, 6, 20), D(2025, 6, 19), {}, "invalid_hold_dates"),
    (D(2025, 6, 10), D(2025, 7, 10), {}, None),  # 30 days: the maximum
    (D(2025, 6, 10), D(2025, 7, 11), {}, "hold_too_long"),
    (D(2025, 6, 15), D(2025, 6, 20), {"others": [(D(2025, 6, 19), D(2025, 6, 25))]}, "hold_overlaps"),
    (D(2025, 6, 15), D(2025, 6, 20), {"others": [(D(2025, 6, 10), D(2025, 6, 16))]}, "hold_overlaps"),
    (D(2025, 6, 15), D(2025, 6, 20), {"others": [(D(2025, 6, 20), D(2025, 6, 25))]}, None),  # end exclusive
    (D(2025, 6, 15), D(2025, 6, 20), {"others": [(D(2025, 6, 10), D(2025, 6, 15))]}, None),
    (D(2025, 6, 15), D(2025, 6, 20), {"account": "closed"}, "account_closed"),
    (D(2025, 6, 15), D(2025, 6, 20), {"customer": "closed"}, "account_closed"),
    (D(2025, 6, 15), D(2025, 6, 20), {"customer": "suspended"}, None),  # a suspended account may be held too
])
def test_rules(start, end, kwargs, code):
    assert why(start, end, **kwargs) == code


@pytest.mark.parametrize("status,new_end,code", [
    ("active", D(2025, 6, 10), None),  # today: service resumes today
    ("active", D(2025, 6, 1), "invalid_hold_dates"),
    ("active", D(2025, 6, 12), None),
    ("active", D(2025, 6, 9), "invalid_hold_dates"),
    ("active", D(2025, 6, 20), "invalid_hold_dates"),  # not earlier than it ends
    ("scheduled", D(2025, 6, 12), "hold_not_active"),  # a scheduled hold is cancelled instead
    ("ended", D(2025, 6, 12), "hold_not_active"),
])
def test_early_end_rules(status, new_end, code):
    r = early_end_refusal(status=status, start=D(2025, 6, 1), end=D(2025, 6, 20), new_end=new_end, today=TODAY)
    assert (r and r.code) == code


@pytest.fixture
def account(make_customer, make_account):
    clock.freeze(datetime(2025, 6, 10, 9, tzinfo=UTC))
    return make_account(make_customer("postpaid", credit_limit_minor=10_000))


def test_overlapping_holds_are_refused_and_nothing_is_written(actor, account):
    schedule_hold(actor, account, start_date="2025-06-15", end_date="2025-06-25", reason="beach")
    with pytest.raises(Conflict) as e:
        schedule_hold(actor, account, start_date=D(2025, 6, 24), end_date=D(2025, 7, 1))
    assert e.value.code == "hold_overlaps"
    assert list(VacationHold.objects.values_list("start_date", "end_date", "status", "reason")) == [
        (D(2025, 6, 15), D(2025, 6, 25), "scheduled", "beach")]
    with pytest.raises(InvalidInput) as e:
        schedule_hold(actor, account, start_date="2025-13-01", end_date=D(2025, 7, 1))
    assert (e.value.code, e.value.details) == ("invalid_input", {"field": "start_date"})


def test_cancelled_before_its_start_it_frees_the_dates(actor, account):
    hold = schedule_hold(actor, account, start_date=D(2025, 6, 15), end_date=D(2025, 6, 25))
    cancel_hold(actor, hold, reason="plans changed")
    hold.refresh_from_db()
    assert (hold.status, hold.end_reason, hold.ended_by) == (HoldStatus.CANCELLED, "plans changed", "system:test")
    again = schedule_hold(actor, account, start_date=D(2025, 6, 20), end_date=D(2025, 6, 30))
    assert run_holds(actor, D(2025, 6, 20)) == (1, 0)
    with pytest.raises(Conflict) as e:
        cancel_hold(actor, again)
    assert e.value.code == "hold_not_scheduled"
    assert run_holds(actor, D(2025, 6, 20)) == (0, 0)  # idempotent
    assert run_holds(actor, D(2025, 6, 30)) == (0, 1)
    actions = AuditEvent.objects.filter(action__startswith="account.hold").order_by("id")
    assert list(actions.values_list("action", flat=True)) == [
        "account.hold_scheduled", "account.hold_cancelled", "account.hold_scheduled", "account.hold_started",
        "account.hold_ended"]


def test_early_end_by_the_operator(actor, account):
    hold = schedule_hold(actor, account, start_date=D(2025, 6, 10), end_date=D(2025, 6, 25))
    assert hold.status == HoldStatus.ACTIVE  # starting today: at once
    clock.freeze(datetime(2025, 6, 12, 9, tzinfo=UTC))
    end_hold(actor, hold, end_date=D(2025, 6, 20), reason="shorter trip")  # shortened, still running
    hold.refresh_from_db()
    assert (hold.status, hold.end_date) == (HoldStatus.ACTIVE, D(2025, 6, 20))
    end_hold(actor, hold)
    hold.refresh_from_db()
    assert (hold.status, hold.end_date, hold.end_reason) == (HoldStatus.ENDED, D(2025, 6, 12), "ended early")


def test_the_subscriber_gives_notice_and_a_closed_account_is_refused(actor, account, make_customer):
    from tripleplay.customers.services import change_account_status

    subscriber = Actor.subscriber(account.customer)
    with pytest.raises(InvalidInput) as e:
        schedule_hold(subscriber, account, start_date=D(2025, 6, 10), end_date=D(2025, 6, 20))
    assert e.value.code == "hold_start_too_early"
    hold = schedule_hold(subscriber, account, start_date=D(2025, 6, 11), end_date=D(2025, 6, 20))
    assert (hold.channel, hold.actor_kind) == ("portal", "subscriber")
    with pytest.raises(InvalidInput) as e:
        schedule_hold(actor, account, start_date=D(2025, 7, 1), end_date=D(2025, 10, 1))
    assert e.value.code == "hold_too_long"  # 92 days: more than TRIPLEPLAY_HOLD_MAX_DAYS (90)
    change_account_status(actor, account, "closed", reason="moved")
    with pytest.raises(Conflict) as e:
        schedule_hold(actor, account, start_date=D(2025, 7, 1), end_date=D(2025, 7, 5))
    assert e.value.code == "account_closed"


def test_radius_refuses_a_held_login():
    from tripleplay.radius.decision import Found
    from tripleplay.radius.decision import refusal as radius_refusal

    assert radius_refusal(Found("active", "active", True, 100, on_hold=True)) == "on_hold"
    assert radius_refusal(Found("active", "suspended", True, 100, on_hold=True)) == "suspended"
    assert radius_refusal(Found("active", "active", True, 100)) is None


def test_the_demo_has_one_scheduled_hold(db):
    from tripleplay import demo

    clock.freeze(datetime(2026, 12, 5, 9, tzinfo=UTC))
    demo.seed()
    assert list(VacationHold.objects.values_list("account__login", "start_date", "end_date", "status", "reason")) == [
        ("alice.tv", D(2026, 12, 19), D(2027, 1, 2), "scheduled", "family vacation")]
