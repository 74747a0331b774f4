"""Each source's hold on a customer and the status derived from them: the pure rule (table-driven),
then set_block / lift_block / the operator's status change with their history, audit and IPTV
provisioning, and the migration's backfill of today's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.errors import Conflict, InvalidInput, TransitionNotAllowed
from tripleplay.customers.blocking import deciding_hold, effective_status, operator_choices
from tripleplay.customers.models import BlockEffect, BlockSource, Customer, CustomerBlock, CustomerStatusChange
from tripleplay.customers.selectors import current_blocks, has_block
from tripleplay.customers.services import change_customer_status, create_account, lift_block, set_block

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
OPERATOR, COLLECTIONS, FUNDS, NETWORK = BlockSource.OPERATOR, BlockSource.COLLECTIONS, BlockSource.FUNDS, BlockSource.NETWORK
SUSPEND, BLOCK = BlockEffect.SUSPEND, BlockEffect.BLOCK


@dataclass
class H:
    effect: str
    reason: str = ""
    source: str = OPERATOR


# -- the rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize("effects, closed, status", [
    ([], False, "active"),
    ([SUSPEND], False, "suspended"),
    ([SUSPEND, SUSPEND], False, "suspended"),
    ([BLOCK], False, "blocked"),
    ([SUSPEND, BLOCK], False, "blocked"),
    ([BLOCK, SUSPEND, SUSPEND], False, "blocked"),
    ([], True, "closed"),
    ([SUSPEND], True, "closed"),
    ([BLOCK, SUSPEND], True, "closed"),
])
def test_effective_status(effects, closed, status):
    assert effective_status([H(e) for e in effects], closed) == status


@pytest.mark.parametrize("holds, reason", [
    ([], None),
    ([H(SUSPEND, "funds")], "funds"),
    ([H(SUSPEND, "funds"), H(SUSPEND, "overdue")], "funds"),  # the first that suspended it
    ([H(SUSPEND, "funds"), H(BLOCK, "fraud"), H(BLOCK, "day 30")], "fraud"),  # the strongest first
])
def test_deciding_hold(holds, reason):
    hold = deciding_hold(holds)
    assert (hold.reason if hold else None) == reason


@pytest.mark.parametrize("status, held_by, choices", [
    ("active", [], ["blocked", "closed", "suspended"]),
    ("suspended", [OPERATOR], ["active", "blocked", "closed"]),
    ("suspended", [COLLECTIONS], ["active", "blocked", "closed"]),
    ("suspended", [FUNDS], ["blocked", "closed"]),  # money lifts it, not a status change
    ("suspended", [FUNDS, COLLECTIONS], ["active", "blocked", "closed"]),  # active lifts collections'
    ("blocked", [OPERATOR, FUNDS], ["active", "closed"]),
    ("blocked", [NETWORK], ["closed"]),
    ("closed", [], []),
])
def test_operator_choices(status, held_by, choices):
    assert operator_choices(status, [H(SUSPEND, source=s) for s in held_by]) == choices


# -- the services ----------------------------------------------------------------------------------


@pytest.fixture
def tv_customer(db, actor, make_customer, catalog):
    """A customer with one IPTV subscriber, so that status changes reach the provisioning outbox."""
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage
    from tripleplay.iptv.packages import link_package

    clock.freeze(T0)
    platform = create_platform(actor, code="tv", name="TV", kind="generic_xml", base_url="http://127.0.0.1:9",
                               timeout_seconds="1")
    package = ChannelPackage.objects.create(platform=platform, external_id="basic", name="Basic",
                                            first_seen_at=T0, updated_at=T0)
    link_package(actor, package, catalog.tv)
    customer = make_customer("postpaid", credit_limit_minor=10_000)
    create_account(actor, customer, main_plan=catalog.tv_plan, login="tv-1")
    return customer


def events(customer):
    from tripleplay.iptv.models import ProvisioningCommand

    return [(c.event, c.desired["enabled"]) for c in
            ProvisioningCommand.objects.filter(subscriber__account__customer=customer).exclude(event="Account/New")]


def history(customer):
    return list(CustomerStatusChange.objects.filter(customer=customer).exclude(from_status="")
                .values_list("from_status", "to_status", "reason"))


def state(customer):
    customer.refresh_from_db()
    return customer.status, customer.status_reason, sorted(current_blocks(customer).values_list("source", "effect"))


def test_funds_and_collections_both_suspend_and_the_customer_stays_suspended_until_both_lift(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, FUNDS, SUSPEND, reason="insufficient funds")
    clock.advance(timedelta(hours=1))
    set_block(actor, c, COLLECTIONS, SUSPEND, reason="overdue invoice")
    assert state(c) == ("suspended", "insufficient funds", [("collections", "suspend"), ("funds", "suspend")])
    assert history(c) == [("active", "suspended", "insufficient funds")]  # the second hold changed nothing
    assert events(c) == [("Customer/Status/Suspend", False)]

    lift_block(actor, c, FUNDS, reason="funds sufficient")  # one of them paid off
    assert state(c) == ("suspended", "overdue invoice", [("collections", "suspend")])
    assert history(c) == [("active", "suspended", "insufficient funds")]
    assert events(c) == [("Customer/Status/Suspend", False)]  # the platform is told nothing

    lift_block(actor, c, COLLECTIONS, reason="overdue invoices paid")
    assert state(c) == ("active", "overdue invoices paid", [])
    assert history(c) == [("active", "suspended", "insufficient funds"), ("suspended", "active", "overdue invoices paid")]
    assert events(c) == [("Customer/Status/Suspend", False), ("Customer/Status/Unsuspend", True)]
    lifted = CustomerBlock.objects.filter(customer=c).order_by("id")
    assert [(b.source, b.since, b.lifted_at, b.lift_reason, b.actor_name, b.lifted_by) for b in lifted] == [
        ("funds", T0, T0 + timedelta(hours=1), "funds sufficient", "test", "system:test"),
        ("collections", T0 + timedelta(hours=1), T0 + timedelta(hours=1), "overdue invoices paid", "test",
         "system:test")]
    assert list(AuditEvent.objects.filter(action="customer.status_changed").order_by("id")
                .values_list("data__from", "data__to")) == [("active", "suspended"), ("suspended", "active")]


def test_an_operator_block_survives_the_other_sources_lifting_and_unblocking_falls_back_to_them(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, FUNDS, SUSPEND, reason="insufficient funds")
    change_customer_status(actor, c, "blocked", reason="fraud check")
    assert state(c) == ("blocked", "fraud check", [("funds", "suspend"), ("operator", "block")])
    lift_block(actor, c, FUNDS, reason="funds sufficient")
    assert state(c) == ("blocked", "fraud check", [("operator", "block")])
    set_block(actor, c, FUNDS, SUSPEND, reason="insufficient funds")
    change_customer_status(actor, c, "active", reason="cleared")  # the operator's unblock: funds still hold
    assert state(c) == ("suspended", "insufficient funds", [("funds", "suspend")])
    assert history(c) == [("active", "suspended", "insufficient funds"), ("suspended", "blocked", "fraud check"),
                          ("blocked", "suspended", "insufficient funds")]
    assert events(c) == [("Customer/Status/Suspend", False)]  # disabled throughout: nothing more to send
    change_customer_status(actor, c, "blocked", reason="fraud again")
    lift_block(actor, c, FUNDS, reason="funds sufficient")
    change_customer_status(actor, c, "active", reason="cleared")
    assert state(c) == ("active", "cleared", [])
    assert events(c) == [("Customer/Status/Suspend", False), ("Customer/Unblocked", True)]


def test_the_operators_active_lifts_its_own_and_collections_holds_at_once_but_not_the_funds(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, COLLECTIONS, BLOCK, reason="overdue invoice: blocked by collections")
    change_customer_status(actor, c, "active", reason="paid, unblocked by finance")  # D25
    assert state(c) == ("active", "paid, unblocked by finance", [])

    set_block(actor, c, COLLECTIONS, SUSPEND, reason="overdue invoice")
    change_customer_status(actor, c, "blocked", reason="fraud check")
    before = len(history(c))
    change_customer_status(actor, c, "active", reason="all clear")
    assert state(c) == ("active", "all clear", [])
    assert history(c)[before:] == [("blocked", "active", "all clear")]  # one change, not two

    set_block(actor, c, FUNDS, SUSPEND, reason="insufficient funds")
    before = (len(history(c)), AuditEvent.objects.count())
    with pytest.raises(Conflict) as err:
        change_customer_status(actor, c, "active", reason="please")
    assert (err.value.code, err.value.details) == ("held_by_another_source", {"held_by": ["funds"]})
    assert state(c) == ("suspended", "insufficient funds", [("funds", "suspend")])
    assert (len(history(c)), AuditEvent.objects.count()) == before


def test_an_operator_transition_is_checked_against_the_status_it_sees(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, COLLECTIONS, BLOCK, reason="day 30")
    with pytest.raises(TransitionNotAllowed):
        change_customer_status(actor, c, "suspended", reason="x")  # blocked -> suspended
    with pytest.raises(TransitionNotAllowed):
        change_customer_status(actor, c, "blocked", reason="x")  # already blocked
    assert not has_block(c, OPERATOR)


def test_set_block_replaces_the_sources_own_hold_and_the_same_hold_twice_is_a_noop(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, COLLECTIONS, SUSPEND, reason="overdue invoice")
    before = (CustomerBlock.objects.count(), CustomerStatusChange.objects.count(), AuditEvent.objects.count())
    set_block(actor, c, COLLECTIONS, SUSPEND, reason="overdue invoice again")
    assert (CustomerBlock.objects.count(), CustomerStatusChange.objects.count(), AuditEvent.objects.count()) == before
    clock.advance(timedelta(days=16))
    set_block(actor, c, COLLECTIONS, BLOCK, reason="day 30")
    rows = list(CustomerBlock.objects.filter(customer=c).order_by("id")
                .values_list("effect", "reason", "lifted_at", "lift_reason"))
    assert rows == [("suspend", "overdue invoice", T0 + timedelta(days=16), "replaced by block: day 30"),
                    ("block", "day 30", None, "")]
    assert state(c) == ("blocked", "day 30", [("collections", "block")])
    lift_block(actor, c, OPERATOR, reason="nothing to lift")  # not held by the operator: a no-op
    assert state(c)[0] == "blocked"


def test_one_current_hold_per_source_is_enforced_by_the_database(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, NETWORK, BLOCK, reason="abuse")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerBlock.objects.create(customer=c, source=NETWORK, effect=SUSPEND, reason="again", since=T0,
                                     actor_kind="system", actor_ref="x", actor_name="x")


def test_a_closed_customer_cannot_be_held_and_stays_closed(actor, tv_customer):
    c = tv_customer
    set_block(actor, c, FUNDS, SUSPEND, reason="insufficient funds")
    change_customer_status(actor, c, "closed", reason="moved away")
    assert list(CustomerBlock.objects.filter(customer=c).values_list("source", "lifted_at", "lift_reason")) == [
        ("funds", T0, "customer closed: moved away")]  # closing ends every hold
    assert state(c) == ("closed", "moved away", [])
    with pytest.raises(Conflict) as err:
        set_block(actor, c, COLLECTIONS, SUSPEND, reason="overdue")
    assert err.value.code == "customer_closed"
    lift_block(actor, c, FUNDS, reason="funds sufficient")  # nothing holds it: a no-op
    assert state(c) == ("closed", "moved away", [])


@pytest.mark.parametrize("source, effect, reason", [("bank", "suspend", "x"), ("funds", "pause", "x"),
                                                    ("funds", "suspend", "  ")])
def test_set_block_input_checks(actor, tv_customer, source, effect, reason):
    with pytest.raises(InvalidInput):
        set_block(actor, tv_customer, source, effect, reason=reason)
    assert not CustomerBlock.objects.exists()


# -- the backfill ----------------------------------------------------------------------------------


def test_the_migration_backfills_holds_from_todays_statuses(make_customer):
    """The migration's function run against rows as they were before it (statuses and reason texts,
    no holds)."""
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("tripleplay.customers.migrations.0002_customer_blocks").backfill_holds
    now = datetime(2026, 1, 5, tzinfo=UTC)
    rows = {}
    for key, status, reason in [
        ("active", "active", ""), ("overdue", "suspended", "overdue invoice (collections)"),
        ("day30", "blocked", "overdue invoice: blocked by collections"),
        ("funds", "suspended", "insufficient funds"), ("moved", "suspended", "moved away"),
        ("fraud", "blocked", "fraud check"), ("closed", "closed", "bye"), ("unknown", "blocked", ""),
    ]:
        c = make_customer()
        Customer.objects.filter(pk=c.pk).update(status=status, status_reason=reason, status_changed_at=now)
        if status != "active" and key != "unknown":
            CustomerStatusChange.objects.create(customer=c, from_status="active", to_status=status, reason=reason,
                                                at=now, actor_kind="operator", actor_ref="7", actor_name="ops")
        rows[key] = c
    backfill(apps, None)
    got = {key: list(CustomerBlock.objects.filter(customer=c).values_list(
        "source", "effect", "reason", "since", "lifted_at", "actor_name")) for key, c in rows.items()}
    assert got == {
        "active": [], "closed": [],
        "overdue": [("collections", "suspend", "overdue invoice (collections)", now, None, "ops")],
        "day30": [("collections", "block", "overdue invoice: blocked by collections", now, None, "ops")],
        "funds": [("funds", "suspend", "insufficient funds", now, None, "ops")],
        "moved": [("operator", "suspend", "moved away", now, None, "ops")],
        "fraud": [("operator", "block", "fraud check", now, None, "ops")],
        "unknown": [("operator", "block", "blocked before holds were recorded", now, None, "migration")],
    }
