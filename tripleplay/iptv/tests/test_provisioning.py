"""Outbox, worker outcomes, operator actions, import and reconciliation, against a real simulator
process (the default kind is generic_xml's sibling matrixstream: any registered kind would do;
test_provisioning_e2e covers every kind)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.errors import Conflict
from tripleplay.customers.models import Account
from tripleplay.customers.services import add_addon, change_customer_status, create_account
from tripleplay.iptv.catalog_import import import_catalog, import_from_platform
from tripleplay.iptv.configuration import update_platform
from tripleplay.iptv.models import (
    ChannelPackage,
    CommandStatus,
    ProvisioningCommand,
    ProvisioningStatus,
    Subscriber,
)
from tripleplay.iptv.platforms.base import PackageInfo
from tripleplay.iptv.provisioning import cancel_subscriber_commands, retry_subscriber
from tripleplay.iptv.reconcile import reconcile
from tripleplay.iptv.tests.conftest import drain, make_platform, make_tv_catalog
from tripleplay.iptv.worker import RetryPolicy, Worker

KIND = "matrixstream"


@pytest.fixture
def tv(db, actor, simulator_pool):
    sim = simulator_pool(KIND)
    return sim, make_tv_catalog(actor, make_platform(actor, sim))


def test_a_failed_billing_transaction_leaves_no_command(tv, actor, make_customer):
    sim, cat = tv
    customer = make_customer()
    with pytest.raises(RuntimeError), transaction.atomic():
        create_account(actor, customer, main_plan=cat.tv_plan, login="rolled-back")
        assert ProvisioningCommand.objects.count() == 1
        raise RuntimeError("the billing change fails after the account was written")
    assert (Account.objects.filter(login="rolled-back").count(), ProvisioningCommand.objects.count(),
            Subscriber.objects.count()) == (0, 0, 0)


def test_an_account_without_iptv_makes_no_command(tv, actor, make_customer):
    sim, cat = tv
    create_account(actor, make_customer(), main_plan=cat.internet_plan, login="net-only")
    assert ProvisioningCommand.objects.count() == 0


def test_sync_outside_a_transaction_is_refused(tv, actor, make_customer):
    from tripleplay.iptv.provisioning import sync_account

    sim, cat = tv
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    with transaction.get_connection().cursor():
        pass
    # pytest-django wraps each test in a transaction; leave it to see the guard.
    conn = transaction.get_connection()
    saved = conn.in_atomic_block
    conn.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError):
            sync_account(actor, account, "Account/New")
    finally:
        conn.in_atomic_block = saved


def test_transient_failures_retry_with_backoff_then_succeed(tv, actor, make_customer):
    sim, cat = tv
    clock.freeze(clock.now())
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan, addon_plans=[cat.sports_plan])
    sub = Subscriber.objects.get(account=account)
    sim.set_faults(error_rate=1.0)
    worker = Worker(threads=1, retry=RetryPolicy(base_seconds=10, cap_seconds=100), seed=7)
    assert worker.run_once() == 1
    sub.refresh_from_db()
    delay = (sub.next_attempt_at - clock.now()).total_seconds()
    assert (sub.status, sub.attempts) == (ProvisioningStatus.RETRY, 1)
    assert 5 <= delay <= 15  # base 10 s, jitter x0.5..1.5
    command = sub.pending_command
    assert command.status == CommandStatus.PENDING and command.attempts == 1
    assert "503" in command.last_error and command.exchanges[-1]["status"] == 503
    assert worker.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=16))
    assert worker.run_once() == 1
    sub.refresh_from_db()
    assert (sub.attempts, sub.status) == (2, ProvisioningStatus.RETRY)
    assert 10 <= (sub.next_attempt_at - clock.now()).total_seconds() <= 30  # doubled
    sim.set_faults()
    clock.advance(timedelta(seconds=31))
    assert worker.run_once() == 1
    sub.refresh_from_db()
    assert (sub.status, sub.attempts, sub.pending_command_id) == (ProvisioningStatus.OK, 0, None)
    assert sim.subscribers()[sub.external_id]["packages"] == ["basic", "sports"]


def test_permanent_failure_stops_visibly_then_operator_retry(tv, actor, make_customer):
    sim, cat = tv
    update_platform(actor, cat.platform, secret="wrong-secret")
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    drain()
    sub = Subscriber.objects.get(account=account)
    command = ProvisioningCommand.objects.get(subscriber=sub)
    assert (sub.status, command.status, sub.next_attempt_at) == (ProvisioningStatus.FAILED, CommandStatus.FAILED, None)
    assert command.exchanges and command.exchanges[-1]["status"] in (401, 403)
    assert command.exchanges[-1]["response"]  # the platform's answer is kept for the operator
    assert "wrong-secret" not in str(command.exchanges)
    assert sim.subscribers() == {}

    update_platform(actor, cat.platform, secret=sim.password)
    retry_subscriber(actor, sub)
    assert AuditEvent.objects.filter(action="provisioning.retried").count() == 1
    drain()
    sub.refresh_from_db()
    assert sub.status == ProvisioningStatus.OK
    assert sim.subscribers()[sub.external_id]["enabled"] is True
    with pytest.raises(Conflict):
        retry_subscriber(actor, sub)


def test_operator_cancel_drops_the_queue(tv, actor, make_customer):
    sim, cat = tv
    sim.set_faults(error_rate=1.0)
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    sub = Subscriber.objects.get(account=account)
    cancel_subscriber_commands(actor, sub)
    sub.refresh_from_db()
    assert (sub.pending_command_id, sub.status) == (None, ProvisioningStatus.FAILED)
    assert "cancelled" in sub.status_message
    assert ProvisioningCommand.objects.get(subscriber=sub).status == CommandStatus.CANCELLED
    assert Worker(threads=1).run_once() == 0
    with pytest.raises(Conflict):
        cancel_subscriber_commands(actor, sub)


def test_a_new_change_after_a_failure_is_retried_automatically(tv, actor, make_customer):
    sim, cat = tv
    update_platform(actor, cat.platform, secret="nope")
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    drain()
    assert Subscriber.objects.get(account=account).status == ProvisioningStatus.FAILED
    update_platform(actor, cat.platform, secret=sim.password)
    add_addon(actor, account, cat.movies_plan)
    drain()
    sub = Subscriber.objects.get(account=account)
    assert sub.status == ProvisioningStatus.OK
    assert sim.subscribers()[sub.external_id]["packages"] == ["basic", "movies"]


def test_a_lease_expires_when_a_worker_dies(tv, actor, make_customer):
    sim, cat = tv
    clock.freeze(clock.now())
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    from tripleplay.iptv.worker import claim

    assert len(claim("dead-worker", 10, timedelta(seconds=60))) == 1  # claimed, then the worker "dies"
    other = Worker(name="live", threads=1)
    assert other.run_once() == 0
    clock.advance(timedelta(seconds=61))
    assert other.run_once() == 1
    assert Subscriber.objects.get(account=account).status == ProvisioningStatus.OK


def test_import_creates_updates_retires_and_never_deletes(tv, actor, make_customer):
    sim, cat = tv
    platform = cat.platform
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan, addon_plans=[cat.kids_plan])
    drain()
    sim.set_packages([
        {"external_id": "basic", "name": "Basic TV", "kind": "channel", "channels": ["news-1"]},
        {"external_id": "sports", "name": "Sports Pack HD", "kind": "channel", "channels": []},
        {"external_id": "movies", "name": "Movies Pack", "kind": "channel", "channels": ["movie-1", "movie-2"]},
        {"external_id": "vod-plus", "name": "VOD Plus", "kind": "service", "channels": []},
        {"external_id": "docs", "name": "Documentaries", "kind": "channel", "channels": ["doc-1"]},
    ])
    dry = import_from_platform(actor, platform, apply=False)
    assert dry.packages["created"] == ["docs"] and dry.packages["retired"] == ["kids"]
    assert set(dry.packages["updated"]) == {"basic", "sports"}
    assert dry.changes["sports"]["name"] == ["Sports Pack", "Sports Pack HD"]
    assert not ChannelPackage.objects.filter(external_id="docs").exists()  # dry run changed nothing

    report = import_from_platform(actor, platform)
    assert report.as_dict()["packages"] == dry.as_dict()["packages"]
    kids = ChannelPackage.objects.get(platform=platform, external_id="kids")
    assert (kids.status, kids.retired_at is not None) == ("retired", True)
    assert ChannelPackage.objects.get(platform=platform, external_id="sports").name == "Sports Pack HD"
    # The retired package leaves the subscriber's desired set (the platform no longer has it).
    drain()
    assert sim.subscribers()[f"tp-{account.pk}"]["packages"] == ["basic"]
    assert import_from_platform(actor, platform).changed is False  # a second run changes nothing


def test_import_refuses_a_bad_catalog_and_changes_nothing(tv, actor):
    from tripleplay.core.errors import InvalidInput

    sim, cat = tv
    before = list(ChannelPackage.objects.values_list("external_id", "name", "status"))
    with pytest.raises(InvalidInput):
        import_catalog(actor, cat.platform, [PackageInfo("a", "A"), PackageInfo("a", "again")], None)
    assert list(ChannelPackage.objects.values_list("external_id", "name", "status")) == before


def test_reconcile_reports_and_repairs_drift(tv, actor, make_customer):
    sim, cat = tv
    accounts = [create_account(actor, make_customer(), main_plan=cat.tv_plan, addon_plans=[cat.sports_plan])
                for _ in range(4)]
    change_customer_status(actor, accounts[3].customer, "blocked", reason="check")
    drain()
    a0, a1, a2, a3 = (f"tp-{a.pk}" for a in accounts)
    sim.delete_subscriber(a0)  # missing
    sim.put_subscriber(a1, packages=["basic", "sports", "movies"])  # wrong packages
    sim.put_subscriber(a2, enabled=False)  # wrong status
    sim.put_subscriber("legacy-42", enabled=True, packages=["basic"])  # someone else's
    report = reconcile(actor, cat.platform)
    assert (report.checked, report.in_sync, report.repaired) == (4, 1, 0)
    assert sorted((d.kind, d.subscriber_id) for d in report.drift) == sorted(
        [("missing", a0), ("wrong_packages", a1), ("wrong_status", a2), ("foreign", "legacy-42")])
    assert ProvisioningCommand.objects.filter(status="pending").count() == 0  # report only

    repaired = reconcile(actor, cat.platform, repair=True)
    assert repaired.repaired == 3
    drain()
    subs = sim.subscribers()
    assert (subs[a0]["enabled"], sorted(subs[a0]["packages"])) == (True, ["basic", "sports"])
    assert sorted(subs[a1]["packages"]) == ["basic", "sports"]
    assert subs[a2]["enabled"] is True and subs[a3]["enabled"] is False
    assert "legacy-42" in subs  # never touched
    after = reconcile(actor, cat.platform)
    assert [(d.kind, d.subscriber_id) for d in after.drift] == [("foreign", "legacy-42")]


def test_a_lost_answer_leaves_the_state_unknown_so_a_later_change_is_sent(tv, actor, make_customer):
    """The platform applied 'disable' but the answer was lost; billing then re-enables. The worker
    must not assume the platform is still enabled (it is not): it sends 'enable'."""
    sim, cat = tv
    customer = make_customer()
    account = create_account(actor, customer, main_plan=cat.tv_plan)
    drain()
    sid = f"tp-{account.pk}"
    change_customer_status(actor, customer, "suspended", reason="overdue")
    sim.set_faults(drop_after_rate=1.0)
    assert Worker(threads=1).run_once() == 1
    assert sim.subscribers()[sid]["enabled"] is False  # applied, answer lost
    sub = Subscriber.objects.get(account=account)
    assert (sub.status, sub.applied_enabled) == (ProvisioningStatus.RETRY, None)  # unknown, not "still enabled"
    sim.set_faults()
    change_customer_status(actor, customer, "active", reason="paid")
    drain()
    assert sim.subscribers()[sid]["enabled"] is True


def test_a_takeover_after_a_dead_worker_forgets_the_acknowledged_state(tv, actor, make_customer):
    from tripleplay.iptv.worker import claim

    sim, cat = tv
    clock.freeze(clock.now())
    customer = make_customer()
    account = create_account(actor, customer, main_plan=cat.tv_plan)
    drain()
    change_customer_status(actor, customer, "suspended", reason="overdue")
    claim("dead-worker", 10, timedelta(seconds=30))
    sub = Subscriber.objects.get(account=account)
    assert (sub.lease_owner, sub.applied_enabled) == ("dead-worker", True)
    clock.advance(timedelta(seconds=31))
    claim("heir", 10, timedelta(seconds=30))
    sub.refresh_from_db()
    assert (sub.lease_owner, sub.applied_exists, sub.applied_enabled, sub.applied_packages) == ("heir", None, None, None)


def test_a_secret_that_no_longer_decrypts_fails_visibly(tv, actor, make_customer):
    """E.g. TRIPLEPLAY_SECRET_KEY rotated without TRIPLEPLAY_CREDENTIALS_KEY: an operator must act."""
    from tripleplay.iptv.models import Platform

    sim, cat = tv
    Platform.objects.filter(pk=cat.platform.pk).update(secret_encrypted="not-a-fernet-token")
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    drain()
    sub = Subscriber.objects.get(account=account)
    assert sub.status == ProvisioningStatus.FAILED
    assert "misconfigured" in sub.status_message and "decrypt" in sub.status_message
    assert sim.subscribers() == {}


def test_the_worker_jobs_import_and_reconcile_every_platform(tv, actor, make_customer, settings):
    from tripleplay.core import scheduler
    from tripleplay.iptv import jobs

    sim, cat = tv
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan)
    drain()
    sim.set_packages([{"external_id": "basic", "name": "Basic TV", "kind": "channel", "channels": []}])
    assert jobs.import_packages() == "matrixstream: updated 1, retired 4"  # basic lost its channel list
    sim.put_subscriber(f"tp-{account.pk}", enabled=False)
    settings.TRIPLEPLAY_JOB_RECONCILE_REPAIR = False
    assert jobs.reconcile_platforms() == "matrixstream: in sync 0/1, drift {'wrong_status': 1}"
    settings.TRIPLEPLAY_JOB_RECONCILE_REPAIR = True
    assert jobs.reconcile_platforms() == "matrixstream: in sync 0/1, drift {'wrong_status': 1}, repaired 1"
    drain()
    assert sim.subscribers()[f"tp-{account.pk}"]["enabled"] is True
    # Each app registers its own jobs; they run in INSTALLED_APPS order (lower layers first).
    assert [j.name for j in scheduler.worker_jobs()] == [
        "vacation-holds", "portal-cleanup", "trials", "import-packages", "reconcile", "dated-changes", "expire-holds",
        "charge", "sweep-sessions", "invoice-run", "invoice-documents", "collections", "autopay", "radius-reconcile",
        "webhooks-prune", "low-balance", "package-ending", "idempotency-keys-prune"]


def test_a_product_change_dated_in_advance_reaches_the_platform_on_its_day(tv, actor, make_customer):
    from datetime import date

    from tripleplay.customers.services import change_main_product
    from tripleplay.iptv import jobs

    sim, cat = tv
    clock.freeze(datetime_at(date(2026, 3, 10)))
    account = create_account(actor, make_customer(), main_plan=cat.tv_plan, addon_plans=[cat.sports_plan])
    drain()
    sid = f"tp-{account.pk}"
    change_main_product(actor, account, cat.internet_plan, effective_date=date(2026, 4, 1))
    drain()
    assert sim.subscribers()[sid]["enabled"] is True  # not yet: the change is dated April 1st
    assert jobs.dated_product_changes() == "0 provisioning commands for changes dated today"
    clock.freeze(datetime_at(date(2026, 4, 1)))
    assert jobs.dated_product_changes() == "1 provisioning commands for changes dated today"
    assert jobs.dated_product_changes() == "0 provisioning commands for changes dated today"  # idempotent
    drain()
    assert (sim.subscribers()[sid]["enabled"], sim.subscribers()[sid]["packages"]) == (False, ["sports"])


def datetime_at(day):
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
