"""The outbox: notices written in the change's transaction (a rollback leaves none), once per key, in
the customer's language with English as fallback; each event: low balance (warn once, re-arm),
suspension, every collections step, invoice issued, a package ending."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from tripleplay import clock
from tripleplay.core.errors import InvalidInput
from tripleplay.customers.services import change_customer_status
from tripleplay.ledger.services import post_charge, post_credit, record_payment
from tripleplay.money import Money
from tripleplay.notifications import services
from tripleplay.notifications.models import Notification, Template

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _at():
    clock.freeze(T)


def rows(customer=None):
    qs = Notification.objects.order_by("id")
    if customer is not None:
        qs = qs.filter(customer=customer)
    return list(qs.values_list("kind", "channel", "language", "recipient", "subject", "body", "status"))


@pytest.fixture
def ann(make_customer):
    return make_customer(name="Ann", email="ann@example.com", phone="+4915112345678")


def test_notify_writes_one_row_per_channel_with_an_address_and_once_per_key(ann, make_customer):
    ctx = {"customer_name": "Ann", "package": "Sports", "last_day": date(2026, 3, 31)}
    made = services.notify(ann, "trial_ending", ctx, key="trial-7")
    assert len(made) == 2
    assert rows() == [
        ("trial_ending", "email", "en", "ann@example.com", "Your trial of Sports runs until 31 March 2026",
         "Dear Ann,\n\nyour trial of Sports runs until 31 March 2026.\n", "pending"),
        ("trial_ending", "sms", "en", "+4915112345678", "", "Your trial of Sports runs until 31 March 2026.", "pending")]
    assert services.notify(ann, "trial_ending", ctx, key="trial-7") == []  # the same key: nothing more
    assert Notification.objects.count() == 2
    no_phone = make_customer(name="Bob", email="bob@example.com")
    services.notify(no_phone, "trial_ending", ctx, key="trial-8")
    assert [r[1] for r in rows(no_phone)] == ["email"]


def test_rollback_leaves_no_notification(ann, actor):
    with pytest.raises(RuntimeError), transaction.atomic():
        change_customer_status(actor, ann, "suspended", reason="asked to pause")
        assert len(rows(ann)) == 2  # written inside the change's transaction
        raise RuntimeError("the change fails after its notices were written")
    assert rows() == []
    ann.refresh_from_db()
    assert ann.status == "active"


def test_language_from_preference_then_portal_login_else_english(ann, actor, make_customer):
    from tripleplay.subscriber_access.models import SubscriberLogin

    services.set_preferences(actor, ann, language="de")
    change_customer_status(actor, ann, "suspended", reason="Urlaub")
    assert rows(ann) == [
        ("suspended", "email", "de", "ann@example.com", "Ihr Dienst ist gesperrt",
         "Guten Tag Ann,\n\nIhr Dienst wurde gesperrt (Urlaub).\n", "pending"),
        ("suspended", "sms", "de", "+4915112345678", "", "Ihr Dienst wurde gesperrt (Urlaub).", "pending")]
    bob = make_customer(name="Bob", phone="+4915100000001")
    SubscriberLogin.objects.create(customer=bob, language="de", created_at=T)
    assert services.customer_languages([bob]) == {bob.pk: "de"}
    # German switched off for SMS: no fallback (the operator chose silence); a missing row falls back.
    Template.objects.filter(kind="suspended", channel="sms", language="de").update(enabled=False)
    Template.objects.filter(kind="suspended", channel="email", language="de").delete()
    change_customer_status(actor, bob, "suspended", reason="x")
    assert rows(bob) == []  # no e-mail address, German SMS disabled
    services.set_preferences(actor, ann, language="de")
    change_customer_status(actor, ann, "active", reason="back")
    change_customer_status(actor, ann, "suspended", reason="again")
    assert rows(ann)[2:] == [("suspended", "email", "en", "ann@example.com", "Your service is suspended",
                              "Dear Ann,\n\nyour service has been suspended (again).\n", "pending")]


def test_low_balance_warns_once_and_rearms_when_back_above(ann, actor):
    services.set_preferences(actor, ann, low_balance_threshold_minor=500)
    record_payment(actor, ann, Money(1000, "USD"), idempotency_key="p1", reference="top-up")
    assert services.scan_low_balance() == (0, 0)
    post_charge(actor, ann, Money(600, "USD"), description="usage", idempotency_key="c1")
    assert services.scan_low_balance() == (1, 0)
    assert rows(ann) == [
        ("low_balance", "email", "en", "ann@example.com", "Your balance is low",
         "Dear Ann,\n\nyour available balance is US$4.00, below the US$5.00 you asked us to warn you at.\n"
         "Please top up to keep your services running.\n", "pending"),
        ("low_balance", "sms", "en", "+4915112345678", "", "Your balance is US$4.00, below US$5.00. Please top up.",
         "pending")]
    post_charge(actor, ann, Money(100, "USD"), description="usage", idempotency_key="c2")
    assert services.scan_low_balance() == (0, 0)  # still below: no second warning
    post_credit(actor, ann, Money(200, "USD"), reason="goodwill", idempotency_key="k1")
    assert services.scan_low_balance() == (0, 1)  # 5.00 is not below 5.00: re-armed
    post_charge(actor, ann, Money(1, "USD"), description="usage", idempotency_key="c3")
    assert services.scan_low_balance() == (1, 0)
    assert len(rows(ann)) == 4 and rows(ann)[3][5] == "Your balance is US$4.99, below US$5.00. Please top up."


def test_threshold_is_validated(ann, actor):
    for bad in (-1, 1.5, "5", True):
        with pytest.raises(InvalidInput):
            services.set_preferences(actor, ann, low_balance_threshold_minor=bad)
    with pytest.raises(InvalidInput):
        services.set_preferences(actor, ann, language="fr")


def test_operator_suspension_notifies_but_reactivation_does_not(ann, actor):
    change_customer_status(actor, ann, "suspended", reason="asked to pause")
    change_customer_status(actor, ann, "active", reason="back")
    change_customer_status(actor, ann, "blocked", reason="fraud")
    assert [(r[0], r[1], r[5]) for r in rows(ann)] == [
        ("suspended", "email", "Dear Ann,\n\nyour service has been suspended (asked to pause).\n"),
        ("suspended", "sms", "Your service has been suspended (asked to pause).")]


def test_each_collections_step_notifies_by_email_with_the_invoice_and_by_sms(actor, make_customer):
    from tripleplay.collections.policy import parse
    from tripleplay.collections.services import run_collections
    from tripleplay.invoicing.services import issue_out_of_turn

    c = make_customer("postpaid", credit_limit_minor=100_000, name="Late", email="late@example.com",
                      phone="+4915199999999")
    post_charge(actor, c, Money(2200, "USD"), description="Install", idempotency_key="ch-1")
    inv = issue_out_of_turn(actor, c)
    assert rows(c)[0][:2] == ("invoice_issued", "email")
    policy = parse("0:reminder,7:late_fee:500,14:suspend,30:block")
    for days in (0, 7, 14, 30):
        clock.freeze(datetime.combine(inv.due_date, datetime.min.time(), tzinfo=UTC).replace(hour=9)
                     + (date.fromordinal(inv.due_date.toordinal() + days) - inv.due_date))
        run_collections(actor, steps=policy)
    due = f"{inv.due_date.day} {inv.due_date:%B} {inv.due_date.year}"
    n = inv.number_text
    sms = [(r[0], r[5]) for r in rows(c) if r[1] == "sms"]
    assert sms == [
        ("invoice_issued", f"Invoice {n}: US$22.00 due by {due}. The PDF is in your e-mail."),
        ("collection_reminder", f"Reminder: invoice {n} was due on {due}; US$22.00 is still open."),
        ("collection_late_fee", f"A late fee of US$5.00 was charged: invoice {n} (US$22.00 open) is overdue."),
        ("collection_suspend", f"Your service is suspended: invoice {n} (US$22.00) is overdue. Paying restores it."),
        ("collection_block", f"Your service is blocked: invoice {n} (US$22.00) is overdue. Please contact us.")]
    # Each e-mail names the invoice whose PDF it attaches (the delivery worker reads it from the storage).
    emails = Notification.objects.filter(customer=c, channel="email").order_by("id")
    assert [(e.kind, e.subject, e.invoice_id) for e in emails] == [
        ("invoice_issued", f"Your invoice {n}", inv.pk),
        ("collection_reminder", f"Payment reminder: invoice {n}", inv.pk),
        ("collection_late_fee", f"Late fee charged: invoice {n} is overdue", inv.pk),
        ("collection_suspend", f"Service suspended: invoice {n} is overdue", inv.pk),
        ("collection_block", f"Service blocked: invoice {n} is overdue", inv.pk)]
    assert Notification.objects.filter(customer=c, kind="suspended").count() == 0  # the step's notice says why
    assert emails[3].body == (f"Dear Late,\n\ninvoice {n}, due on {due}, still has US$22.00 open, and your service "
                              "is suspended.\nA payment that clears what is overdue restores it automatically.\n")


def test_package_ending_once_per_assignment(actor, make_customer, make_account, catalog):
    from tripleplay.customers.services import remove_addon

    c = make_customer(name="Ann", phone="+4915112345678")
    account = make_account(c, addon_plans=[catalog.sports_plan], login="ann-tv")
    ap = account.products.get(role="addon")
    remove_addon(actor, account, ap.pk, end_date=date(2026, 3, 20))
    assert services.scan_packages_ending(days=3) == 0  # ten days away
    clock.freeze(datetime(2026, 3, 17, 8, tzinfo=UTC))
    assert services.scan_packages_ending(days=3) == 1
    assert services.scan_packages_ending(days=3) == 0
    assert rows(c) == [("package_ending", "sms", "en", "+4915112345678", "",
                        "Your package Sports runs until 19 March 2026.", "pending")]


def test_unknown_kind_is_a_programming_error(ann):
    with pytest.raises(ValueError):
        services.notify(ann, "no_such_kind", {}, key="x")
