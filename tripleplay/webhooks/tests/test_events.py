"""Events after known actions: exact payloads, one per change, in the change's transaction; filters,
disabled endpoints and rolled-back changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from tripleplay import clock
from tripleplay.customers.services import change_customer_status
from tripleplay.invoicing.services import issue_out_of_turn
from tripleplay.ledger.services import post_charge, record_payment
from tripleplay.money import Money
from tripleplay.webhooks.models import Delivery, Event
from tripleplay.webhooks.services import update_endpoint
from tripleplay.webhooks.tests.conftest import deliveries_of, events_of

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
USD = "USD"


@pytest.fixture(autouse=True)
def _at():
    clock.freeze(T)


def test_customer_status_change_has_exact_payload_and_one_delivery(endpoint, actor, make_customer):
    ep = endpoint().endpoint
    c = make_customer(name="Ann")
    change_customer_status(actor, c, "suspended", reason="asked to pause")
    (ev,) = events_of("customer.status_changed")
    assert ev.payload == {"customer_id": c.pk, "from": "active", "to": "suspended", "reason": "asked to pause",
                          "changed_at": "2026-03-10T12:00:00Z", "changed_by": actor.name}
    assert ev.created_at == T and ev.uid.startswith("msg_")
    d = Delivery.objects.get(event=ev)
    assert (d.endpoint_id, d.status, d.attempts, d.next_attempt_at) == (ep.pk, "pending", 0, T)


def test_name_change_is_not_a_status_event(endpoint, actor, make_customer):
    from tripleplay.customers.services import update_customer

    endpoint()
    c = make_customer(name="Ann")
    update_customer(actor, c, name="Anne")
    assert events_of() == []


def test_payment_invoice_issued_and_paid(endpoint, actor, make_customer):
    endpoint()
    c = make_customer("postpaid", credit_limit_minor=100_000, tax_rate="10")
    post_charge(actor, c, Money(2000, USD), description="Install", idempotency_key="ch-1")
    inv = issue_out_of_turn(actor, c)
    (issued,) = events_of("invoice.issued")
    assert issued.payload == {
        "invoice_id": inv.pk, "number": inv.number_text, "customer_id": c.pk, "currency": USD,
        "period_start": inv.period_start.isoformat(), "period_end": inv.period_end.isoformat(),
        "issue_date": "2026-03-10", "due_date": inv.due_date.isoformat(), "subtotal_minor": 2000, "tax_minor": 200,
        "total_minor": 2200, "amount_due_minor": 2200, "settled_minor": 0, "status": "unpaid", "out_of_turn": True}
    assert events_of("invoice.paid") == []
    clock.advance(timedelta(hours=1))
    entry = record_payment(actor, c, Money(2200, USD), idempotency_key="pay-1", reference="BANK-7")
    (paid,) = events_of("invoice.paid")
    assert paid.payload == {**issued.payload, "settled_minor": 2200, "status": "paid"}
    (payment,) = events_of("payment.recorded")
    assert payment.payload == {"customer_id": c.pk, "entry_id": entry.pk, "amount_minor": 2200, "currency": USD,
                               "balance_after_minor": 0, "reference": "BANK-7", "description": entry.description,
                               "recorded_at": "2026-03-10T13:00:00Z"}
    # In the order the changes happened: issued, then the payment's settlement, then the payment's own event
    # (its hook runs after invoicing's, which settles).
    assert [e.type for e in events_of()] == ["invoice.issued", "invoice.paid", "payment.recorded"]


def test_invoice_issued_already_covered_by_a_payment_is_also_paid(endpoint, actor, make_customer):
    endpoint(["invoice.issued", "invoice.paid"])
    c = make_customer("prepaid")
    record_payment(actor, c, Money(5000, USD), idempotency_key="pay-1")
    post_charge(actor, c, Money(1500, USD), description="Fee", idempotency_key="ch-1")
    inv = issue_out_of_turn(actor, c)
    assert [(e.type, e.payload["invoice_id"], e.payload["status"]) for e in events_of()] == [
        ("invoice.issued", inv.pk, "paid"), ("invoice.paid", inv.pk, "paid")]


def test_filter_is_respected_and_a_disabled_endpoint_gets_nothing(endpoint, actor, make_customer):
    payments = endpoint(["payment.recorded"], url="http://127.0.0.1:9/payments").endpoint
    statuses = endpoint(["customer.status_changed"], url="http://127.0.0.1:9/status").endpoint
    off = endpoint(["*"], url="http://127.0.0.1:9/off").endpoint
    update_endpoint(actor, off, enabled=False)
    c = make_customer()
    record_payment(actor, c, Money(100, USD), idempotency_key="pay-1")
    change_customer_status(actor, c, "blocked", reason="fraud")
    assert deliveries_of(payments) == [("payment.recorded", "pending")]
    assert deliveries_of(statuses) == [("customer.status_changed", "pending")]
    assert deliveries_of(off) == []


def test_no_endpoint_no_event(actor, make_customer, db):
    c = make_customer()
    record_payment(actor, c, Money(100, USD), idempotency_key="pay-1")
    assert Event.objects.count() == 0


def test_a_change_that_rolls_back_leaves_no_event(endpoint, actor, make_customer):
    endpoint()
    c = make_customer()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        record_payment(actor, c, Money(100, USD), idempotency_key="pay-1")
        change_customer_status(actor, c, "suspended", reason="x")
        assert len(events_of()) == 2  # written inside the transaction ...
        raise Boom
    assert events_of() == [] and Delivery.objects.count() == 0  # ... and gone with it


def test_invoice_run_writes_one_event_per_invoice(endpoint, actor, make_customer):
    from tripleplay.invoicing.services import run_invoices

    endpoint(["invoice.issued"])
    clock.freeze(datetime(2026, 1, 1, 9, tzinfo=UTC))
    customers = [make_customer("postpaid", credit_limit_minor=10_000, bill_cycle_day=1) for _ in range(3)]
    for i, c in enumerate(customers):
        post_charge(actor, c, Money(100 * (i + 1), USD), description="Fee", idempotency_key=f"ch-{i}")
    clock.freeze(datetime(2026, 2, 1, 9, tzinfo=UTC))
    report = run_invoices(actor, date(2026, 2, 1), batch_size=2)
    assert report.invoices == 3
    got = sorted((e.payload["customer_id"], e.payload["subtotal_minor"]) for e in events_of("invoice.issued"))
    assert got == [(c.pk, 100 * (i + 1)) for i, c in enumerate(customers)]
