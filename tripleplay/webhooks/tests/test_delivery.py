"""Deliveries to a real receiver process that verifies each with the reference `standardwebhooks` package."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.customers.services import change_customer_status
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.webhooks.delivery import Deliverer
from tripleplay.webhooks.models import Delivery, DeliveryAttempt
from tripleplay.webhooks.policy import RetryPolicy
from tripleplay.webhooks.services import replay_delivery, replay_event, rotate_secret, update_endpoint
from tripleplay.webhooks.tests.conftest import events_of

FAST = RetryPolicy(base_seconds=0.01, cap_seconds=0.02, max_attempts=3)


def drain(**kw) -> Deliverer:
    d = Deliverer(threads=2, poll_seconds=0.02, retry=kw.pop("retry", FAST), **kw)
    d.run(until_idle=True, max_seconds=30)
    return d


def test_delivered_signed_and_logged(endpoint, receiver, actor, make_customer):
    made = endpoint()
    r = receiver(made.secret)
    update_endpoint(actor, made.endpoint, url=r.url)
    c = make_customer()
    record_payment(actor, c, Money(1250, "USD"), idempotency_key="pay-1", reference="R1")
    (ev,) = events_of()
    assert drain().delivered == 1
    (req,) = r.requests()
    assert (req["verified"], req["status"], req["id"], req["type"], req["signatures"]) == (
        True, 204, ev.uid, "payment.recorded", 1)
    assert req["data"] == ev.payload and req["data"]["amount_minor"] == 1250
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.last_status_code, d.lease_owner) == ("succeeded", 1, 204, "")
    (a,) = DeliveryAttempt.objects.filter(delivery=d)
    assert (a.number, a.status_code, a.error, a.response_excerpt) == (1, 204, "", "")


def test_failures_retry_then_dead_letter_then_replay_with_the_same_id(endpoint, receiver, actor, make_customer):
    made = endpoint()
    failing = receiver(made.secret, fail_rate=1.0)
    update_endpoint(actor, made.endpoint, url=failing.url)
    c = make_customer()
    change_customer_status(actor, c, "blocked", reason="fraud")
    drain()
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.last_status_code, d.last_error) == ("failed", 3, 500, "HTTP 500")
    log = list(DeliveryAttempt.objects.filter(delivery=d).order_by("number").values_list(
        "number", "status_code", "response_excerpt"))
    assert log == [(1, 500, "temporary failure"), (2, 500, "temporary failure"), (3, 500, "temporary failure")]
    assert [q["status"] for q in failing.requests()] == [500, 500, 500]
    # The operator fixes the receiver and replays: same message id, attempt count starts again.
    healthy = receiver(made.secret)
    update_endpoint(actor, made.endpoint, url=healthy.url)
    replay_delivery(actor, d)
    drain()
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("succeeded", 1)
    (req,) = healthy.requests()
    assert req["id"] == failing.requests()[0]["id"] == d.event.uid
    assert DeliveryAttempt.objects.filter(delivery=d).count() == 4
    # Replaying the event sends it again too (the existing delivery, pending again).
    (again,) = replay_event(actor, d.event)
    assert (again.pk, again.status) == (d.pk, "pending")
    drain()
    assert [q["id"] for q in healthy.requests()] == [d.event.uid, d.event.uid]


def test_backoff_waits_between_attempts(endpoint, receiver, actor, make_customer):
    made = endpoint()
    r = receiver(made.secret, fail_rate=1.0)
    update_endpoint(actor, made.endpoint, url=r.url)
    change_customer_status(actor, make_customer(), "suspended", reason="x")
    d = Deliverer(threads=1, retry=RetryPolicy(base_seconds=60, max_attempts=5), seed=3)
    assert d.run_once() == 1
    delivery = Delivery.objects.get()
    wait = (delivery.next_attempt_at - clock.now()).total_seconds()
    assert (delivery.status, delivery.attempts) == ("pending", 1) and 25 <= wait <= 90
    assert d.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=91))
    assert d.run_once() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and 55 <= (delivery.next_attempt_at - clock.now()).total_seconds() <= 180
    d.close()


def test_disabled_endpoint_keeps_its_pending_deliveries_until_enabled(endpoint, receiver, actor, make_customer):
    made = endpoint()
    r = receiver(made.secret)
    update_endpoint(actor, made.endpoint, url=r.url)
    change_customer_status(actor, make_customer(), "suspended", reason="x")
    update_endpoint(actor, made.endpoint, enabled=False)
    drain()
    assert r.requests() == [] and Delivery.objects.get().status == "pending"
    update_endpoint(actor, made.endpoint, enabled=True)
    drain()
    assert [q["status"] for q in r.requests()] == [204]


def test_rotation_signs_with_both_secrets_during_the_grace(endpoint, receiver, actor, make_customer):
    made = endpoint()
    rotated = rotate_secret(actor, made.endpoint)
    old_r, new_r = receiver(made.secret), receiver(rotated.secret)
    for r in (old_r, new_r):
        update_endpoint(actor, made.endpoint, url=r.url)
        change_customer_status(actor, make_customer(), "suspended", reason="x")
        drain()
        (req,) = r.requests()
        assert (req["verified"], req["signatures"]) == (True, 2)
    clock.advance(timedelta(hours=25))  # the previous secret no longer signs
    update_endpoint(actor, made.endpoint, url=old_r.url)
    change_customer_status(actor, make_customer(), "suspended", reason="x")
    Deliverer(threads=1, retry=FAST).run_once()
    assert old_r.requests()[-1]["verified"] is False  # refused by a receiver that kept the old secret


@pytest.mark.parametrize("fault", ["connection refused", "timeout"])
def test_network_failures_are_retried(endpoint, actor, make_customer, fault):
    import socket

    from tripleplay.core.testing import free_port

    made = endpoint()
    port = free_port()
    listener = None
    if fault == "timeout":  # accepts connections, never answers
        listener = socket.socket()
        listener.bind(("127.0.0.1", port))
        listener.listen(8)
    update_endpoint(actor, made.endpoint, url=f"http://127.0.0.1:{port}/", timeout_seconds=1)
    change_customer_status(actor, make_customer(), "suspended", reason="x")
    try:
        Deliverer(threads=1, retry=FAST).run_once()
    finally:
        if listener is not None:
            listener.close()
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, None)
    assert d.last_error.startswith("timeout" if fault == "timeout" else "ConnectError")


def test_tripleplay_worker_delivers_between_its_provisioning_batches(endpoint, receiver, actor, make_customer):
    from django.core.management import call_command

    made = endpoint()
    r = receiver(made.secret)
    update_endpoint(actor, made.endpoint, url=r.url)
    change_customer_status(actor, make_customer(), "suspended", reason="x")
    call_command("worker", "--until-idle", "--no-jobs", "--threads", "1", stdout=None)
    (req,) = r.requests()
    assert (req["verified"], req["status"], req["type"]) == (True, 204, "customer.status_changed")
    assert Delivery.objects.get().status == "succeeded"


def test_a_delivery_whose_lease_would_run_out_is_left_for_the_next_claim(endpoint, receiver, actor, make_customer):
    made = endpoint()
    r = receiver(made.secret)
    update_endpoint(actor, made.endpoint, url=r.url, timeout_seconds=30)
    change_customer_status(actor, make_customer(), "suspended", reason="x")
    d = Deliverer(threads=1, lease_seconds=20)  # shorter than the endpoint's timeout: never safe to send
    assert d.run_once() == 0
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.lease_owner, r.requests()) == ("pending", 0, "", [])
    assert DeliveryAttempt.objects.count() == 0
    d.close()
    Deliverer(threads=1, lease_seconds=60).run_once()
    assert [q["status"] for q in r.requests()] == [204]
