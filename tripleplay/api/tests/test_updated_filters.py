"""``updated_after``/``updated_before`` on the lists whose rows change (D250, D251): invoices, IPTV
provisioning commands, RADIUS commands and webhook deliveries. Each test changes one row through the
real service after a time T and leaves another as it was: the changed one, and only it, is in
``updated_after=T``; the feed is ordered by the change, oldest first, and pages by its own cursor."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from tripleplay import clock
from tripleplay.api.pagination import decode_cursor
from tripleplay.api.tests.conftest import SYSTEM, error_of
from tripleplay.customers import services as customer_services
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at, build_january
from tripleplay.iptv.models import ProvisioningCommand
from tripleplay.iptv.tests.conftest import drain, make_platform, simulator_pool  # noqa: F401
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.radius import services as radius_services
from tripleplay.radius.models import NasCommand
from tripleplay.webhooks.delivery import Deliverer
from tripleplay.webhooks.models import Delivery
from tripleplay.webhooks.policy import RetryPolicy
from tripleplay.webhooks.tests.conftest import endpoint, receiver  # noqa: F401

pytestmark = pytest.mark.django_db


def iso(at) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ids(body) -> list[int]:
    return [row["id"] for row in body["items"]]


def test_invoices_a_payment_moves_the_paid_invoice_only(support, admin, actor, catalog, make_customer):
    s = build_january(actor, catalog, make_customer)
    at(date(2026, 2, 1), hour=8)
    run_invoices(actor, date(2026, 2, 1))
    first = Invoice.objects.get(customer=s.customer)
    clock.advance(timedelta(hours=1))
    r = admin.post(f"/customers/{s.customer.pk}/invoices")  # out of turn: a second invoice, unpaid
    assert r.status_code == 201, r.content
    second = Invoice.objects.get(pk=r.json()["id"])
    assert (first.status, first.updated_at, second.status, second.updated_at) == (
        "partially_paid", first.created_at, "unpaid", second.created_at)
    clock.advance(timedelta(hours=1))
    t = clock.now()
    clock.advance(timedelta(minutes=5))
    # What the first invoice still lacks (9273 - 2000): oldest first, so the second stays as it was.
    record_payment(SYSTEM, s.customer, Money(7273, "USD"), idempotency_key="pay-the-rest")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.updated_at) == ("paid", t + timedelta(minutes=5))
    assert (second.status, second.updated_at) == ("unpaid", second.created_at)
    body = support.get("/invoices", {"updated_after": iso(t)}).json()
    assert (ids(body), body["count"], body["next_cursor"]) == ([first.pk], 1, None)
    assert (body["items"][0]["status"], body["items"][0]["updated_at"]) == ("paid", "2026-02-01T10:05:00Z")
    assert ids(support.get("/invoices", {"updated_before": iso(t)}).json()) == [second.pk]
    # The sync feed: by the last change, oldest first (the usual order is by creation, newest first).
    assert ids(support.get("/invoices", {"updated_after": "2026-01-01T00:00:00Z"}).json()) == [second.pk, first.pk]
    assert ids(support.get("/invoices").json()) == [second.pk, first.pk]  # newest created first, unchanged
    # Page one of the feed, then its cursor; a cursor of the creation order is refused by the feed.
    page = support.get("/invoices", {"updated_after": "2026-01-01T00:00:00Z", "limit": 1}).json()
    assert ids(page) == [second.pk]
    assert decode_cursor(page["next_cursor"], updated=True) == (second.updated_at, second.pk)
    rest = support.get("/invoices", {"updated_after": "2026-01-01T00:00:00Z", "cursor": page["next_cursor"]}).json()
    assert (ids(rest), rest["next_cursor"]) == ([first.pk], None)
    by_creation = support.get("/invoices", {"limit": 1}).json()["next_cursor"]
    r = support.get("/invoices", {"updated_after": "2026-01-01T00:00:00Z", "cursor": by_creation})
    assert (r.status_code, error_of(r)["code"]) == (422, "invalid_cursor")
    r = support.get("/invoices", {"cursor": page["next_cursor"]})
    assert (r.status_code, error_of(r)["code"]) == (422, "invalid_cursor")
    for bad in ("yesterday", "0.5", "2026-02-01T10:00:00"):
        r = support.get("/invoices", {"updated_after": bad})
        assert r.status_code == 422, bad


def test_invoices_void_moves_the_voided_invoice(support, finance, actor, catalog, make_customer):
    s = build_january(actor, catalog, make_customer)
    at(date(2026, 2, 1), hour=8)
    run_invoices(actor, date(2026, 2, 1))
    inv = Invoice.objects.get(customer=s.customer)
    t = clock.now()
    clock.advance(timedelta(minutes=1))
    r = finance.post(f"/invoices/{inv.pk}/void", {"reason": "wrong address"})
    assert r.status_code == 201, r.content
    inv.refresh_from_db()
    assert (inv.status, inv.updated_at) == ("void", t + timedelta(minutes=1))
    feed = support.get("/invoices", {"updated_after": iso(t)}).json()
    assert [(row["number"], row["status"]) for row in feed["items"]] == [
        ("INV-000001", "void"), ("CN-000001", "issued")]  # the same instant: by id


@pytest.fixture
def sim(simulator_pool):  # noqa: F811
    return simulator_pool("matrixstream")


def test_iptv_commands_the_worker_finishing_one_moves_it(support, finance, actor, customer, sim):
    from tripleplay.catalog import services as catalog_services
    from tripleplay.iptv.catalog_import import import_from_platform
    from tripleplay.iptv.models import ChannelPackage
    from tripleplay.iptv.packages import link_package

    platform = make_platform(actor, sim)
    import_from_platform(actor, platform)
    tv = catalog_services.create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    plan = catalog_services.create_plan(actor, tv, code="tv-monthly", name="TV monthly", periodic_fee_minor=1500)
    link_package(actor, ChannelPackage.objects.get(platform=platform, external_id="basic"), tv)

    def account(login):
        r = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": plan.pk, "login": login})
        assert r.status_code == 201, r.content

    account("tv-one")
    assert drain() == 1
    account("tv-two")
    done, pending = ProvisioningCommand.objects.order_by("id")
    assert (done.status, pending.status) == ("done", "pending")
    clock.advance(timedelta(minutes=1))
    t = clock.now()
    clock.advance(timedelta(minutes=1))
    assert drain() == 1  # the worker finishes the second command now
    done.refresh_from_db()
    pending.refresh_from_db()
    assert (pending.status, pending.updated_at, done.updated_at) == ("done", t + timedelta(minutes=1), done.created_at)
    body = support.get("/iptv/commands", {"updated_after": iso(t)}).json()
    assert (ids(body), body["items"][0]["status"], body["items"][0]["updated_at"]) == (
        [pending.pk], "done", iso(t + timedelta(minutes=1)))
    assert ids(support.get("/iptv/commands", {"updated_before": iso(t)}).json()) == [done.pk]
    body = support.get("/iptv/commands", {"updated_after": iso(t), "platform_id": platform.pk, "status": "done"})
    assert ids(body.json()) == [pending.pk]


def test_radius_commands_a_cancel_moves_the_cancelled_one(support, finance, api_catalog, customer):
    nas = radius_services.create_nas(SYSTEM, name="bras-1", address="192.0.2.10", secret="very-secret",
                                     vendor="huawei")
    customer_services.create_account(SYSTEM, customer, main_plan=api_catalog["basic_plan"], login="ada")
    for sid in ("s-1", "s-2"):
        radius_services.record_accounting(nas, {"Acct-Status-Type": ["Start"], "Acct-Session-Id": [sid],
                                                "User-Name": ["ada"], "Framed-IP-Address": ["10.0.0.9"]})
    sessions = support.get("/radius/sessions", {"customer_id": customer.pk}).json()["items"]
    for s in sessions:
        assert finance.post(f"/radius/sessions/{s['id']}/disconnect", {"reason": "x"}).status_code == 202
    kept, cancelled = NasCommand.objects.order_by("id")
    t = clock.now()
    clock.advance(timedelta(seconds=30))
    r = finance.post(f"/radius/commands/{cancelled.pk}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["updated_at"] == iso(t + timedelta(seconds=30))
    kept.refresh_from_db()
    assert (kept.status, kept.updated_at) == ("pending", kept.created_at)
    assert ids(support.get("/radius/commands", {"updated_after": iso(t)}).json()) == [cancelled.pk]
    assert ids(support.get("/radius/commands", {"updated_before": iso(t + timedelta(seconds=1))}).json()) == [kept.pk]
    r = support.get("/radius/commands", {"updated_after": iso(t), "updated_before": iso(t)})
    assert r.json()["items"] == []
    # The lists that only grow have no updated filter: it is an unknown parameter there.
    r = support.get(f"/customers/{customer.pk}/entries", {"updated_after": iso(t)})
    assert (r.status_code, error_of(r)["code"]) == (422, "unknown_parameter")


def test_webhook_deliveries_an_attempt_moves_the_attempted_one(support, actor, make_customer, endpoint,  # noqa: F811
                                                               receiver):  # noqa: F811
    from tripleplay.webhooks.services import update_endpoint

    live, off = endpoint(), endpoint()
    r = receiver(live.secret)
    update_endpoint(actor, live.endpoint, url=r.url)
    record_payment(actor, make_customer(), Money(1250, "USD"), idempotency_key="pay-1")
    update_endpoint(actor, off.endpoint, enabled=False)  # its delivery waits: it is not attempted
    sent, waiting = Delivery.objects.order_by("endpoint_id")
    assert (sent.endpoint_id, waiting.endpoint_id) == (live.endpoint.pk, off.endpoint.pk)
    t = clock.now()
    clock.advance(timedelta(seconds=10))
    deliverer = Deliverer(threads=1, poll_seconds=0.02, retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.02))
    deliverer.run(until_idle=True, max_seconds=30)
    assert deliverer.delivered == 1
    sent.refresh_from_db()
    waiting.refresh_from_db()
    assert (sent.status, sent.attempts, sent.updated_at) == ("succeeded", 1, t + timedelta(seconds=10))
    assert (waiting.status, waiting.updated_at) == ("pending", waiting.created_at)
    body = support.get("/webhooks/deliveries", {"updated_after": iso(t)}).json()
    assert (ids(body), body["items"][0]["status"], body["items"][0]["attempts"]) == ([sent.pk], "succeeded", 1)
    assert ids(support.get("/webhooks/deliveries", {"updated_before": iso(t + timedelta(seconds=1))}).json()) == [
        waiting.pk]
    body = support.get("/webhooks/deliveries", {"updated_after": iso(t), "endpoint_id": off.endpoint.pk}).json()
    assert body["items"] == []
