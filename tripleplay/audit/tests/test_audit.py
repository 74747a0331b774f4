from datetime import UTC, datetime

import pytest

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.audit.selectors import audit_events
from tripleplay.audit.services import record
from tripleplay.core.errors import InsufficientFunds
from tripleplay.ledger.services import post_charge
from tripleplay.money import Money

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 1, 10, 30, tzinfo=UTC)


def test_record_stores_who_when_what_and_on_which_object(actor, make_customer):
    customer = make_customer(name="Ada")
    clock.freeze(T0)
    event = record(actor, "customer.noted", customer, note="hello", amount_minor=5)
    event.refresh_from_db()
    assert (event.at, event.action, event.object_type, event.object_id) == (
        T0, "customer.noted", "customer", str(customer.pk))
    assert (event.actor_kind, event.actor_ref, event.actor_name) == ("system", "test", "test")
    assert event.data == {"note": "hello", "amount_minor": 5}
    assert str(event) == f"2026-04-01 10:30:00 test customer.noted customer#{customer.pk}"


def test_audit_events_selector_filters(actor, make_customer):
    a = make_customer()
    b = make_customer()
    record(actor, "customer.noted", a)
    record(actor, "customer.noted", b)
    record(actor, "customer.other", a)
    assert audit_events(object_type="customer", object_id=str(a.pk)).count() == 3  # created + 2
    assert audit_events(action="customer.noted").count() == 2
    assert list(audit_events(action="customer.noted", object_id=str(b.pk)).values_list("object_id", flat=True)) == [
        str(b.pk)]
    # newest first
    actions = list(audit_events(object_id=str(a.pk), object_type="customer").values_list("action", flat=True))
    assert actions == ["customer.other", "customer.noted", "customer.created"]


def test_a_refused_action_leaves_no_audit_event(actor, make_customer):
    customer = make_customer()
    before = AuditEvent.objects.count()
    with pytest.raises(InsufficientFunds):
        post_charge(actor, customer, Money(100, "USD"), description="x", idempotency_key="k", must_cover=True)
    assert AuditEvent.objects.count() == before
