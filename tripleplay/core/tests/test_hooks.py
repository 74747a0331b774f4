"""In-transaction hooks (tripleplay.core.hooks): handlers run in their explicit order, inside the
caller's transaction; the wiring of the real hooks is what the apps register; periodic jobs are
registered per app and take their intervals from settings."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import transaction

from tripleplay.collections import hooks as collections_hooks
from tripleplay.core import scheduler
from tripleplay.core.hooks import Hook, declared_hooks
from tripleplay.customers import hooks as customer_hooks
from tripleplay.customers.models import Customer
from tripleplay.invoicing import hooks as invoicing_hooks
from tripleplay.iptv import hooks as iptv_hooks
from tripleplay.ledger import hooks as ledger_hooks
from tripleplay.orders import hooks as orders_hooks
from tripleplay.promotions import hooks as promotions_hooks
from tripleplay.sessions import hooks as sessions_hooks


def new_hook(**kwargs) -> Hook:
    return Hook(f"test.{uuid4().hex}", doc="a hook of this test", **kwargs)


def first(log: list, value):
    log.append(("first", value))


def second(log: list, value):
    log.append(("second", value))


def third(log: list, value):
    log.append(("third", value))


def test_handlers_run_in_their_order_not_their_registration_order():
    hook = new_hook()
    hook.register(third, order=30)
    hook.register(first, order=10)
    hook.register(second, order=20)
    log = []
    hook(log, 7)
    assert log == [("first", 7), ("second", 7), ("third", 7)]
    assert hook.handlers() == [f"{__name__}.first", f"{__name__}.second", f"{__name__}.third"]
    assert declared_hooks()[hook.name] == hook.handlers()


def test_registering_a_handler_again_moves_it_and_an_order_taken_by_another_is_refused():
    hook = new_hook()
    hook.register(first, order=10)
    hook.register(second, order=20)
    hook.register(first, order=30)  # ready() run again, or a new order: replaced, not doubled
    assert hook.handlers() == [f"{__name__}.second", f"{__name__}.first"]
    with pytest.raises(ValueError, match=r"order 20 is taken by .*\.second"):
        hook.register(third, order=20)
    hook.unregister(second)
    assert hook.handlers() == [f"{__name__}.first"]


def test_a_hook_name_is_declared_once():
    hook = new_hook()
    with pytest.raises(ValueError, match="declared twice"):
        Hook(hook.name, doc="again")


def test_a_required_hook_without_a_handler_is_an_error_and_an_optional_one_does_nothing():
    with pytest.raises(RuntimeError, match="has no handler"):
        new_hook(required=True)()
    assert new_hook()() is None


def test_a_failing_handler_rolls_back_the_callers_transaction(make_customer):
    customer = make_customer()
    hook = new_hook()

    def rename(c: Customer):
        Customer.objects.filter(pk=c.pk).update(name="renamed")

    def fail(c: Customer):
        raise RuntimeError("handler failed")

    hook.register(rename, order=10)
    hook.register(fail, order=20)
    with pytest.raises(RuntimeError, match="handler failed"), transaction.atomic():
        hook(customer)
    customer.refresh_from_db()
    assert customer.name != "renamed"


def test_the_apps_wiring_is_the_documented_one():
    """Who answers each lower layer's hook, in which order (lock order: customer row, assignments, funds)."""
    assert ledger_hooks.PAYMENT_LOCKING.handlers() == [
        "tripleplay.invoicing.services.on_payment_locking",
        "tripleplay.subscriptions.services.on_payment_locking",
    ]
    assert ledger_hooks.PAYMENT_RECORDED.handlers() == [
        "tripleplay.subscriptions.services.on_payment_recorded",
        "tripleplay.invoicing.services.on_payment_recorded",
        "tripleplay.webhooks.handlers.payment_recorded",
    ]
    assert invoicing_hooks.PAYMENT_SETTLED.handlers() == ["tripleplay.collections.services.lift_if_cleared"]
    assert customer_hooks.CUSTOMER_SIGNED_UP.handlers() == ["tripleplay.ledger.services.open_funds"]
    assert customer_hooks.CREDIT_LIMIT_CHANGED.handlers() == ["tripleplay.ledger.services.set_credit_limit"]
    assert customer_hooks.CUSTOMER_CHANGED.handlers() == ["tripleplay.iptv.provisioning.sync_customer",
                                                          "tripleplay.radius.services.disconnect_customer_if_barred",
                                                          "tripleplay.sessions.services.close_windows_of_customer",
                                                          "tripleplay.webhooks.handlers.customer_changed",
                                                          "tripleplay.notifications.handlers.customer_changed"]
    assert customer_hooks.ACCOUNT_CHANGED.handlers() == ["tripleplay.iptv.provisioning.sync_account",
                                                         "tripleplay.radius.services.disconnect_account_if_barred",
                                                         "tripleplay.radius.services.coa_on_main_product_change",
                                                         "tripleplay.sessions.services.close_windows_of_account"]
    assert sessions_hooks.SESSION_MUST_END.handlers() == ["tripleplay.radius.services.disconnect_on_must_end",
                                                          "tripleplay.webhooks.handlers.session_must_end"]
    assert invoicing_hooks.INVOICES_ISSUED.handlers() == ["tripleplay.webhooks.handlers.invoices_issued",
                                                          "tripleplay.notifications.handlers.invoices_issued"]
    assert invoicing_hooks.CREDIT_NOTE_ISSUED.handlers() == ["tripleplay.notifications.handlers.credit_note_issued"]
    assert collections_hooks.COLLECTION_STEP_DONE.handlers() == ["tripleplay.notifications.handlers.collection_step_done"]
    assert promotions_hooks.TRIAL_ENDING.handlers() == ["tripleplay.notifications.handlers.trial_ending"]
    assert invoicing_hooks.INVOICES_PAID.handlers() == ["tripleplay.webhooks.handlers.invoices_paid"]
    assert iptv_hooks.PROVISIONING_FAILED.handlers() == ["tripleplay.webhooks.handlers.provisioning_failed"]
    assert orders_hooks.ORDER_PLACED.handlers() == ["tripleplay.webhooks.handlers.order_placed"]
    # Outbox work every worker does between its provisioning batches (not jobs: core.scheduler.WorkerLoop).
    assert [loop.name for loop in scheduler.registered_loops()] == [
        "ppv-grants", "radius-disconnects", "webhooks-delivery", "ppv-purchase-events", "notifications-delivery"]


def test_each_app_registers_its_jobs_and_the_worker_takes_intervals_from_settings(settings):
    assert [(j.name, j.run.__module__) for j in scheduler.registered_jobs()] == [
        ("vacation-holds", "tripleplay.customers.jobs"),
        ("portal-cleanup", "tripleplay.subscriber_access.jobs"),
        ("trials", "tripleplay.promotions.jobs"),
        ("import-packages", "tripleplay.iptv.jobs"),
        ("reconcile", "tripleplay.iptv.jobs"),
        ("dated-changes", "tripleplay.iptv.jobs"),
        ("expire-holds", "tripleplay.ppv.jobs"),
        ("charge", "tripleplay.subscriptions.jobs"),
        ("sweep-sessions", "tripleplay.sessions.jobs"),
        ("invoice-run", "tripleplay.invoicing.jobs"),
        ("invoice-documents", "tripleplay.invoicing.jobs"),
        ("collections", "tripleplay.collections.jobs"),
        ("autopay", "tripleplay.payments.jobs"),
        ("radius-reconcile", "tripleplay.radius.jobs"),
        ("webhooks-prune", "tripleplay.webhooks.retention"),
        ("low-balance", "tripleplay.notifications.jobs"),
        ("package-ending", "tripleplay.notifications.jobs"),
        ("idempotency-keys-prune", "tripleplay.api.idempotency"),
    ]
    settings.TRIPLEPLAY_JOB_INTERVALS = {**settings.TRIPLEPLAY_JOB_INTERVALS, "charge": 120}
    jobs = {j.name: j for j in scheduler.worker_jobs()}
    assert jobs["charge"].interval == timedelta(seconds=120)
    assert jobs["invoice-run"].lease == timedelta(hours=2)
    settings.TRIPLEPLAY_JOB_INTERVALS = {}  # unset: each job's own default
    assert {j.name: j.interval.total_seconds() for j in scheduler.worker_jobs()} == {
        "vacation-holds": 3600, "portal-cleanup": 3600, "trials": 3600, "import-packages": 21600, "reconcile": 86400,
        "dated-changes": 3600,
        "expire-holds": 60, "charge": 3600, "sweep-sessions": 60, "invoice-run": 3600, "invoice-documents": 300,
        "collections": 3600, "autopay": 3600, "radius-reconcile": 300, "low-balance": 60, "package-ending": 3600,
        "webhooks-prune": 86400, "idempotency-keys-prune": 3600}


def test_a_job_name_belongs_to_one_job():
    taken = scheduler.registered_jobs()[0]
    scheduler.register(taken)  # the same job again (ready() run twice): fine
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register(scheduler.PeriodicJob(taken.name, lambda: "other", default_seconds=60))


def test_worker_loops_run_on_every_call_and_a_failing_one_does_not_stop_the_others(monkeypatch):
    calls = []

    def failing() -> int:
        calls.append("failing")
        raise RuntimeError("boom")

    def sending() -> int:
        calls.append("sending")
        return 3

    monkeypatch.setattr(scheduler, "_LOOPS", {})
    a, b = scheduler.WorkerLoop("a", failing, lambda: None), scheduler.WorkerLoop("b", sending, lambda: None)
    scheduler.register_loop(a)
    scheduler.register_loop(b)
    scheduler.register_loop(b)  # the same again (ready() twice): fine
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register_loop(scheduler.WorkerLoop("b", failing, lambda: None))
    assert scheduler.run_loops() == 3 and scheduler.run_loops([a, b]) == 3
    assert calls == ["failing", "sending"] * 2
